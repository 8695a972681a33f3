#pragma once
// Log-probabilities of a row of logits, in double, as the perplexity references compute them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace strata::testsupport {

inline std::vector<double> logSoftmax(const float* row, int64_t vocab) {
    const double top = *std::max_element(row, row + vocab);
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - top);
    std::vector<double> out(static_cast<size_t>(vocab));
    for (int64_t v = 0; v < vocab; ++v) out[size_t(v)] = double(row[v]) - top - std::log(sum);
    return out;
}

inline int32_t argmax(const float* row, int64_t vocab) {
    return int32_t(std::max_element(row, row + vocab) - row);
}

}  // namespace strata::testsupport
