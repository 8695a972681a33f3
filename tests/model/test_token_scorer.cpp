// TokenScorer on the parity fixtures (tests/data/models and tests/data/gguf/models): the log-prob
// of every token against the log-softmax of transformers' logits, the windows of Hugging Face's
// strided recipe, windows fed in pieces against each window run whole, and the comparison of two
// models against the KL divergence and top-1 agreement of their transformers logits.
#include <QtTest>

#include <array>
#include <cmath>
#include <set>

#include "../support/LogProbs.h"
#include "../support/ParityFixture.h"
#include "backend/cpu/CpuOps.h"
#include "model/TransformerModel.h"
#include "model/TokenScorer.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

// Logits bytes that make pieces of `tokens` tokens at the fixtures' vocabulary.
uint64_t piecesOf(int64_t tokens, int64_t vocab) { return uint64_t(tokens * vocab) * sizeof(float); }

}  // namespace

class TestTokenScorer : public QObject {
    Q_OBJECT
private:
    CpuOps ops_;
    std::unique_ptr<TransformerModel> load(const QString& fixture) {
        auto model = TransformerModel::load(parityModelPath(fixture).toStdString(), ops_, ModelOptions{});
        if (!model.ok()) {
            qWarning("%s", model.error().message.c_str());
            return nullptr;
        }
        return std::move(model.value());
    }
private slots:
    void windowsFollowTheRecipe();
    void logProbsMatchTransformers_data();
    void logProbsMatchTransformers();
    void windowsInPiecesScoreAsWholeWindows();
    void comparisonMatchesTransformers_data();
    void comparisonMatchesTransformers();
    void sameModelTwiceAgreesExactly();
    void refusesBadInput();
};

// Hugging Face's recipe: windows start every stride tokens; each scores from the first token no
// earlier window scored, never its own first; the last ends at the text's end.
void TestTokenScorer::windowsFollowTheRecipe() {
    auto same = [](const std::vector<ScoringWindow>& got, const std::vector<std::array<int64_t, 3>>& want) {
        if (got.size() != want.size()) return false;
        for (size_t i = 0; i < got.size(); ++i)
            if (got[i].begin != want[i][0] || got[i].end != want[i][1] || got[i].firstScored != want[i][2]) return false;
        return true;
    };
    QVERIFY(same(scoringWindows(10, 4, 4), {{0, 4, 1}, {4, 8, 5}, {8, 10, 9}}));
    QVERIFY(same(scoringWindows(10, 4, 2), {{0, 4, 1}, {2, 6, 4}, {4, 8, 6}, {6, 10, 8}}));
    QVERIFY(same(scoringWindows(10, 4, 3), {{0, 4, 1}, {3, 7, 4}, {6, 10, 7}}));
    QVERIFY(same(scoringWindows(797, 4096, 4096), {{0, 797, 1}}));
    QVERIFY(same(scoringWindows(797, 256, 128),
                 {{0, 256, 1}, {128, 384, 256}, {256, 512, 384}, {384, 640, 512}, {512, 768, 640}, {640, 797, 768}}));
    QVERIFY(scoringWindows(1, 4, 4).empty());
    QVERIFY(scoringWindows(10, 1, 1).empty());
    QVERIFY(scoringWindows(10, 4, 5).empty());
    // Whatever the sizes, a stride up to the context scores every token after the first, once;
    // a stride equal to the context leaves out each later window's first token.
    for (int64_t n : {2, 3, 17, 48})
        for (int64_t context : {2, 3, 5, 16, 64})
            for (int64_t stride = 1; stride <= context; ++stride) {
                std::multiset<int64_t> scored;
                const auto windows = scoringWindows(n, context, stride);
                for (const ScoringWindow& w : windows) {
                    QVERIFY(w.begin < w.firstScored && w.firstScored <= w.end && w.end - w.begin <= context);
                    for (int64_t t = w.firstScored; t < w.end; ++t) scored.insert(t);
                }
                const bool everyToken = stride < context || n <= context;
                QCOMPARE(int64_t(scored.size()), everyToken ? n - 1 : n - int64_t(windows.size()));
                for (int64_t t = 1; t < n; ++t) QVERIFY(scored.count(t) <= 1);
            }
}

void TestTokenScorer::logProbsMatchTransformers_data() {
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<int>("piece");
    for (const char* name : kParityFixtures) {
        // The sequence in one piece, and in pieces of 5 whose KV cache carries the context.
        QTest::newRow((std::string(name) + "/whole").c_str()) << QString(name) << 48;
        QTest::newRow((std::string(name) + "/piece5").c_str()) << QString(name) << 5;
    }
}

// Metric: max |our log-prob - log_softmax(transformers' logits)| of each scored token (1 to 47,
// one window), within 1e-3 (kParityLogProbTolerance), and the top-1 ids.
void TestTokenScorer::logProbsMatchTransformers() {
    QFETCH(QString, fixture);
    QFETCH(int, piece);
    const ParityReference ref = readParityReference(fixture);
    auto model = load(fixture);
    QVERIFY(model);
    ScoringOptions options;
    options.context = int64_t(ref.inputIds.size());
    options.logitBytes = piecesOf(piece, ref.vocab);
    auto result = scoreTokens(*model, nullptr, ref.inputIds, options);
    QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
    QCOMPARE(result->pieceTokens, int64_t(piece));
    QCOMPARE(result->windows, int64_t(1));
    QCOMPARE(result->positions.size(), ref.inputIds.size() - 1);
    double maxDiff = 0, nll = 0;
    int agree = 0;
    for (const ScoredPosition& p : result->positions) {
        const float* row = ref.logits.data() + size_t(p.position - 1) * size_t(ref.vocab);
        const double want = logSoftmax(row, ref.vocab)[size_t(p.token)];
        QCOMPARE(p.token, ref.inputIds[size_t(p.position)]);
        maxDiff = std::max(maxDiff, std::fabs(p.first.logProb - want));
        agree += p.first.top1 == argmax(row, ref.vocab);
        nll -= want;
    }
    const double perplexity = std::exp(nll / double(result->positions.size()));
    qInfo("%s, pieces of %d: max |log-prob diff| %.3g over %zu tokens; top-1 agrees at %d; perplexity %.6g "
          "(transformers' logits %.6g)",
          qPrintable(fixture), piece, maxDiff, result->positions.size(), agree, result->perplexity, perplexity);
    QVERIFY2(maxDiff < kParityLogProbTolerance, "log-probs differ from transformers' by more than the tolerance");
    QCOMPARE(size_t(agree), result->positions.size());
    QVERIFY(std::fabs(result->perplexity / perplexity - 1) < 1e-3);
}

// Each window scored piece by piece, after a pass that only fills the cache, gives what a
// forward pass over that window's tokens from an empty cache gives.
void TestTokenScorer::windowsInPiecesScoreAsWholeWindows() {
    for (const char* fixture : {"llama_tied", "gguf/gemma3"}) {
        const ParityReference ref = readParityReference(fixture);
        auto model = load(fixture);
        QVERIFY(model);
        const std::span<const int32_t> ids(ref.inputIds);
        for (const auto& [context, stride] : {std::pair{16, 16}, std::pair{16, 5}, std::pair{12, 1}}) {
            ScoringOptions options;
            options.context = context;
            options.stride = stride;
            options.logitBytes = piecesOf(3, ref.vocab);
            auto result = scoreTokens(*model, nullptr, ids, options);
            QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
            size_t next = 0;
            double maxDiff = 0;
            for (const ScoringWindow& w : scoringWindows(int64_t(ids.size()), context, stride)) {
                auto kv = KvCache::create(ops_, model->config(), {});
                QVERIFY(kv.ok());
                std::vector<float> logits;
                QVERIFY(model->forward(ids.subspan(size_t(w.begin), size_t(w.end - w.begin)), *kv.value(), true, logits)
                            .ok());
                for (int64_t t = w.firstScored; t < w.end; ++t, ++next) {
                    const ScoredPosition& p = result->positions.at(next);
                    QCOMPARE(p.position, t);
                    const float* row = logits.data() + size_t(t - 1 - w.begin) * size_t(ref.vocab);
                    maxDiff = std::max(maxDiff, std::fabs(p.first.logProb - logSoftmax(row, ref.vocab)[size_t(ids[size_t(t)])]));
                    QCOMPARE(p.first.top1, argmax(row, ref.vocab));
                }
            }
            QCOMPARE(next, result->positions.size());
            qInfo("%s context %d stride %d: %lld windows, max |log-prob diff| against whole windows %.3g", fixture,
                  context, stride, static_cast<long long>(result->windows), maxDiff);
            QVERIFY(maxDiff < 1e-4);
        }
    }
}

void TestTokenScorer::comparisonMatchesTransformers_data() {
    QTest::addColumn<QString>("first");
    QTest::addColumn<QString>("second");
    // The same weights quantised to Q8_0; and two unrelated models.
    QTest::newRow("llama_tied vs gguf/llama_q8") << QString("llama_tied") << QString("gguf/llama_q8");
    QTest::newRow("llama_tied vs qwen3") << QString("llama_tied") << QString("qwen3");
}

// Metric: the mean KL(P1 || P2) and top-1 agreement over positions 1 to 47 against the same
// figures from the two fixtures' transformers logits.
void TestTokenScorer::comparisonMatchesTransformers() {
    QFETCH(QString, first);
    QFETCH(QString, second);
    const ParityReference a = readParityReference(first), b = readParityReference(second);
    QCOMPARE(a.inputIds, b.inputIds);
    auto modelA = load(first), modelB = load(second);
    QVERIFY(modelA && modelB);
    ScoringOptions options;
    options.context = int64_t(a.inputIds.size());
    options.logitBytes = piecesOf(7, a.vocab);
    auto result = scoreTokens(*modelA, modelB.get(), a.inputIds, options);
    QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
    QVERIFY(result->compared);
    double kl = 0;
    int agree = 0;
    for (const ScoredPosition& p : result->positions) {
        const size_t row = size_t(p.position - 1) * size_t(a.vocab);
        const auto la = logSoftmax(a.logits.data() + row, a.vocab), lb = logSoftmax(b.logits.data() + row, b.vocab);
        double k = 0;
        for (size_t v = 0; v < la.size(); ++v) k += std::exp(la[v]) * (la[v] - lb[v]);
        kl += k;
        agree += argmax(a.logits.data() + row, a.vocab) == argmax(b.logits.data() + row, b.vocab);
        QVERIFY(std::fabs(p.second.logProb - lb[size_t(p.token)]) < kParityLogProbTolerance);
    }
    const double n = double(result->positions.size());
    qInfo("%s || %s: mean KL %.6g (transformers' logits %.6g), top-1 agreement %.4f (%.4f)", qPrintable(first),
          qPrintable(second), result->meanKl, kl / n, result->top1Agreement, agree / n);
    QVERIFY(result->meanKl > 0);
    QVERIFY2(std::fabs(result->meanKl - kl / n) < 2e-2 * kl / n + 1e-5, "the KL divergence differs from transformers'");
    QVERIFY(std::fabs(result->top1Agreement - agree / n) <= 1.5 / n);
    QCOMPARE(result->top1Agreements, int64_t(std::lround(result->top1Agreement * n)));
}

void TestTokenScorer::sameModelTwiceAgreesExactly() {
    auto model = load("gguf/qwen3");
    auto again = load("gguf/qwen3");
    QVERIFY(model && again);
    const ParityReference ref = readParityReference("gguf/qwen3");
    ScoringOptions options;
    options.context = 20;
    options.stride = 7;
    options.logitBytes = piecesOf(4, ref.vocab);
    auto result = scoreTokens(*model, again.get(), ref.inputIds, options);
    QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
    QCOMPARE(result->meanKl, 0.0);
    QCOMPARE(result->top1Agreement, 1.0);
    QCOMPARE(result->secondPerplexity, result->perplexity);
    for (const ScoredPosition& p : result->positions) QCOMPARE(p.second.logProb, p.first.logProb);
}

void TestTokenScorer::refusesBadInput() {
    auto model = load("llama_tied");
    QVERIFY(model);
    const std::vector<int32_t> ids = {0, 306, 315, 332, 77, 275};
    ScoringOptions options;
    options.context = 4;
    auto expectBadInput = [&](std::span<const int32_t> tokens, const ScoringOptions& o, const char* mention) {
        auto r = scoreTokens(*model, nullptr, tokens, o);
        QVERIFY(!r.ok());
        QVERIFY(r.error().kind == ErrorKind::BadInput);
        QVERIFY2(r.error().message.find(mention) != std::string::npos, r.error().message.c_str());
    };
    std::vector<int32_t> outside = ids;
    outside[3] = 512;
    expectBadInput(outside, options, "token 3 is id 512, outside the first model's vocabulary of 512");
    expectBadInput(std::span<const int32_t>(ids).first(1), options, "nothing to score");
    ScoringOptions one = options;
    one.context = 1;
    expectBadInput(ids, one, "at least 2 tokens");
    ScoringOptions wide = options;
    wide.stride = 5;
    expectBadInput(ids, wide, "never be scored");
    ScoringOptions stopped = options;
    stopped.cancelRequested = [] { return true; };
    auto r = scoreTokens(*model, nullptr, ids, stopped);
    QVERIFY(!r.ok() && r.error().kind == ErrorKind::Cancelled);
}

QTEST_GUILESS_MAIN(TestTokenScorer)
#include "test_token_scorer.moc"
