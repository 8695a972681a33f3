// strata-cli perplexity with the real Gemma 3 270M (Q4_K_M GGUF, installed by
// packaging/install-models.sh) over the sample incident report, against transformers loading the
// same file (tests/data/gemma3_270m/perplexity.json, made by
// tests/tools/make_gemma3_270m_perplexity.py): the whole report in one window, overlapping windows
// with and without the weights streaming from disk under --ram-budget, and the model compared with
// itself.
//
// Tolerances. Strata's CPU backend keeps the GGUF's Q8_0 matrices packed and holds the others
// dequantised to float16, transformers all in float32; the fixture records how far transformers' own
// log-probs move when its matrices are held as Strata holds them (`strata_weights_max_logprob_shift`)
// and the log-probs of that model. So: the perplexity within 0.5% of transformers'; every position's
// log-prob within 1.25 times that shift of transformers' and within 1e-3 (the parity fixtures'
// tolerance) of that model's; top-1 as transformers' at 98% of positions or more (test_gemma3_270m's
// criterion) and as that model's at every position.
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/CliRunner.h"
#include "../support/DefaultModel.h"
#include "../support/TestPaths.h"
#include "core/ModelLocations.h"

namespace fs = std::filesystem;

namespace {

nlohmann::json readJson(const QString& file) {
    std::ifstream in(file.toStdString());
    return nlohmann::json::parse(in);
}

double printedPerplexity(const QString& out) {
    const auto m = QRegularExpression("^perplexity\\s+([0-9][0-9,]*\\.?[0-9]*)", QRegularExpression::MultilineOption)
                       .match(out);
    return m.hasMatch() ? m.captured(1).remove(',').toDouble() : std::nan("");
}

}  // namespace

class TestCliPerplexityGemma3_270m : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    nlohmann::json fixture_;
    QString fixtureFile_, model_;
    const nlohmann::json& fixtureRun(int context, int stride) {
        for (const auto& run : fixture_["runs"])
            if (run["context"] == context && run["stride"] == stride) return run;
        qFatal("no run with context %d, stride %d in the fixture", context, stride);
    }
    // Strata's --json against one of the fixture's runs (see the top of the file).
    void compareWithTransformers(const nlohmann::json& ours, const nlohmann::json& run, const QString& what);

private slots:
    void initTestCase();
    void sampleReportMatchesTransformers();
    void windowsMatchTransformersAndStreamingChangesNothing();
    void sameModelTwiceHasNoKlDivergence();
    void modelsOfDifferentVocabulariesAreRefused();
};

void TestCliPerplexityGemma3_270m::initTestCase() {
    STRATA_REQUIRE_DEFAULT_MODEL();
    model_ = QString::fromStdString(strata::defaultModelPath().string());
    fixtureFile_ = QString::fromStdString((strata::testsupport::testDataDir() / "gemma3_270m" / "perplexity.json").string());
    fixture_ = readJson(fixtureFile_);
    QCOMPARE(fixture_["tokens"].size(), size_t(797));
}

void TestCliPerplexityGemma3_270m::compareWithTransformers(const nlohmann::json& ours, const nlohmann::json& run,
                                                          const QString& what) {
    QCOMPARE(ours["token_ids"], fixture_["tokens"]);
    const auto& positions = ours["positions"];
    const auto logprobs = run["logprobs"].get<std::vector<double>>();
    const auto top1 = run["top1"].get<std::vector<int32_t>>();
    const auto heldLogprobs = run["strata_weights_logprobs"].get<std::vector<double>>();
    const auto heldTop1 = run["strata_weights_top1"].get<std::vector<int32_t>>();
    QCOMPARE(positions.size(), logprobs.size());
    const int64_t first = run["first_position"].get<int64_t>();
    double maxDiff = 0, maxHeldDiff = 0;
    int64_t worst = -1;
    size_t agree = 0, agreeHeld = 0;
    for (size_t i = 0; i < positions.size(); ++i) {
        const auto& p = positions[i];
        QCOMPARE(p["position"].get<int64_t>(), first + int64_t(i));
        const double lp = p["logprob"].get<double>();
        if (std::fabs(lp - logprobs[i]) > maxDiff) maxDiff = std::fabs(lp - logprobs[i]), worst = first + int64_t(i);
        maxHeldDiff = std::max(maxHeldDiff, std::fabs(lp - heldLogprobs[i]));
        agree += p["top1"].get<int32_t>() == top1[i];
        agreeHeld += p["top1"].get<int32_t>() == heldTop1[i];
    }
    const double ppl = ours["perplexity"].get<double>(), hfPpl = run["perplexity"].get<double>();
    const double shift = run["strata_weights_max_logprob_shift"].get<double>();
    qInfo("%s: perplexity %.6f, transformers %.6f (relative difference %.2e; with Strata's weights %.6f); max "
          "|log-prob diff| %.4g at token %lld (transformers' own shift with Strata's weights %.4g), %.3g against "
          "that model; top-1 as transformers' at %zu/%zu, as that model's at %zu",
          qPrintable(what), ppl, hfPpl, ppl / hfPpl - 1, run["strata_weights_perplexity"].get<double>(), maxDiff,
          (long long)worst, shift, maxHeldDiff, agree, positions.size(), agreeHeld);
    QVERIFY2(std::fabs(ppl / hfPpl - 1) < 0.005, "perplexity not within 0.5% of transformers'");
    QVERIFY2(maxDiff <= 1.25 * shift, "a log-prob is further from transformers' than Strata's weights explain");
    QVERIFY2(maxHeldDiff < 1e-3, "a log-prob is further than 1e-3 from transformers' with Strata's weights");
    QVERIFY(agree >= size_t(std::ceil(0.98 * double(positions.size()))));
    QCOMPARE(agreeHeld, positions.size());
}

// The acceptance command: the default model over the sample report, all 797 tokens in one window.
void TestCliPerplexityGemma3_270m::sampleReportMatchesTransformers() {
    const QString json = tmp_.filePath("report.json");
    const CliRun r = runCli({"perplexity", "--text-file", STRATA_SAMPLE_REPORT, "--json", json}, 900000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    qInfo("%s", qPrintable(r.out.trimmed()));
    QVERIFY2(r.out.contains("scored             796 of 797 tokens, in 1 window of 4,096 tokens"), qPrintable(r.out));
    const nlohmann::json ours = readJson(json);
    // Printed to 4 decimals.
    QVERIFY(std::fabs(printedPerplexity(r.out) / ours["perplexity"].get<double>() - 1) < 1e-5);
    QCOMPARE(ours["models"][0].get<std::string>(), model_.toStdString());
    compareWithTransformers(ours, fixtureRun(4096, 4096), "whole report");
    QVERIFY(ours["positions"][0].contains("text"));
}

// Windows of 256 tokens every 128 (each window past the first starts mid-text, from an empty
// cache), from the fixture's ids; then again with the weights streaming from disk through two
// RAM slots: the same log-probs, bit for bit.
void TestCliPerplexityGemma3_270m::windowsMatchTransformersAndStreamingChangesNothing() {
    const QString inRam = tmp_.filePath("windows.json"), streamed = tmp_.filePath("windows-streamed.json");
    const QStringList args{"perplexity", "--tokens-file", fixtureFile_, "--context", "256", "--stride", "128"};
    const CliRun r = runCli(args + QStringList{"--json", inRam}, 900000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const nlohmann::json ours = readJson(inRam);
    QCOMPARE(ours["windows"].get<int>(), 6);
    compareWithTransformers(ours, fixtureRun(256, 128), "windows of 256, stride 128");

    // The GGUF dequantises to 511 MiB; the budget holds the 320 MiB head and streams the layers.
    const CliRun s = runCli(args + QStringList{"--ram-budget", "350MiB", "--json", streamed}, 900000);
    QVERIFY2(s.exitCode == 0, qPrintable(s.err));
    QVERIFY2(!s.err.contains("weights streamed 0 B"), qPrintable(s.err));
    QVERIFY2(r.err.contains("weights streamed 0 B"), qPrintable(r.err));
    const nlohmann::json fromDisk = readJson(streamed);
    qInfo("streamed under --ram-budget 350MiB: perplexity %.10f (in RAM %.10f); %s", fromDisk["perplexity"].get<double>(),
          ours["perplexity"].get<double>(), qPrintable(s.err.section('\n', -3, -2)));
    QCOMPARE(fromDisk["perplexity"].get<double>(), ours["perplexity"].get<double>());
    QCOMPARE(fromDisk["positions"], ours["positions"]);
    QCOMPARE(s.out, r.out);
}

// Two --model flags naming the same GGUF: the KL divergence is printed and is zero, and the top-1
// agreement is 100%. The report's first 160 tokens keep this short.
void TestCliPerplexityGemma3_270m::sameModelTwiceHasNoKlDivergence() {
    const QString tokens = tmp_.filePath("first-160.json"), json = tmp_.filePath("twice.json");
    {
        auto ids = fixture_["tokens"].get<std::vector<int32_t>>();
        ids.resize(160);
        std::ofstream(tokens.toStdString()) << nlohmann::json(ids).dump();
    }
    const CliRun r = runCli({"perplexity", "--model", model_, "--model", model_, "--tokens-file", tokens, "--json", json},
                            900000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    qInfo("%s", qPrintable(r.out.trimmed()));
    QVERIFY2(r.out.contains(QRegularExpression("^KL\\(P1\\|\\|P2\\)\\s+0\\.000000 nats per token \\(mean\\)",
                                               QRegularExpression::MultilineOption)),
             qPrintable(r.out));
    QVERIFY2(r.out.contains("top-1 agreement    100.00% (159 of 159 tokens)"), qPrintable(r.out));
    const nlohmann::json j = readJson(json);
    QCOMPARE(j["mean_kl"].get<double>(), 0.0);
    QCOMPARE(j["second_perplexity"].get<double>(), j["perplexity"].get<double>());
}

void TestCliPerplexityGemma3_270m::modelsOfDifferentVocabulariesAreRefused() {
    const QString tokens = tmp_.filePath("three.json");
    std::ofstream(tokens.toStdString()) << "[0, 5, 9]";
    const QString tiny = QString::fromStdString((strata::testsupport::testDataDir() / "models" / "llama_tied").string());
    const CliRun r = runCli({"perplexity", "--model", tiny, "--model", model_, "--tokens-file", tokens}, 60000);
    verifyBadInput(r, {"vocabularies", "512 ids", "262,144 ids"});
}

QTEST_GUILESS_MAIN(TestCliPerplexityGemma3_270m)
#include "test_cli_perplexity_gemma3_270m.moc"
