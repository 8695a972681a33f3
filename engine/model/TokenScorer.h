#pragma once
// Scores a text with a model: the log-probability the model gives each token after the tokens
// before it, and the perplexity, exp of the mean negative log-probability over the scored tokens.
// With a second model on the same tokens it also measures how far the second's predictions are
// from the first's: the KL divergence KL(P1 || P2) at each position and how often both put the
// same token first (a quantised model against its full-precision original).
//
// A long text is scored in windows, as Hugging Face's strided perplexity recipe does: window k
// holds the tokens [k * stride, k * stride + context) and runs from an empty KV cache; it scores
// the tokens that no earlier window scored, except its own first token, which has nothing before
// it. The first window thus scores from its second token, and with stride == context the first
// token of every window goes unscored.
//
// A window is fed in pieces: the logits of a whole window at a large vocabulary (262,144 entries
// for Gemma 3: 1 MiB a token) would not fit, so each piece's logits are turned into log-probs at
// once and the KV cache carries the context to the next piece. The tokens before a window's first
// scored one only fill the cache, in one pass without logits. Memory is bounded by the context's
// KV cache and one piece's logits, whatever the length of the text.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/Result.h"
#include "model/TransformerModel.h"

namespace strata {

// Logits one piece may return: 128 MiB, 128 tokens at Gemma 3's vocabulary. Load the models with
// ModelOptions::logitBytes set to it, so that a device plan keeps room for them.
inline constexpr uint64_t kScoringLogitBytes = uint64_t(128) << 20;

// The tokens [begin, end) run from an empty cache; [firstScored, end) are scored.
struct ScoringWindow {
    int64_t begin = 0;
    int64_t end = 0;
    int64_t firstScored = 0;
};

// The windows over `tokens` tokens (see above). Needs context >= 2 and 1 <= stride <= context;
// none when tokens < 2.
std::vector<ScoringWindow> scoringWindows(int64_t tokens, int64_t context, int64_t stride);

// What one model made of one position.
struct TokenPrediction {
    double logProb = 0;  // ln P(token | the tokens before it in its window)
    int32_t top1 = -1;   // the token the model found most likely there
};

struct ScoredPosition {
    int64_t position = 0;  // index of the token in the text
    int32_t token = 0;
    TokenPrediction first;
    TokenPrediction second;  // with a second model
    double kl = 0;           // KL(P1 || P2) in nats, with a second model
};

struct ScoringProgress {
    int64_t scored = 0;  // tokens scored so far
    int64_t total = 0;   // tokens to score
    int64_t window = 0;  // the window being run, from 1
    int64_t windows = 0;
    double tokensPerSecond = 0;  // scored tokens
    double etaSeconds = -1;      // -1: unknown
};

struct ScoringOptions {
    int64_t context = 0;  // tokens per window, at least 2
    int64_t stride = 0;   // tokens between window starts, 1 to context; 0: context
    uint64_t logitBytes = kScoringLogitBytes;  // a piece holds the tokens whose logits fit in this
    std::function<void(const ScoringProgress&)> onProgress;  // after each piece
    std::function<bool()> cancelRequested;                   // polled between pieces
};

struct ScoringResult {
    std::vector<ScoredPosition> positions;  // every scored position, in order
    int64_t windows = 0;
    int64_t pieceTokens = 0;  // tokens per piece
    double meanNegLogProb = 0;  // the first model's, in nats
    double perplexity = 0;
    bool compared = false;  // a second model was scored
    double secondMeanNegLogProb = 0;
    double secondPerplexity = 0;
    double meanKl = 0;         // KL(P1 || P2) per scored position, in nats
    int64_t top1Agreements = 0;  // positions where both models put the same token first
    double top1Agreement = 0;    // the fraction of scored positions
    double seconds = 0;
};

// Scores tokens with model, and with second (may be null) on the same tokens, piece by piece
// in step with the first. Tokens outside a model's vocabulary, two models of different
// vocabularies, a context beyond a model's or fewer than two tokens are badInput; a cancel
// request is `cancelled`.
Result<ScoringResult> scoreTokens(TransformerModel& model, TransformerModel* second, std::span<const int32_t> tokens,
                                  const ScoringOptions& options);

}  // namespace strata
