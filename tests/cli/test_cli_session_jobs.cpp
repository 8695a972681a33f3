// Saved sessions as jobs, run through strata-cli as a user would: a follow-up prefills only its own
// tokens, a prefill killed mid-way resumes from its last checkpoint without recomputing what was
// saved, a full disk pauses the session and --resume finishes it, and ask answers a batch of
// questions on the saved context. Greedy decoding of a random model makes every output exact.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "CliRunner.h"
#include "kv/KvBlockFile.h"
#include "kv/KvCache.h"
#include "session/SessionStore.h"
#include "support/RandomLlama.h"
#include "tokenizer/Tokenizer.h"

namespace fs = std::filesystem;
using namespace strata;
using namespace strata::testsupport;

namespace {

// One narrow head keeps a 24k-token prefill to several seconds on two busy cores: attention over
// the whole context dominates, and its cost grows with heads * headDim.
constexpr int64_t kLayers = 2, kHeads = 1, kKvHeads = 1, kHeadDim = 16;
constexpr int64_t kBlockTokens = 256;  // the CLI's KV block size
constexpr int64_t kCheckpoint = 1024;

// Random words from a small list: about 3.3 tokens a word with the llama_tied vocabulary.
std::string randomWords(int words, uint32_t seed) {
    static const char* kWords[] = {"river", "stone", "pump",  "seal",  "valve", "north", "report", "engine",
                                   "water", "green", "light", "table", "under", "after", "storm",  "field"};
    std::mt19937 rng(seed);
    std::string text = "Field notes";
    for (int i = 0; i < words; ++i) {
        text += ' ';
        text += kWords[rng() % std::size(kWords)];
    }
    return text;
}

QString str(const fs::path& p) { return QString::fromStdString(p.string()); }

}  // namespace

class TestCliSessionJobs : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    fs::path root_, model_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::string prompt8k_, promptLong_;
    fs::path prompt8kFile_, promptLongFile_;
    int64_t tokens8k_ = 0, tokensLong_ = 0;
    QString reference8k_;  // uninterrupted saved run of the 8k prompt, --max-tokens 4

    fs::path newStore(const char* name) { return root_ / "stores" / name; }
    QStringList runArgs(const fs::path& store, const fs::path& promptFile, int maxTokens) const {
        return {"run",          "--model",      str(model_),           "--prompt-file", str(promptFile),
                "--raw",        "--ignore-eos", "--max-tokens",        QString::number(maxTokens),
                "--store",      str(store),     "--checkpoint-tokens", QString::number(kCheckpoint)};
    }
    // The figures line of a run, for the log: where the test's time goes.
    static void logFigures(const char* what, const CliRun& r) {
        const auto m = QRegularExpression("prefill [\\d,]+ tokens in [^;]*; decode [^;]*").match(r.err);
        qInfo("%s: %s", what, m.hasMatch() ? qPrintable(m.captured(0)) : "no figures");
    }
    static QString failure(const CliRun& r) { return QString("exit %1; stderr:\n%2").arg(r.exitCode).arg(r.err); }
    static std::unique_ptr<SessionStore> openStore(const fs::path& store) {
        auto s = SessionStore::open(store);
        return s.ok() ? std::move(s.value()) : nullptr;
    }
    int64_t tokenCount(const std::string& text, bool bos) const { return int64_t(tokenizer_->encode(text, bos).size()); }
    // The state a store reports for a session through the CLI, which must read the database.
    QString stateViaCli(const fs::path& store, const QString& id) {
        const CliRun list = runCli({"sessions", "list", "--json", "--store", str(store)}, 60000);
        if (list.exitCode != 0) return "list failed: " + list.err;
        try {
            for (const auto& s : nlohmann::json::parse(list.out.toStdString()))
                if (QString::fromStdString(s.at("id").get<std::string>()) == id)
                    return QString::fromStdString(s.at("state").get<std::string>());
        } catch (const nlohmann::json::exception& e) {
            return QString("bad JSON: ") + e.what();
        }
        return "not listed";
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        root_ = fs::path(tmp_.path().toStdString());
        model_ = root_ / "llama";
        RandomLlamaShape shape;
        shape.hidden = 64;
        shape.layers = kLayers;
        shape.heads = kHeads;
        shape.kvHeads = kKvHeads;
        shape.headDim = kHeadDim;
        shape.ffn = 128;
        shape.maxPositions = 32768;
        QVERIFY(writeRandomLlama(model_, shape));
        auto tok = loadTokenizer(model_);
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
        tokenizer_ = std::move(tok.value());

        prompt8k_ = randomWords(2400, 1);
        promptLong_ = randomWords(7200, 2);
        prompt8kFile_ = root_ / "prompt8k.txt";
        promptLongFile_ = root_ / "promptLong.txt";
        std::ofstream(prompt8kFile_) << prompt8k_;
        std::ofstream(promptLongFile_) << promptLong_;
        tokens8k_ = tokenCount(prompt8k_, true);
        tokensLong_ = tokenCount(promptLong_, true);
        qInfo("prompts: %lld and %lld tokens", static_cast<long long>(tokens8k_), static_cast<long long>(tokensLong_));
        QVERIFY(tokens8k_ > 7000 && tokens8k_ < 9000);
        QVERIFY(tokensLong_ > 20000 && tokensLong_ < 28000);
    }

    // --show-reasoning is for gpt-oss models: another model's answer is the same with it, saved or
    // not, and no reasoning is printed.
    void showReasoningLeavesOtherModelsAlone() {
        const QStringList base{"run", "--model", str(model_), "--prompt", "Field notes river stone", "--raw",
                               "--ignore-eos", "--max-tokens", "6"};
        const QStringList unsaved = base + QStringList{"--no-save"};
        const CliRun plain = runCli(unsaved, 60000);
        QVERIFY2(plain.exitCode == 0, qPrintable(failure(plain)));
        QVERIFY(!plain.out.trimmed().isEmpty());
        const CliRun shown = runCli(unsaved + QStringList{"--show-reasoning"}, 60000);
        QVERIFY2(shown.exitCode == 0, qPrintable(failure(shown)));
        QCOMPARE(shown.out, plain.out);
        QVERIFY(!shown.err.contains("reasoning"));
        const CliRun saved = runCli(base + QStringList{"--show-reasoning", "--store", str(newStore("reasoning"))}, 60000);
        QVERIFY2(saved.exitCode == 0, qPrintable(failure(saved)));
        QCOMPARE(saved.out, plain.out);
        QVERIFY(!saved.err.contains("reasoning"));
    }

    void followUpPrefillsOnlyItsOwnTokens() {
        const fs::path store = newStore("followup");
        const CliRun first = runCli(runArgs(store, prompt8kFile_, 4));
        QVERIFY2(first.exitCode == 0, qPrintable(failure(first)));
        QCOMPARE(prefillTokens(first.err), tokens8k_);  // the prompt as the test's tokenizer counts it
        logFigures("8k prompt", first);
        // Progress says when each checkpoint is saved (all but the last, which the answer follows).
        for (int64_t saved = kCheckpoint; saved < tokens8k_; saved += kCheckpoint)
            QVERIFY2(first.err.contains(QString("checkpoint saved: %1 of %2 prompt tokens").arg(grouped(saved), grouped(tokens8k_))),
                     qPrintable(first.err));
        reference8k_ = first.out;
        const QString id = sessionIdOf(first.err);
        QVERIFY2(!id.isEmpty(), qPrintable(first.err));

        const std::string followUp = " and then";
        const CliRun second = runCli({"run", "--session", id, "--prompt", QString::fromStdString(followUp), "--raw",
                                      "--ignore-eos", "--max-tokens", "4", "--store", str(store)});
        QVERIFY2(second.exitCode == 0, qPrintable(failure(second)));
        QCOMPARE(sessionIdOf(second.err), id);
        // Its own tokens, and the first answer's last token, which decoding stopped before running.
        const int64_t own = tokenCount(followUp, false) + 1;
        QCOMPARE(prefillTokens(second.err), own);
        QVERIFY(own < 16);
        // The context is read back from the session's KV files, never run through the model again.
        QCOMPARE(forwardedTokens(second.err), own + (4 - 1));
        QVERIFY(!second.out.trimmed().isEmpty());

        const CliRun show = runCli({"sessions", "show", id, "--store", str(store)}, 60000);
        QVERIFY2(show.exitCode == 0, qPrintable(failure(show)));
        QCOMPARE(show.out.count("\nuser: "), 2);
        QCOMPARE(show.out.count("\nassistant: "), 2);
        QVERIFY(show.out.contains("user: " + QString::fromStdString(followUp)));
        QVERIFY(show.out.contains("state    ready"));
    }

    // A follow-up on a session whose context is exactly the first prompt (--max-tokens 0 generates
    // nothing) answers as a fresh run of the two texts joined, when joining
    // the texts joins the token ids.
    void followUpMatchesFreshRunOfJoinedPrompt() {
        const std::string followUp = " and then";
        std::vector<int32_t> joined = tokenizer_->encode(prompt8k_, true);
        const std::vector<int32_t> tail = tokenizer_->encode(followUp, false);
        joined.insert(joined.end(), tail.begin(), tail.end());
        if (tokenizer_->encode(prompt8k_ + followUp, true) != joined)
            QSKIP("the joined text tokenizes differently from the two turns' ids; no fresh run can match");

        const fs::path store = newStore("joined");
        const CliRun first = runCli(runArgs(store, prompt8kFile_, 0));
        QVERIFY2(first.exitCode == 0, qPrintable(failure(first)));
        const QString id = sessionIdOf(first.err);
        const CliRun second = runCli({"run", "--session", id, "--prompt", QString::fromStdString(followUp), "--raw",
                                      "--ignore-eos", "--max-tokens", "4", "--store", str(store)});
        QVERIFY2(second.exitCode == 0, qPrintable(failure(second)));

        const fs::path joinedFile = root_ / "joined.txt";
        std::ofstream(joinedFile) << prompt8k_ + followUp;
        const CliRun fresh = runCli({"run", "--model", str(model_), "--prompt-file", str(joinedFile), "--raw",
                                     "--ignore-eos", "--max-tokens", "4", "--no-save"});
        QVERIFY2(fresh.exitCode == 0, qPrintable(failure(fresh)));
        QCOMPARE(prefillTokens(fresh.err), int64_t(joined.size()));
        QCOMPARE(second.out, fresh.out);
    }

    void killedPrefillResumesWithoutRecomputing() {
        const fs::path store = newStore("killed");
        const fs::path referenceStore = newStore("killed-reference");
        const CliRun reference = runCli(runArgs(referenceStore, promptLongFile_, 8));
        QVERIFY2(reference.exitCode == 0, qPrintable(failure(reference)));
        QCOMPARE(prefillTokens(reference.err), tokensLong_);
        logFigures("long prompt", reference);

        // The same run again, killed once the store shows two checkpoints: the polling reads the
        // database while the run writes it, as the app's session list would.
        QProcess p;
        p.setProcessEnvironment(cliEnvironment());
        p.start(QStringLiteral(STRATA_CLI_PATH), runArgs(store, promptLongFile_, 8));
        QVERIFY(p.waitForStarted());
        QString err, id;
        std::unique_ptr<SessionStore> sessions;
        std::optional<PrefillProgress> seen;
        QElapsedTimer waited;
        waited.start();
        while (p.state() == QProcess::Running && waited.elapsed() < 120000) {
            p.waitForReadyRead(10);
            err += QString::fromUtf8(p.readAllStandardError());
            if (id.isEmpty()) id = sessionIdOf(err);
            if (id.isEmpty()) continue;
            if (!sessions) sessions = openStore(store);
            QVERIFY(sessions);
            auto progress = sessions->prefillProgress(id.toStdString());
            QVERIFY2(progress.ok(), progress.ok() ? "" : progress.error().message.c_str());
            if (progress.value() && progress.value()->tokensDone >= 2 * kCheckpoint) {
                seen = progress.value();
                break;
            }
        }
        p.kill();
        p.waitForFinished();
        QVERIFY2(seen, qPrintable("no checkpoint of 2048 tokens seen before the run ended; stderr:\n" + err));
        QVERIFY2(seen->tokensDone < tokensLong_,
                 "the prefill finished before the run could be killed: make the prompt longer or the model wider");
        QCOMPARE(seen->tokensTotal, tokensLong_);

        auto info = sessions->session(id.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(QString(toString(info->state)), QString("prefilling"));
        auto saved = sessions->prefillProgress(id.toStdString());
        QVERIFY(saved.ok() && saved.value());
        const int64_t done = saved.value()->tokensDone;  // it may have moved on before the kill landed
        QVERIFY(done >= seen->tokensDone && done < tokensLong_);
        QCOMPARE(done % kCheckpoint, int64_t(0));
        qInfo("killed with %lld of %lld prompt tokens saved", static_cast<long long>(done),
              static_cast<long long>(tokensLong_));
        sessions.reset();

        const CliRun resumed = runCli({"run", "--resume", id, "--store", str(store)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(failure(resumed)));
        QVERIFY2(resumed.err.contains(QString("resuming at prompt token %1 of %2").arg(grouped(done), grouped(tokensLong_))),
                 qPrintable(resumed.err));
        QCOMPARE(prefillTokens(resumed.err), tokensLong_ - done);
        QCOMPARE(forwardedTokens(resumed.err), tokensLong_ - done + (8 - 1));
        QCOMPARE(resumed.out, reference.out);
        QCOMPARE(stateViaCli(store, id), QString("ready"));
    }

    // SIGTERM during decode (a logout, a service manager, kill): the answer so far is saved, the
    // session is paused with its context listed, and --resume prints it and finishes it as an
    // uninterrupted run would have.
    void sigtermInDecodePausesAndResumes() {
        const fs::path store = newStore("sigterm");
        const fs::path promptFile = root_ / "sigterm.txt";
        std::ofstream(promptFile) << randomWords(150, 5);
        const int64_t promptTokens = tokenCount(randomWords(150, 5), true);
        const int maxTokens = 3000;  // long enough that the signal lands while it decodes
        const CliRun reference = runCli(runArgs(newStore("sigterm-reference"), promptFile, maxTokens));
        QVERIFY2(reference.exitCode == 0, qPrintable(failure(reference)));
        logFigures("sigterm reference", reference);

        QProcess p;
        p.setProcessEnvironment(cliEnvironment());
        p.start(QStringLiteral(STRATA_CLI_PATH), runArgs(store, promptFile, maxTokens));
        QVERIFY(p.waitForStarted());
        QString out;
        QElapsedTimer waited;
        waited.start();
        while (p.state() == QProcess::Running && out.size() < 40 && waited.elapsed() < 120000) {
            p.waitForReadyRead(10);
            out += QString::fromUtf8(p.readAllStandardOutput());
        }
        QVERIFY2(p.state() == QProcess::Running, "the answer ended before the signal: raise --max-tokens");
        p.terminate();  // SIGTERM
        QVERIFY(p.waitForFinished(60000));
        out += QString::fromUtf8(p.readAllStandardOutput());
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY2(p.exitCode() == 130, qPrintable(QString("exit %1; stderr:\n%2").arg(p.exitCode()).arg(err)));
        QVERIFY2(err.contains("paused after") && err.contains("--resume"), qPrintable(err));
        const QString id = sessionIdOf(err);
        QVERIFY2(!id.isEmpty(), qPrintable(err));
        QVERIFY2(out.size() < reference.out.size() && reference.out.startsWith(out), qPrintable(out));

        // The partial answer is the session's, and the list shows its saved context.
        QCOMPARE(stateViaCli(store, id), QString("paused"));
        auto sessions = openStore(store);
        QVERIFY(sessions);
        auto turns = sessions->turns(id.toStdString());
        QVERIFY(turns.ok());
        QCOMPARE(turns->size(), size_t(2));
        QCOMPARE(QString::fromStdString(turns->back().text), out);
        const int64_t answered = turns->back().tokenCount;
        QVERIFY(answered > 0 && answered < maxTokens);
        sessions.reset();
        const CliRun list = runCli({"sessions", "list", "--json", "--store", str(store)}, 60000);
        QVERIFY2(list.exitCode == 0, qPrintable(failure(list)));
        const auto listed = nlohmann::json::parse(list.out.toStdString());
        QCOMPARE(listed.size(), size_t(1));
        QCOMPARE(listed[0].at("context_tokens").get<int64_t>(), promptTokens + answered);

        const CliRun resumed = runCli({"run", "--resume", id, "--store", str(store)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(failure(resumed)));
        QVERIFY2(resumed.err.contains(QString("continuing its answer after %1 tokens").arg(grouped(answered))),
                 qPrintable(resumed.err));
        QCOMPARE(resumed.out, reference.out);
        // The answer's last saved token runs again, then the rest of it.
        QCOMPARE(forwardedTokens(resumed.err), 1 + (maxTokens - 1 - answered));
        QCOMPARE(stateViaCli(store, id), QString("ready"));
    }

    void fullDiskPausesAndResumes() {
        QVERIFY2(!reference8k_.isEmpty(), "needs the uninterrupted run of followUpPrefillsOnlyItsOwnTokens");
        const fs::path store = newStore("full-disk");
        // Each checkpoint piece writes kCheckpoint / kBlockTokens block records per layer; the disk
        // fills half-way through the third piece.
        const uint64_t record = KvBlockFile::kRecordHeaderBytes + uint64_t(kBlockTokens) * kKvHeads * kHeadDim * 2 * 4;
        const uint64_t piece = record * (kCheckpoint / kBlockTokens) * kLayers;
        const uint64_t limit = kLayers * KvBlockFile::kFileHeaderBytes + 2 * piece + piece / 2;
        const CliRun paused = runCli(runArgs(store, prompt8kFile_, 4), 300000,
                                     {QString("STRATA_FAULT_ENOSPC_AFTER_BYTES=%1").arg(limit)});
        QVERIFY2(paused.exitCode == 75, qPrintable(failure(paused)));
        QVERIFY2(paused.err.contains("paused") && paused.err.contains("--resume"), qPrintable(paused.err));
        QVERIFY(paused.out.trimmed().isEmpty());
        const QString id = sessionIdOf(paused.err);
        QVERIFY2(!id.isEmpty(), qPrintable(paused.err));

        // The database is intact and says so through the CLI.
        QCOMPARE(stateViaCli(store, id), QString("paused"));
        const CliRun show = runCli({"sessions", "show", id, "--store", str(store)}, 60000);
        QVERIFY2(show.exitCode == 0, qPrintable(failure(show)));
        QVERIFY2(show.out.contains("state    paused"), qPrintable(show.out));

        auto sessions = openStore(store);
        QVERIFY(sessions);
        auto saved = sessions->prefillProgress(id.toStdString());
        QVERIFY(saved.ok() && saved.value());
        QCOMPARE(saved.value()->tokensDone, 2 * kCheckpoint);
        // Every layer file still opens: the cut-off write left nothing that breaks it.
        const fs::path dir = sessions->sessionDir(id.toStdString());
        for (int64_t layer = 0; layer < kLayers; ++layer) {
            const KvBlockGeometry geometry{layer, kKvHeads * kHeadDim, kBlockTokens, DType::F32};
            auto file = KvBlockFile::open(dir / KvCache::layerFileName(layer), geometry);
            QVERIFY2(file.ok(), file.ok() ? "" : file.error().message.c_str());
        }
        sessions.reset();

        const CliRun resumed = runCli({"run", "--resume", id, "--store", str(store)});
        QVERIFY2(resumed.exitCode == 0, qPrintable(failure(resumed)));
        QVERIFY2(resumed.err.contains(QString("resuming at prompt token %1 of %2").arg(grouped(2 * kCheckpoint), grouped(tokens8k_))),
                 qPrintable(resumed.err));
        QCOMPARE(prefillTokens(resumed.err), tokens8k_ - 2 * kCheckpoint);
        QCOMPARE(resumed.out, reference8k_);
        QCOMPARE(stateViaCli(store, id), QString("ready"));
    }

    void askAnswersAllQuestions() {
        const fs::path store = newStore("ask");
        const fs::path promptFile = root_ / "short.txt";
        const std::string prompt = randomWords(150, 3);
        std::ofstream(promptFile) << prompt;
        const CliRun saved = runCli(runArgs(store, promptFile, 4));
        QVERIFY2(saved.exitCode == 0, qPrintable(failure(saved)));
        const QString id = sessionIdOf(saved.err);

        const std::vector<std::string> questions = {"Where is the river?", "What failed first?", "Who wrote it?"};
        const fs::path questionFile = root_ / "questions.txt";
        {
            std::ofstream out(questionFile);
            for (const std::string& q : questions) out << q << "\n";
        }
        const CliRun asked = runCli({"ask", "--session", id, "--questions", str(questionFile), "--max-tokens", "4",
                                     "--ignore-eos", "--store", str(store)});
        QVERIFY2(asked.exitCode == 0, qPrintable(failure(asked)));
        QCOMPARE(asked.out.count(QRegularExpression("^### ", QRegularExpression::MultilineOption)), 3);
        for (size_t i = 0; i < questions.size(); ++i)
            QVERIFY2(asked.out.contains(QString("### %1. %2").arg(i + 1).arg(QString::fromStdString(questions[i]))),
                     qPrintable(asked.out));
        // Only the questions are prefilled, each after the saved answer's last token (the run
        // stopped at --max-tokens before running it).
        int64_t questionTokens = 0;
        for (const std::string& q : questions) questionTokens += tokenCount(q, false) + 1;
        QCOMPARE(prefillTokens(asked.err), questionTokens);
    }
};

QTEST_GUILESS_MAIN(TestCliSessionJobs)
#include "test_cli_session_jobs.moc"
