#pragma once
// Next-token choice from logits: greedy, temperature, top-k, top-p, min-p, repetition penalty,
// with a seeded generator so that a run can be repeated.
//
// The processing order and the meaning of each setting follow Hugging Face transformers'
// generate(): repetition penalty, then (when sampling) temperature, top-k, top-p, min-p, then a
// draw from the softmax of what is left. Temperature 0 means greedy: argmax after the penalty.
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "sampling/StopStringMatcher.h"  // kept here for code that includes only Sampler.h

namespace strata {

struct SamplingParams {
    float temperature = 0.0f;        // 0: greedy
    int topK = 0;                    // 0: off
    float topP = 1.0f;               // 1: off
    float minP = 0.0f;               // 0: off
    float repetitionPenalty = 1.0f;  // 1: off; as HF: divide positive logits, multiply negative
    uint64_t seed = 0;
};

// An error text naming the setting at fault, or nothing when the parameters are usable.
std::optional<std::string> validate(const SamplingParams& params);

struct TokenProbability {
    int32_t id = 0;
    float probability = 0.0f;
};

class Sampler {
public:
    // params should have passed validate(); out-of-range values are treated as "off".
    explicit Sampler(const SamplingParams& params);
    // logits is modified in place. history holds the ids seen so far (prompt and output)
    // for the repetition penalty. Returns -1 only for an empty logits span.
    int32_t sample(std::span<float> logits, std::span<const int32_t> history);

    // The distribution sample() would draw from: surviving ids with renormalised probabilities,
    // most probable first (ties: lower id first). Greedy mode gives the argmax with probability 1.
    // logits is modified in place exactly as sample() would; the generator is not advanced.
    std::vector<TokenProbability> distribution(std::span<float> logits,
                                               std::span<const int32_t> history);

    const SamplingParams& params() const { return params_; }

    // Random numbers drawn so far, and a jump past as many: a paused answer resumes with the
    // generator where it stopped, so it continues as an uninterrupted run would.
    uint64_t draws() const { return draws_; }
    void skipDraws(uint64_t count) {
        rng_.discard(count);
        draws_ += count;
    }

private:
    bool greedy() const;
    void applyRepetitionPenalty(std::span<float> logits, std::span<const int32_t> history);
    void applyTemperature(std::span<float> logits) const;
    // Leaves the surviving (logit, id) pairs in scratch_ and returns their largest logit.
    // scratch_ is empty when every logit is -inf or NaN.
    float filterCandidates(std::span<const float> logits);
    double uniform01();

    SamplingParams params_;
    std::mt19937_64 rng_;
    uint64_t draws_ = 0;
    std::vector<std::pair<float, int32_t>> scratch_;
    std::vector<uint8_t> seen_;  // per-id marks for the penalty, cleared after each use
};

// Index of the largest logit, the lowest index on ties (as torch.argmax); NaN never wins.
// Returns -1 for an empty span.
int32_t greedyToken(std::span<const float> logits);

}  // namespace strata
