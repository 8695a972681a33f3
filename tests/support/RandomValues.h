#pragma once
// Reproducible normally distributed test inputs.
#include <cstdint>
#include <random>
#include <vector>

namespace strata::testsupport {

inline std::vector<float> randomVector(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

}  // namespace strata::testsupport
