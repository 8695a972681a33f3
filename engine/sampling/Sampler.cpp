#include "sampling/Sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace strata {

namespace {

// Descending logit, lower id first on ties, so that every partial order we build is deterministic.
bool before(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// Top-p needs the most probable tokens in order, but usually only a few hundred of them: sorting a
// growing prefix avoids sorting a 262k-entry vocabulary on every token.
constexpr size_t kFirstTopPPrefix = 64;
constexpr size_t kTopPPrefixGrowth = 8;

}  // namespace

std::optional<std::string> validate(const SamplingParams& p) {
    if (!(p.temperature >= 0.0f) || std::isinf(p.temperature))
        return "temperature must be a finite number >= 0 (0 means greedy), got " +
               std::to_string(p.temperature);
    if (p.topK < 0)
        return "top-k must be >= 0 (0 turns it off), got " + std::to_string(p.topK);
    if (!(p.topP > 0.0f && p.topP <= 1.0f))
        return "top-p must be in (0, 1] (1 turns it off), got " + std::to_string(p.topP);
    if (!(p.minP >= 0.0f && p.minP < 1.0f))
        return "min-p must be in [0, 1) (0 turns it off), got " + std::to_string(p.minP);
    if (!(p.repetitionPenalty > 0.0f) || std::isinf(p.repetitionPenalty))
        return "repetition penalty must be a finite number > 0 (1 turns it off), got " +
               std::to_string(p.repetitionPenalty);
    return std::nullopt;
}

int32_t greedyToken(std::span<const float> logits) {
    if (logits.empty())
        return -1;
    int32_t best = 0;
    float bestValue = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < logits.size(); ++i) {
        if (logits[i] > bestValue) {  // strict: the first of equal maxima wins; NaN never compares
            bestValue = logits[i];
            best = static_cast<int32_t>(i);
        }
    }
    return best;
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

bool Sampler::greedy() const {
    // A NaN or negative temperature would poison every probability; greedy is the safe reading.
    return !(params_.temperature > 0.0f);
}

void Sampler::applyRepetitionPenalty(std::span<float> logits, std::span<const int32_t> history) {
    const float penalty = params_.repetitionPenalty;
    if (penalty == 1.0f || !(penalty > 0.0f) || history.empty())
        return;
    // An id repeated in the history is penalised once, as in transformers (gather then scatter).
    if (seen_.size() < logits.size())
        seen_.resize(logits.size(), 0);
    for (int32_t id : history) {
        if (id < 0 || static_cast<size_t>(id) >= logits.size() || seen_[id])
            continue;
        seen_[id] = 1;
        float& l = logits[id];
        l = l < 0.0f ? l * penalty : l / penalty;
    }
    for (int32_t id : history)
        if (id >= 0 && static_cast<size_t>(id) < logits.size())
            seen_[id] = 0;
}

void Sampler::applyTemperature(std::span<float> logits) const {
    const float t = params_.temperature;
    if (t == 1.0f)
        return;
    // Division, not multiplication by 1/t, to give the same floats as transformers.
    for (float& l : logits)
        l /= t;
}

float Sampler::filterCandidates(std::span<const float> logits) {
    scratch_.clear();
    scratch_.reserve(logits.size());
    float maxLogit = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < logits.size(); ++i) {
        const float l = logits[i];
        if (!(l > -std::numeric_limits<float>::infinity()))
            continue;  // -inf (masked) or NaN: probability 0
        scratch_.emplace_back(l, static_cast<int32_t>(i));
        maxLogit = std::max(maxLogit, l);
    }
    if (scratch_.empty())
        return maxLogit;

    const size_t k = static_cast<size_t>(std::max(params_.topK, 0));
    if (k > 0 && k < scratch_.size()) {
        std::nth_element(scratch_.begin(), scratch_.begin() + (k - 1), scratch_.end(), before);
        const float kth = scratch_[k - 1].first;
        // transformers removes only logits below the k-th value, so ties with it survive.
        auto tail = std::partition(scratch_.begin() + k, scratch_.end(),
                                   [kth](const auto& c) { return c.first >= kth; });
        scratch_.erase(tail, scratch_.end());
    }

    const bool topP = params_.topP > 0.0f && params_.topP < 1.0f;
    const bool minP = params_.minP > 0.0f && params_.minP < 1.0f;
    // Top-p measures mass against the distribution after top-k, before min-p has removed anything.
    double total = 0.0;
    if (topP)
        for (const auto& c : scratch_)
            total += std::exp(double(c.first) - maxLogit);

    if (minP) {
        // p / p_max = exp(l - l_max), so the normalisation does not matter. Min-p and top-p both
        // keep a most-probable prefix, so applying min-p first yields the same intersection.
        // Compared in log space to spare an exp per token.
        const double minLogGap = std::log(double(params_.minP));
        auto end = std::remove_if(scratch_.begin(), scratch_.end(), [&](const auto& c) {
            return double(c.first) - maxLogit < minLogGap;
        });
        scratch_.erase(end, scratch_.end());
    }

    if (topP) {
        // Keep a token when the mass of the tokens before it is still short of top_p: the
        // smallest prefix reaching top_p, and always the most probable token.
        const double target = double(params_.topP) * total;
        size_t prefix = std::min(scratch_.size(), kFirstTopPPrefix);
        for (;;) {
            std::partial_sort(scratch_.begin(), scratch_.begin() + prefix, scratch_.end(), before);
            double mass = 0.0;
            size_t j = 0;
            for (; j < prefix; ++j) {
                if (mass >= target)
                    break;
                mass += std::exp(double(scratch_[j].first) - maxLogit);
            }
            if (j < prefix || mass >= target) {
                scratch_.resize(j);
                break;
            }
            if (prefix == scratch_.size())
                break;  // everything is needed to reach top_p
            prefix = std::min(scratch_.size(), prefix * kTopPPrefixGrowth);
        }
    }
    return maxLogit;
}

double Sampler::uniform01() {
    // 53 random bits: the same doubles on every standard library, unlike uniform_real_distribution.
    ++draws_;
    return double(rng_() >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
    if (logits.empty())
        return -1;
    applyRepetitionPenalty(logits, history);
    if (greedy())
        return greedyToken(logits);
    applyTemperature(logits);
    const float maxLogit = filterCandidates(logits);
    if (scratch_.empty())
        return greedyToken(logits);
    if (scratch_.size() == 1)
        return scratch_[0].second;

    double total = 0.0;
    for (const auto& c : scratch_)
        total += std::exp(double(c.first) - maxLogit);
    const double target = uniform01() * total;
    double mass = 0.0;
    for (const auto& c : scratch_) {
        mass += std::exp(double(c.first) - maxLogit);
        if (target < mass)
            return c.second;
    }
    return scratch_.back().second;  // rounding left target at the very top
}

std::vector<TokenProbability> Sampler::distribution(std::span<float> logits,
                                                    std::span<const int32_t> history) {
    if (logits.empty())
        return {};
    applyRepetitionPenalty(logits, history);
    if (greedy())
        return {{greedyToken(logits), 1.0f}};
    applyTemperature(logits);
    const float maxLogit = filterCandidates(logits);
    if (scratch_.empty())
        return {{greedyToken(logits), 1.0f}};

    std::sort(scratch_.begin(), scratch_.end(), before);
    std::vector<double> weights(scratch_.size());
    double total = 0.0;
    for (size_t i = 0; i < scratch_.size(); ++i)
        total += weights[i] = std::exp(double(scratch_[i].first) - maxLogit);
    std::vector<TokenProbability> out(scratch_.size());
    for (size_t i = 0; i < scratch_.size(); ++i)
        out[i] = {scratch_[i].second, float(weights[i] / total)};
    return out;
}

}  // namespace strata
