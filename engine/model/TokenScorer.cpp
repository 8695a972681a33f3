#include "model/TokenScorer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>

#include "kv/KvCache.h"

namespace strata {

namespace {

// The log of the sum of exp over a row of logits, and its largest entry (the first, on a tie).
// exp is taken in float on values at most 0 and summed in double: the result is within a few
// float roundings of a float64 log_softmax.
struct RowNormaliser {
    double logSumExp = 0;
    int32_t argmax = 0;
};

RowNormaliser normalise(const float* row, int64_t vocab) {
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
        if (row[v] > row[best]) best = v;
    const float top = row[best];
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += double(std::exp(row[v] - top));
    return {double(top) + std::log(sum), int32_t(best)};
}

// KL(P || Q) of two rows of logits with their normalisers: the sum over the vocabulary of
// p * (log p - log q) = sum p * (x - y) + (lse(y) - lse(x)), since p sums to one.
double klDivergence(const float* x, const RowNormaliser& nx, const float* y, const RowNormaliser& ny, int64_t vocab) {
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) {
        const double p = double(std::exp(float(double(x[v]) - nx.logSumExp)));
        sum += p * (double(x[v]) - double(y[v]));
    }
    // Rounding can leave a hair below zero for two models that agree; the divergence never is.
    return std::max(0.0, sum + ny.logSumExp - nx.logSumExp);
}

Status checkModel(const TransformerModel& model, const char* which, std::span<const int32_t> tokens,
                  int64_t windowTokens) {
    const ModelConfig& c = model.config();
    if (c.maxPositions > 0 && windowTokens > c.maxPositions)
        return badInput("a window of " + std::to_string(windowTokens) + " tokens is longer than the " + which +
                        " model's context of " + std::to_string(c.maxPositions) + " tokens");
    for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= c.vocabSize)
            return badInput("token " + std::to_string(i) + " is id " + std::to_string(tokens[i]) +
                            ", outside the " + which + " model's vocabulary of " + std::to_string(c.vocabSize) +
                            " ids");
    return {};
}

}  // namespace

std::vector<ScoringWindow> scoringWindows(int64_t tokens, int64_t context, int64_t stride) {
    std::vector<ScoringWindow> windows;
    if (tokens < 2 || context < 2 || stride < 1 || stride > context) return windows;
    int64_t scoredTo = 0;
    for (int64_t begin = 0;; begin += stride) {
        const int64_t end = std::min(begin + context, tokens);
        windows.push_back({begin, end, std::max(scoredTo, begin + 1)});
        scoredTo = end;
        if (end == tokens) return windows;
    }
}

Result<ScoringResult> scoreTokens(TransformerModel& model, TransformerModel* second, std::span<const int32_t> tokens,
                                  const ScoringOptions& options) {
    const int64_t n = int64_t(tokens.size());
    const int64_t context = options.context;
    const int64_t stride = options.stride > 0 ? options.stride : context;
    if (context < 2)
        return badInput("a scoring window needs at least 2 tokens (one to predict from and one to score), not " +
                        std::to_string(context));
    if (stride > context)
        return badInput("the stride of " + std::to_string(stride) + " tokens is longer than the window of " +
                        std::to_string(context) + ": the tokens between windows would never be scored");
    if (n < 2)
        return badInput("nothing to score in " + std::to_string(n) +
                        " token(s): a token is scored after the tokens before it");
    const int64_t vocab = model.config().vocabSize;
    STRATA_TRY(checkModel(model, "first", tokens, std::min(context, n)));
    if (second) {
        if (second->config().vocabSize != vocab)
            return badInput("the models' vocabularies differ (" + std::to_string(vocab) + " and " +
                            std::to_string(second->config().vocabSize) +
                            " ids): their predictions cannot be compared token for token");
        STRATA_TRY(checkModel(*second, "second", tokens, std::min(context, n)));
    }

    std::vector<TransformerModel*> models{&model};
    if (second) models.push_back(second);
    const auto windows = scoringWindows(n, context, stride);
    int64_t total = 0;
    for (const ScoringWindow& w : windows) total += w.end - w.firstScored;

    ScoringResult result;
    result.windows = int64_t(windows.size());
    result.compared = second != nullptr;
    result.pieceTokens = logitRowsWithin(model.config(), options.logitBytes);
    result.positions.resize(size_t(total));
    std::vector<std::vector<float>> logits(models.size());
    const auto start = std::chrono::steady_clock::now();
    int64_t scored = 0;
    for (size_t wi = 0; wi < windows.size(); ++wi) {
        const ScoringWindow& w = windows[wi];
        std::vector<std::unique_ptr<KvCache>> caches;
        for (TransformerModel* m : models) {
            auto kv = KvCache::create(m->ops(), m->config(), KvCacheOptions{});
            STRATA_TRY(kv);
            caches.push_back(std::move(kv.value()));
        }
        // The tokens before the one that predicts the first scored token only fill the cache.
        const auto fill = tokens.subspan(size_t(w.begin), size_t(w.firstScored - 1 - w.begin));
        if (!fill.empty())
            for (size_t m = 0; m < models.size(); ++m) STRATA_TRY(models[m]->forward(fill, *caches[m], false, logits[m]));
        // Row r of a piece starting at token s predicts token s + 1 + r; the window's last token
        // predicts nothing in it and is never run.
        for (int64_t s = w.firstScored - 1; s < w.end - 1; s += result.pieceTokens) {
            if (options.cancelRequested && options.cancelRequested())
                return cancelled("scoring stopped after " + std::to_string(scored) + " of " + std::to_string(total) +
                                 " tokens");
            const int64_t count = std::min(result.pieceTokens, w.end - 1 - s);
            const auto piece = tokens.subspan(size_t(s), size_t(count));
            for (size_t m = 0; m < models.size(); ++m)
                STRATA_TRY(models[m]->forward(piece, *caches[m], true, logits[m]));
            ScoredPosition* out = result.positions.data() + scored;
#pragma omp parallel for schedule(static)
            for (int64_t r = 0; r < count; ++r) {
                ScoredPosition& p = out[r];
                p.position = s + 1 + r;
                p.token = tokens[size_t(p.position)];
                const float* row = logits[0].data() + r * vocab;
                const RowNormaliser first = normalise(row, vocab);
                p.first = {double(row[p.token]) - first.logSumExp, first.argmax};
                if (models.size() < 2) continue;
                const float* other = logits[1].data() + r * vocab;
                const RowNormaliser next = normalise(other, vocab);
                p.second = {double(other[p.token]) - next.logSumExp, next.argmax};
                p.kl = klDivergence(row, first, other, next, vocab);
            }
            scored += count;
            if (options.onProgress) {
                ScoringProgress progress;
                progress.scored = scored;
                progress.total = total;
                progress.window = int64_t(wi) + 1;
                progress.windows = result.windows;
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                progress.tokensPerSecond = seconds > 0 ? double(scored) / seconds : 0;
                if (progress.tokensPerSecond > 0) progress.etaSeconds = double(total - scored) / progress.tokensPerSecond;
                options.onProgress(progress);
            }
        }
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    double nll = 0, secondNll = 0, kl = 0;
    for (const ScoredPosition& p : result.positions) {
        nll -= p.first.logProb;
        if (!result.compared) continue;
        secondNll -= p.second.logProb;
        kl += p.kl;
        result.top1Agreements += p.first.top1 == p.second.top1;
    }
    const double count = double(total);
    result.meanNegLogProb = nll / count;
    result.perplexity = std::exp(result.meanNegLogProb);
    if (result.compared) {
        result.secondMeanNegLogProb = secondNll / count;
        result.secondPerplexity = std::exp(result.secondMeanNegLogProb);
        result.meanKl = kl / count;
        result.top1Agreement = double(result.top1Agreements) / count;
    }
    return result;
}

}  // namespace strata
