// The real Gemma 3 270M (Q4_K_M GGUF, installed by packaging/install-models.sh) against Hugging Face
// transformers loading the same file (tests/data/gemma3_270m/reference.json, made by
// tests/tools/make_gemma3_270m_reference.py): tokens, next-token predictions at every position of a
// 64-token text, greedy answers to factual questions, and the folder `strata-cli convert` writes.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "backend/cpu/CpuOps.h"
#include "../cli/CliRunner.h"
#include "../support/DefaultModel.h"
#include "../support/TestPaths.h"
#include "core/ModelLocations.h"
#include "model/TransformerModel.h"
#include "model/Generator.h"
#include "tokenizer/Tokenizer.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

double logSumExp(const float* x, int64_t n) {
    const float m = *std::max_element(x, x + n);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - m);
    return m + std::log(s);
}

}  // namespace

class TestGemma3_270m : public QObject {
    Q_OBJECT
private:
    CpuOps ops_;
    nlohmann::json ref_;
    fs::path model_;
    std::unique_ptr<TransformerModel> load(const fs::path& path) {
        auto m = TransformerModel::load(path, ops_, ModelOptions{});
        if (!m.ok()) qWarning("%s", m.error().message.c_str());
        return m.ok() ? std::move(m.value()) : nullptr;
    }
    std::vector<float> allLogits(TransformerModel& model) {
        const auto ids = ref_["token_ids"].get<std::vector<int32_t>>();
        auto kv = KvCache::create(ops_, model.config(), {});
        std::vector<float> logits;
        if (!kv.ok() || !model.forward(ids, *kv.value(), true, logits).ok()) logits.clear();
        return logits;
    }
private slots:
    void initTestCase() {
        STRATA_REQUIRE_DEFAULT_MODEL();
        model_ = defaultModelPath();
        std::ifstream in(strata::testsupport::testDataDir() / "gemma3_270m" / "reference.json");
        ref_ = nlohmann::json::parse(in);
    }
    void tokenizesAsTransformers();
    void nextTokenPredictions();
    void greedyCompletionsMatchTransformers();
    void factualAnswers();
    void convertedFolderMatchesGguf();
    void readmeCommandAnswersTheSampleQuestion();
};

void TestGemma3_270m::tokenizesAsTransformers() {
    auto tok = loadTokenizer(model_);
    QVERIFY(tok.ok());
    QCOMPARE(tok.value()->encode(ref_["text"].get<std::string>(), true), ref_["token_ids"].get<std::vector<int32_t>>());
}

// Metrics: top-1 agreement over the 64 positions; the largest difference of log-probabilities
// over the reference's 20 most likely tokens at each position.
void TestGemma3_270m::nextTokenPredictions() {
    auto model = load(model_);
    QVERIFY(model);
    const std::vector<float> logits = allLogits(*model);
    QVERIFY(!logits.empty());
    const int64_t vocab = model->config().vocabSize;
    const auto& positions = ref_["positions"];
    int agree = 0;
    double maxLogProbDiff = 0, maxLogitDiff = 0;
    for (size_t p = 0; p < positions.size(); ++p) {
        const float* row = logits.data() + p * size_t(vocab);
        const auto& r = positions[p];
        agree += std::max_element(row, row + vocab) - row == r["argmax"].get<int64_t>();
        const double lse = logSumExp(row, vocab), refLse = r["logsumexp"].get<double>();
        const auto ids = r["top_ids"].get<std::vector<int64_t>>();
        const auto vals = r["top_logits"].get<std::vector<double>>();
        for (size_t k = 0; k < ids.size(); ++k) {
            maxLogitDiff = std::max(maxLogitDiff, std::fabs(row[ids[k]] - vals[k]));
            maxLogProbDiff = std::max(maxLogProbDiff, std::fabs((row[ids[k]] - lse) - (vals[k] - refLse)));
        }
    }
    qInfo("top-1 agrees at %d/%zu positions; over the reference's top-20: max |logit diff| %.4f, "
          "max |log-prob diff| %.4f",
          agree, positions.size(), maxLogitDiff, maxLogProbDiff);
    QVERIFY(agree >= int(std::ceil(0.98 * double(positions.size()))));
}

// transformers' greedy continuations of plain-text prompts, token for token up to the first step
// where its top two logits are within 0.05 of each other: there float16 weights may rightly pick
// the other token.
void TestGemma3_270m::greedyCompletionsMatchTransformers() {
    auto model = load(model_);
    QVERIFY(model);
    for (const auto& c : ref_["completions"]) {
        const auto expected = c["new_ids"].get<std::vector<int32_t>>();
        const auto margins = c["margins"].get<std::vector<double>>();
        size_t solid = 0;
        while (solid < expected.size() && margins[solid] >= 0.05) ++solid;
        GenerationRequest request;
        request.promptIds = c["prompt_ids"].get<std::vector<int32_t>>();
        request.maxNewTokens = int64_t(expected.size());
        auto result = generate(*model, nullptr, request);
        QVERIFY(result.ok());
        const auto& got = result->outputIds;
        size_t same = 0;
        while (same < got.size() && same < expected.size() && got[same] == expected[same]) ++same;
        qInfo("%s: %zu of %zu tokens as transformers (the first near tie is at step %zu)",
              c["prompt"].get<std::string>().c_str(), same, expected.size(), solid);
        QVERIFY(same >= solid);
    }
}

// Greedy answers to factual questions, in the plain-text form a base model answers.
void TestGemma3_270m::factualAnswers() {
    auto model = load(model_);
    QVERIFY(model);
    auto tok = loadTokenizer(model_);
    QVERIFY(tok.ok());
    const std::pair<const char*, const char*> cases[] = {
        {"Question: What is the capital of France?\nAnswer:", "Paris"},
        {"Question: Who wrote Romeo and Juliet?\nAnswer:", "Shakespeare"},
        {"Question: What is the largest planet in the solar system?\nAnswer:", "Jupiter"},
        {"The chemical symbol for gold is", "Au"},
    };
    for (const auto& [prompt, expected] : cases) {
        GenerationRequest request;
        request.promptIds = tok.value()->encode(prompt, true);
        request.maxNewTokens = 12;
        request.stopStrings = {"\n"};
        auto result = generate(*model, tok.value().get(), request);
        QVERIFY(result.ok());
        const std::string answer = tok.value()->decode(result->outputIds, true);
        qInfo("%s -> %s", nlohmann::json(prompt).dump().c_str(), nlohmann::json(answer).dump().c_str());
        QVERIFY2(answer.find(expected) != std::string::npos, (std::string(prompt) + " ->" + answer).c_str());
    }
}

// `strata-cli convert` writes bf16 where the GGUF path holds float16 (quantised tensors) and fp32
// (norms): the logits may differ by that rounding, and nothing else.
void TestGemma3_270m::convertedFolderMatchesGguf() {
    QTemporaryDir tmp;
    const fs::path out = fs::path(tmp.path().toStdString()) / "gemma3-270m";
    QProcess cli;
    cli.start(STRATA_CLI_PATH, {"convert", "--gguf", QString::fromStdString(model_.string()), "--out",
                                QString::fromStdString(out.string())});
    QVERIFY(cli.waitForFinished(300000));
    QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
    for (const char* file : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                             "tokenizer_config.json"})
        QVERIFY2(fs::exists(out / file), file);

    std::vector<float> fromGguf, fromFolder;
    {
        auto model = load(model_);
        QVERIFY(model);
        fromGguf = allLogits(*model);
    }
    {
        auto model = load(out);
        QVERIFY(model);
        QCOMPARE(model->checkpoint().gguf(), nullptr);
        fromFolder = allLogits(*model);
        QCOMPARE(model->config().modelType, std::string("gemma3_text"));
    }
    QCOMPARE(fromFolder.size(), fromGguf.size());
    auto tokGguf = loadTokenizer(model_), tokFolder = loadTokenizer(out);
    QVERIFY(tokGguf.ok() && tokFolder.ok());
    const std::string text = ref_["text"].get<std::string>();
    QCOMPARE(tokFolder.value()->encode(text, true), tokGguf.value()->encode(text, true));
    QCOMPARE(tokFolder.value()->eosIds(), tokGguf.value()->eosIds());

    const int64_t vocab = 262144;
    const size_t positions = fromGguf.size() / size_t(vocab);
    double maxDiff = 0, maxLogit = 0;
    int agree = 0;
    for (size_t p = 0; p < positions; ++p) {
        const float* a = fromGguf.data() + p * size_t(vocab);
        const float* b = fromFolder.data() + p * size_t(vocab);
        for (int64_t v = 0; v < vocab; ++v) {
            maxDiff = std::max(maxDiff, double(std::fabs(a[v] - b[v])));
            maxLogit = std::max(maxLogit, double(std::fabs(a[v])));
        }
        agree += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b;
    }
    qInfo("converted folder vs GGUF: max |logit diff| %.4f (largest |logit| %.1f, relative %.2e); top-1 agrees "
          "at %d/%zu positions",
          maxDiff, maxLogit, maxDiff / maxLogit, agree, positions);
    QVERIFY(maxDiff / maxLogit < 2e-2);
    QVERIFY(agree >= int(positions) - 1);
}

// The README's first command ends in `strata-cli run` with no arguments: the default model asked
// about the sample incident report.
void TestGemma3_270m::readmeCommandAnswersTheSampleQuestion() {
    const CliRun r = runCli({"run"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    qInfo("strata-cli run -> %s", qPrintable(r.out.trimmed()));
    QVERIFY2(r.out.contains("1 hour 37 minutes"), qPrintable(r.out));
}

QTEST_GUILESS_MAIN(TestGemma3_270m)
#include "test_gemma3_270m.moc"
