#pragma once
// Next-token choice from logits: greedy, temperature, top-k, top-p, min-p, repetition penalty,
// with a seeded generator so that a run can be repeated.
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

struct SamplingParams {
    float temperature = 0.0f;        // 0: greedy
    int topK = 0;                    // 0: off
    float topP = 1.0f;               // 1: off
    float minP = 0.0f;               // 0: off
    float repetitionPenalty = 1.0f;  // 1: off; as HF: divide positive logits, multiply negative
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& params);
    // logits is modified in place. history holds the ids seen so far (prompt and output)
    // for the repetition penalty.
    int32_t sample(std::span<float> logits, std::span<const int32_t> history);

private:
    SamplingParams params_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, int32_t>> scratch_;
};

// Watches the decoded output for stop strings, holding back text that could still become one.
class StopStringMatcher {
public:
    explicit StopStringMatcher(std::vector<std::string> stops);
    // Appends newly decoded text. Returns the text safe to show now. Sets stopped() when a
    // stop string appears; the stop string and anything after it are never returned.
    std::string push(std::string_view text);
    std::string flush();  // at the end of generation: the held-back text
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
};

}  // namespace strata
