// Session turns as strata-cli and the window run them (runSessionTurn, resumeSessionTurn) on a
// random two-layer Llama: a stop asked for during prefill leaves the session paused at its last
// checkpoint and the resume gives the uninterrupted answer; a stop during decode keeps the answer
// so far as the turn and the session takes a follow-up.
#include <QTemporaryDir>
#include <QtTest>

#include <random>

#include "backend/cpu/CpuOps.h"
#include "model/TransformerModel.h"
#include "session/SessionTurn.h"
#include "support/RandomLlama.h"
#include "tokenizer/Tokenizer.h"

using namespace strata;

namespace {

constexpr int64_t kPromptTokens = 1000;
constexpr int64_t kCheckpoint = 256;

#define REQUIRE_OK(expr)                                                                       \
    do {                                                                                       \
        const auto& r_ = (expr);                                                               \
        QVERIFY2(r_.ok(), r_.ok() ? "" : r_.error().message.c_str());                          \
    } while (0)

}  // namespace

class TestSessionTurn : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    CpuOps ops_;
    std::unique_ptr<TransformerModel> model_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<SessionStore> store_;

    SessionTurnRequest request(const std::string& sessionId = {}) {
        SessionTurnRequest r;
        r.sessionId = sessionId;
        r.title = "turn test";
        r.modelPath = dir_.filePath("model").toStdString();
        r.userText = "the question";
        std::mt19937 rng(11);
        for (int64_t i = 0; i < (sessionId.empty() ? kPromptTokens : 20); ++i)
            r.job.promptIds.push_back(int32_t(2 + rng() % 500));
        r.job.maxNewTokens = 12;
        r.kv.blockTokens = kSessionKvBlockTokens;
        r.checkpointTokens = kCheckpoint;
        return r;
    }

private slots:
    void initTestCase() {
        testsupport::RandomLlamaShape shape;
        QVERIFY(testsupport::writeRandomLlama(dir_.filePath("model").toStdString(), shape));
        auto model = TransformerModel::load(dir_.filePath("model").toStdString(), ops_, ModelOptions{});
        REQUIRE_OK(model);
        model_ = std::move(model.value());
        auto tokenizer = loadTokenizer(dir_.filePath("model").toStdString());
        REQUIRE_OK(tokenizer);
        tokenizer_ = std::move(tokenizer.value());
        auto store = SessionStore::open(dir_.filePath("sessions").toStdString());
        REQUIRE_OK(store);
        store_ = std::move(store.value());
    }

    void titleIsTheFirstLineInWholeCharacters() {
        QCOMPARE(sessionTitleOf("When did it end?\nmore"), std::string("When did it end?"));
        QCOMPARE(sessionTitleOf(""), std::string("untitled"));
        std::string accents;
        for (int i = 0; i < 60; ++i) accents += "\xC3\xA9";  // 120 bytes of two-byte characters
        const std::string title = sessionTitleOf(accents);
        QCOMPARE(title, accents.substr(0, 76) + "...");
    }

    // Media rows travel with the saved job (media-N.f32 beside job.json) so that a resumed prefill
    // puts them back; requestFor cuts them to the rows still to run; an answered job drops them.
    void mediaRowsAreSavedWithTheJob() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::filesystem::path folder = dir.path().toStdString();
        SavedJob job;
        job.promptIds = {1, 9, 9, 9, 2, 8, 8, 3};
        job.media.push_back({1, 3, true, {1, 2, 3, 4, 5, 6}});
        job.media.push_back({5, 2, false, {7, 8, 9, 10}});
        QVERIFY(writeSavedJob(folder, job).ok());
        auto back = readSavedJob(folder);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->media.size(), size_t(2));
        QCOMPARE(back->media[0].values, job.media[0].values);
        QVERIFY(back->media[0].bidirectional);
        QCOMPARE(back->media[1].offset, 5LL);

        const GenerationRequest rest = requestFor(back.value(), 6);
        QCOMPARE(rest.embedded.size(), size_t(1));
        QCOMPARE(rest.embedded[0].offset, 0LL);
        QCOMPARE(rest.embedded[0].rows, 1LL);
        QCOMPARE(rest.embedded[0].values[0], 9.0f);

        // A damaged media file is named; a later job without media removes the files.
        std::filesystem::resize_file(folder / "media-1.f32", 6);
        auto damaged = readSavedJob(folder);
        QVERIFY(!damaged.ok());
        QVERIFY2(damaged.error().message.find("media-1.f32") != std::string::npos, damaged.error().message.c_str());
        job.media.clear();
        QVERIFY(writeSavedJob(folder, job).ok());
        QVERIFY(!std::filesystem::exists(folder / "media-0.f32"));
        QVERIFY(!std::filesystem::exists(folder / "media-1.f32"));
    }

    void stopInPrefillPausesAndResumesToTheSameAnswer() {
        auto whole = runSessionTurn(*store_, *model_, *tokenizer_, request());
        REQUIRE_OK(whole);
        QCOMPARE(whole->generation.generatedTokens, int64_t(12));

        std::string id;
        int checkpoints = 0;
        SessionTurnCallbacks callbacks;
        callbacks.onSessionSaved = [&](const std::string& sessionId, int64_t, int64_t) { id = sessionId; };
        callbacks.generation.cancelRequested = [&] { return ++checkpoints == 2; };
        auto stopped = runSessionTurn(*store_, *model_, *tokenizer_, request(), callbacks);
        QVERIFY(!stopped.ok());
        QCOMPARE(int(stopped.error().kind), int(ErrorKind::Cancelled));
        QVERIFY2(stopped.error().message.find("is paused: `strata-cli run --resume") != std::string::npos,
                 stopped.error().message.c_str());
        auto info = store_->session(id);
        REQUIRE_OK(info);
        QCOMPARE(int(info->state), int(SessionState::Paused));
        auto progress = store_->prefillProgress(id);
        REQUIRE_OK(progress);
        QVERIFY(progress.value().has_value());
        QCOMPARE(progress.value()->tokensDone, 2 * kCheckpoint);

        // A ready session cannot be resumed; the paused one can, from its checkpoint.
        QVERIFY(!resumeSessionTurn(*store_, *model_, *tokenizer_, whole->sessionId, {}, kCheckpoint).ok());
        const int64_t forwardedBefore = model_->tokensForwarded();
        KvCacheOptions kv;
        kv.blockTokens = kSessionKvBlockTokens;
        auto resumed = resumeSessionTurn(*store_, *model_, *tokenizer_, id, kv, kCheckpoint);
        REQUIRE_OK(resumed);
        QCOMPARE(resumed->resumedAt, 2 * kCheckpoint);
        QCOMPARE(resumed->generation.outputIds, whole->generation.outputIds);
        // Only the unsaved prompt tokens and the answer ran again.
        QCOMPARE(model_->tokensForwarded() - forwardedBefore, kPromptTokens - 2 * kCheckpoint + 11);
        info = store_->session(id);
        REQUIRE_OK(info);
        QCOMPARE(int(info->state), int(SessionState::Ready));
    }

    // A pause during decode (a signal, a logout, the window left with its job for later) saves the
    // answer so far as the turn and pauses the session; each resume goes on from there, and the
    // last gives the uninterrupted answer in the same turn, with sampling as well as greedy.
    void pauseInDecodeResumesToTheSameAnswer_data() {
        QTest::addColumn<float>("temperature");
        QTest::addColumn<QList<int>>("pauses");
        QTest::newRow("greedy") << 0.0f << QList<int>{3};
        QTest::newRow("sampled, paused twice") << 0.9f << QList<int>{2, 7};
        QTest::newRow("paused before the first token") << 0.9f << QList<int>{0};
    }
    void pauseInDecodeResumesToTheSameAnswer() {
        QFETCH(float, temperature);
        QFETCH(QList<int>, pauses);
        auto ask = [&] {
            SessionTurnRequest r = request();
            r.job.sampling.temperature = temperature;
            r.job.sampling.topP = 0.95f;
            r.job.sampling.repetitionPenalty = 1.1f;
            r.job.sampling.seed = 5;
            return r;
        };
        auto whole = runSessionTurn(*store_, *model_, *tokenizer_, ask());
        REQUIRE_OK(whole);
        QCOMPARE(whole->generation.generatedTokens, int64_t(12));
        auto wholeInfo = store_->session(whole->sessionId);
        REQUIRE_OK(wholeInfo);

        std::string id;
        int64_t decoded = 0;
        bool prefilled = false;  // pauses come in decode only
        SessionTurnCallbacks callbacks;
        callbacks.onSessionSaved = [&](const std::string& sessionId, int64_t, int64_t) { id = sessionId; };
        callbacks.generation.onProgress = [&](const GenerationProgress& p) {
            if (p.phase == GenerationPhase::Prefill && p.done == p.total) prefilled = true;
            if (p.phase == GenerationPhase::Decode) decoded = p.done;
        };
        KvCacheOptions kv;
        kv.blockTokens = kSessionKvBlockTokens;
        for (int i = 0; i < pauses.size(); ++i) {
            const int at = pauses[i];
            decoded = 0;
            prefilled = false;
            callbacks.generation.pauseRequested = [&] { return prefilled && decoded >= at; };
            auto stopped = i == 0 ? runSessionTurn(*store_, *model_, *tokenizer_, ask(), callbacks)
                                  : resumeSessionTurn(*store_, *model_, *tokenizer_, id, kv, kCheckpoint, callbacks);
            QVERIFY(!stopped.ok());
            QCOMPARE(int(stopped.error().kind), int(ErrorKind::Cancelled));
            QVERIFY2(stopped.error().message.find("is paused") != std::string::npos, stopped.error().message.c_str());
            auto info = store_->session(id);
            REQUIRE_OK(info);
            QCOMPARE(int(info->state), int(SessionState::Paused));
            QCOMPARE(info->contextTokens, kPromptTokens + at);  // what is saved, as `sessions list` shows it
            auto turns = store_->turns(id);
            REQUIRE_OK(turns);
            QCOMPARE(turns->size(), size_t(2));
            QVERIFY(whole->generation.text.compare(0, turns->back().text.size(), turns->back().text) == 0);
            auto job = readSavedJob(store_->sessionDir(id));
            REQUIRE_OK(job);
            QCOMPARE(job->answerIds,
                     std::vector<int32_t>(whole->generation.outputIds.begin(), whole->generation.outputIds.begin() + at));
            // A paused session takes no follow-up before its answer is finished.
            QVERIFY(!runSessionTurn(*store_, *model_, *tokenizer_, request(id)).ok());
        }

        const int64_t forwardedBefore = model_->tokensForwarded();
        std::string streamed;
        callbacks.generation.pauseRequested = nullptr;
        callbacks.generation.onText = [&](std::string_view text) { streamed += text; };
        auto resumed = resumeSessionTurn(*store_, *model_, *tokenizer_, id, kv, kCheckpoint, callbacks);
        REQUIRE_OK(resumed);
        QCOMPARE(resumed->generation.outputIds, whole->generation.outputIds);
        QCOMPARE(resumed->generation.text, whole->generation.text);
        auto turns = store_->turns(id);
        REQUIRE_OK(turns);
        QCOMPARE(turns->size(), size_t(2));
        QCOMPARE(turns->back().text, whole->generation.text);
        QCOMPARE(turns->back().tokenCount, int64_t(12));
        // Only the text after the last pause streams again.
        const size_t before = whole->generation.text.size() - streamed.size();
        QCOMPARE(streamed, whole->generation.text.substr(before));
        // The paused answer's last token ran again for its logits, then the rest of the answer.
        const int64_t last = pauses.back();
        QCOMPARE(model_->tokensForwarded() - forwardedBefore, last > 0 ? 1 + (11 - last) : 1 + 11);
        auto info = store_->session(id);
        REQUIRE_OK(info);
        QCOMPARE(int(info->state), int(SessionState::Ready));
        QCOMPARE(info->contextTokens, wholeInfo->contextTokens);
    }

    void stopInDecodeKeepsTheAnswerSoFar() {
        SessionTurnCallbacks callbacks;
        int64_t decoded = 0;
        callbacks.generation.onProgress = [&](const GenerationProgress& p) {
            if (p.phase == GenerationPhase::Decode) decoded = p.done;
        };
        callbacks.generation.cancelRequested = [&] { return decoded >= 3; };
        auto stopped = runSessionTurn(*store_, *model_, *tokenizer_, request(), callbacks);
        REQUIRE_OK(stopped);
        QCOMPARE(stopped->generation.stopReason, std::string("cancelled"));
        QCOMPARE(stopped->generation.generatedTokens, int64_t(3));
        QVERIFY(stopped->generation.unfedIds.empty());
        const std::string id = stopped->sessionId;
        auto turns = store_->turns(id);
        REQUIRE_OK(turns);
        QCOMPARE(turns->size(), size_t(2));
        QCOMPARE(turns->back().text, stopped->generation.text);

        // Nothing is missing from the cache: a follow-up continues right after the kept answer.
        auto info = store_->session(id);
        REQUIRE_OK(info);
        QCOMPARE(info->contextTokens, kPromptTokens + 3);
        auto followUp = runSessionTurn(*store_, *model_, *tokenizer_, request(id));
        REQUIRE_OK(followUp);
        info = store_->session(id);
        REQUIRE_OK(info);
        QCOMPARE(info->contextTokens, kPromptTokens + 3 + 20 + 11);
        turns = store_->turns(id);
        REQUIRE_OK(turns);
        QCOMPARE(turns->size(), size_t(4));
    }
};

QTEST_GUILESS_MAIN(TestSessionTurn)
#include "test_session_turn.moc"
