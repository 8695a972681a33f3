// strata-cli perplexity on the parity fixtures (tests/data/models, tests/data/gguf/models): every
// position's log-prob in --json against the log-softmax of transformers' logits, the perplexity
// printed against the JSON's, two models against the KL divergence and top-1 agreement of their
// transformers logits, the same model twice, and bad input as one error line with exit code 2.
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/CliRunner.h"
#include "../support/LogProbs.h"
#include "../support/ParityFixture.h"

namespace fs = std::filesystem;
using namespace strata::testsupport;

namespace {

nlohmann::json readJson(const QString& file) {
    std::ifstream in(file.toStdString());
    return nlohmann::json::parse(in);
}

void writeText(const QString& file, const std::string& text) {
    std::ofstream out(file.toStdString(), std::ios::binary | std::ios::trunc);
    out << text;
}

// The figure after `label` on its line of the printed result ("perplexity         18,105.5617").
double printedFigure(const QString& out, const QString& label) {
    const auto m = QRegularExpression("^" + QRegularExpression::escape(label) + "\\s+([0-9][0-9,]*\\.?[0-9]*(?:e[-+]?[0-9]+)?)",
                                      QRegularExpression::MultilineOption)
                       .match(out);
    return m.hasMatch() ? m.captured(1).remove(',').toDouble() : std::nan("");
}

}  // namespace

class TestCliPerplexity : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString path(const QString& name) const { return tmp_.filePath(name); }
    // A tokens file holding the fixture's input ids.
    QString tokensFileOf(const QString& fixture) {
        const QString file = path(QString(fixture).replace('/', '_') + "-tokens.json");
        writeText(file, nlohmann::json(readParityReference(fixture).inputIds).dump());
        return file;
    }

private slots:
    void initTestCase();
    void logProbsMatchTransformers_data();
    void logProbsMatchTransformers();
    void twoModelsPrintTheirKlDivergence();
    void sameModelTwiceAgreesExactly();
    void textFileIsTokenisedByTheModel();
    void badInputIsOneErrorLine_data();
    void badInputIsOneErrorLine();
};

// llama_tied with "," and "." trading ids in its tokenizer: the same vocabulary size, other ids
// for a text with either in it.
void TestCliPerplexity::initTestCase() {
    const fs::path copy = path("llama_swapped").toStdString();
    fs::copy(parityModelPath("llama_tied").toStdString(), copy, fs::copy_options::recursive);
    nlohmann::json tokenizer;
    {
        std::ifstream in(copy / "tokenizer.json");
        tokenizer = nlohmann::json::parse(in);
    }
    auto& vocab = tokenizer["model"]["vocab"];
    QVERIFY(vocab.contains(",") && vocab.contains("."));
    std::swap(vocab[","], vocab["."]);
    writeText(QString::fromStdString((copy / "tokenizer.json").string()), tokenizer.dump());
}

void TestCliPerplexity::logProbsMatchTransformers_data() {
    QTest::addColumn<QString>("fixture");
    for (const char* name : kParityFixtures) QTest::newRow(name) << QString(name);
}

// Metric: max |log-prob in --json - log_softmax(transformers' logits)[token]| over the 47 scored
// positions, within 1e-3 (kParityLogProbTolerance); every top-1 id as transformers'; the printed
// perplexity as the JSON's and as transformers' logits give it.
void TestCliPerplexity::logProbsMatchTransformers() {
    QFETCH(QString, fixture);
    const ParityReference ref = readParityReference(fixture);
    const QString json = path(QString(fixture).replace('/', '_') + "-out.json");
    const CliRun r = runCli({"perplexity", "--model", parityModelPath(fixture), "--tokens-file",
                             tokensFileOf(fixture), "--json", json});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(QString("scored             47 of 48 tokens, in 1 window")), qPrintable(r.out));
    const nlohmann::json j = readJson(json);
    QCOMPARE(j["token_ids"].get<std::vector<int32_t>>(), ref.inputIds);
    const auto& positions = j["positions"];
    QCOMPARE(positions.size(), ref.inputIds.size() - 1);
    double maxDiff = 0, nll = 0;
    for (size_t i = 0; i < positions.size(); ++i) {
        const auto& p = positions[i];
        const size_t at = p["position"].get<size_t>();
        QCOMPARE(at, i + 1);
        QCOMPARE(p["token"].get<int32_t>(), ref.inputIds[at]);
        const float* row = ref.logits.data() + (at - 1) * size_t(ref.vocab);
        const double want = logSoftmax(row, ref.vocab)[size_t(ref.inputIds[at])];
        maxDiff = std::max(maxDiff, std::fabs(p["logprob"].get<double>() - want));
        QCOMPARE(p["top1"].get<int64_t>(), argmax(row, ref.vocab));
        nll -= want;
    }
    const double perplexity = std::exp(nll / double(positions.size()));
    const double printed = printedFigure(r.out, "perplexity");
    qInfo("%s: max |log-prob diff| %.3g; perplexity %.6g printed, %.6g in the JSON, %.6g from transformers' logits",
          qPrintable(fixture), maxDiff, printed, j["perplexity"].get<double>(), perplexity);
    QVERIFY2(maxDiff < kParityLogProbTolerance, "log-probs differ from transformers' by more than the tolerance");
    QVERIFY(std::fabs(printed / j["perplexity"].get<double>() - 1) < 1e-8);
    QVERIFY(std::fabs(j["perplexity"].get<double>() / perplexity - 1) < 1e-3);
}

// A quantised model against its original: gguf/llama_q8 is llama_tied with Q8_0 matrices. The
// KL divergence and top-1 agreement printed and in the JSON against those of the two fixtures'
// transformers logits.
void TestCliPerplexity::twoModelsPrintTheirKlDivergence() {
    const ParityReference a = readParityReference("llama_tied"), b = readParityReference("gguf/llama_q8");
    QCOMPARE(a.inputIds, b.inputIds);
    double kl = 0, secondNll = 0;
    int agree = 0;
    for (size_t t = 0; t + 1 < a.inputIds.size(); ++t) {
        const float* x = a.logits.data() + t * size_t(a.vocab);
        const float* y = b.logits.data() + t * size_t(b.vocab);
        const auto lx = logSoftmax(x, a.vocab), ly = logSoftmax(y, b.vocab);
        for (int64_t v = 0; v < a.vocab; ++v) kl += std::exp(lx[size_t(v)]) * (lx[size_t(v)] - ly[size_t(v)]);
        agree += argmax(x, a.vocab) == argmax(y, b.vocab);
        secondNll -= ly[size_t(b.inputIds[t + 1])];
    }
    const int scored = int(a.inputIds.size()) - 1;
    kl /= scored;

    const QString json = path("compare.json");
    const CliRun r = runCli({"perplexity", "--model", parityModelPath("llama_tied"), "--model",
                             parityModelPath("gguf/llama_q8"), "--tokens-file", tokensFileOf("llama_tied"), "--json",
                             json});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    qInfo("%s", qPrintable(r.out.trimmed()));
    const nlohmann::json j = readJson(json);
    const double printedKl = printedFigure(r.out, "KL(P1||P2)");
    qInfo("mean KL %.6g printed, %.6g in the JSON, %.6g from transformers' logits; top-1 agreement %d of %d",
          printedKl, j["mean_kl"].get<double>(), kl, j["top1_agreements"].get<int>(), agree);
    QVERIFY(kl > 1e-4);
    QVERIFY(std::fabs(j["mean_kl"].get<double>() / kl - 1) < 0.05);
    QVERIFY(std::fabs(printedKl / j["mean_kl"].get<double>() - 1) < 1e-3);
    QCOMPARE(j["top1_agreements"].get<int>(), agree);
    QVERIFY2(r.out.contains(QString("top-1 agreement    ") + QString::number(100.0 * agree / scored, 'f', 2) + "% (" +
                            QString::number(agree) + " of " + QString::number(scored) + " tokens)"),
             qPrintable(r.out));
    // The largest KL and its 99th percentile are those of the positions.
    double largest = 0;
    for (const auto& p : j["positions"]) largest = std::max(largest, p["kl"].get<double>());
    QCOMPARE(j["max_kl"].get<double>(), largest);
    QVERIFY(j["p99_kl"].get<double>() <= largest && j["p99_kl"].get<double>() >= j["mean_kl"].get<double>());
    const double secondPerplexity = std::exp(secondNll / scored);
    QVERIFY(std::fabs(j["second_perplexity"].get<double>() / secondPerplexity - 1) < 1e-2);
}

void TestCliPerplexity::sameModelTwiceAgreesExactly() {
    const QString model = parityModelPath("gguf/gemma3");
    const QString json = path("same.json");
    // Windows of 16 every 5 tokens: several windows, each fed in pieces.
    const CliRun r = runCli({"perplexity", "--model", model, "--model", model, "--tokens-file",
                             tokensFileOf("gguf/gemma3"), "--context", "16", "--stride", "5", "--json", json});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const nlohmann::json j = readJson(json);
    QCOMPARE(j["windows"].get<int>(), 8);
    QCOMPARE(j["mean_kl"].get<double>(), 0.0);
    QCOMPARE(j["max_kl"].get<double>(), 0.0);
    QCOMPARE(j["top1_agreement"].get<double>(), 1.0);
    QCOMPARE(j["second_perplexity"].get<double>(), j["perplexity"].get<double>());
    QVERIFY2(r.out.contains("top-1 agreement    100.00% (47 of 47 tokens)"), qPrintable(r.out));
    QCOMPARE(printedFigure(r.out, "KL(P1||P2)"), 0.0);
}

// --text-file goes through the first model's tokenizer with its BOS, and --json names each token.
void TestCliPerplexity::textFileIsTokenisedByTheModel() {
    const QString text = path("text.txt"), json = path("text.json");
    writeText(text, "The quick brown fox jumps over the lazy dog.\n");
    const CliRun r =
        runCli({"perplexity", "--model", parityModelPath("llama_tied"), "--text-file", text, "--json", json});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const nlohmann::json j = readJson(json);
    const auto ids = j["token_ids"].get<std::vector<int32_t>>();
    QVERIFY(ids.size() > 2);
    QCOMPARE(ids[0], readParityReference("llama_tied").inputIds[0]);  // <bos>
    std::string joined;
    for (const auto& p : j["positions"]) {
        QVERIFY(p.contains("text") && p.contains("top1_text"));
        joined += p["text"].get<std::string>();
    }
    QVERIFY2(joined.find("quick brown fox") != std::string::npos, joined.c_str());
    // Progress and the summary go to stderr, the result to stdout.
    QVERIFY(r.err.contains("scored ") && r.err.contains("peak RSS"));
    QVERIFY(!r.out.contains("peak RSS"));
}

void TestCliPerplexity::badInputIsOneErrorLine_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("mentions");
    const QString tiny = parityModelPath("llama_tied");
    const QString tokens = path("ok-tokens.json");
    writeText(tokens, "[0, 306, 315, 332, 77, 275]");
    writeText(path("empty.txt"), "");
    writeText(path("blank.txt"), " \n\t\n");
    writeText(path("oov.json"), "[0, 306, 512, 332]");
    writeText(path("negative.json"), "{\"tokens\": [0, -3]}");
    writeText(path("one.json"), "[0]");
    writeText(path("not-json.json"), "0, 1, 2");
    writeText(path("words.txt"), "Some words to score.");
    QTest::newRow("empty text file") << QStringList{"--model", tiny, "--text-file", path("empty.txt")}
                                     << QStringList{"empty.txt", "empty"};
    QTest::newRow("blank text file") << QStringList{"--model", tiny, "--text-file", path("blank.txt")}
                                     << QStringList{"blank.txt", "no text to score"};
    QTest::newRow("id outside the vocabulary")
        << QStringList{"--model", tiny, "--tokens-file", path("oov.json")}
        << QStringList{"oov.json", "token 2 is id 512", "outside the vocabulary", "0 to 511"};
    QTest::newRow("negative id") << QStringList{"--model", tiny, "--tokens-file", path("negative.json")}
                                 << QStringList{"negative.json", "entry 1", "not a token id"};
    QTest::newRow("one token") << QStringList{"--model", tiny, "--tokens-file", path("one.json")}
                               << QStringList{"one.json", "nothing to score"};
    QTest::newRow("not JSON") << QStringList{"--model", tiny, "--tokens-file", path("not-json.json")}
                              << QStringList{"not-json.json", "JSON"};
    QTest::newRow("context 1") << QStringList{"--model", tiny, "--tokens-file", tokens, "--context", "1"}
                               << QStringList{"--context 1", "at least 2 tokens"};
    QTest::newRow("context 0") << QStringList{"--model", tiny, "--tokens-file", tokens, "--context", "0"}
                               << QStringList{"--context 0", "at least 2 tokens"};
    QTest::newRow("stride past context")
        << QStringList{"--model", tiny, "--tokens-file", tokens, "--context", "8", "--stride", "9"}
        << QStringList{"--stride 9", "--context 8"};
    QTest::newRow("context past the model's")
        << QStringList{"--model", tiny, "--tokens-file", tokens, "--context", "100000"}
        << QStringList{"--context 100,000", "longer than the context"};
    QTest::newRow("no text") << QStringList{"--model", tiny} << QStringList{"--text-file", "--tokens-file"};
    QTest::newRow("both texts") << QStringList{"--model", tiny, "--text-file", path("words.txt"), "--tokens-file",
                                               tokens}
                                << QStringList{"--text-file", "--tokens-file"};
    QTest::newRow("missing text file") << QStringList{"--model", tiny, "--text-file", path("absent.txt")}
                                       << QStringList{"absent.txt"};
    QTest::newRow("missing model") << QStringList{"--model", path("absent-model"), "--tokens-file", tokens}
                                   << QStringList{"absent-model", "no such file"};
    QTest::newRow("three models") << QStringList{"--model", tiny, "--model", tiny, "--model", tiny, "--tokens-file",
                                                 tokens}
                                  << QStringList{"at most twice"};
    QTest::newRow("--json into a missing folder")
        << QStringList{"--model", tiny, "--tokens-file", tokens, "--json", path("absent-folder/out.json")}
        << QStringList{"--json", "absent-folder", "does not exist"};
    QTest::newRow("tokenizers disagree")
        << QStringList{"--model", tiny, "--model", path("llama_swapped"), "--text-file", path("words.txt")}
        << QStringList{"words.txt", "different ids", "first different at token"};
}

void TestCliPerplexity::badInputIsOneErrorLine() {
    QFETCH(QStringList, args);
    QFETCH(QStringList, mentions);
    const CliRun r = runCli(QStringList{"perplexity"} + args, 60000);
    verifyBadInput(r, mentions);
}

QTEST_GUILESS_MAIN(TestCliPerplexity)
#include "test_cli_perplexity.moc"
