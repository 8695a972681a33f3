#include "arch/Rope.h"

#include <algorithm>
#include <cmath>

namespace strata {

std::vector<float> ropeInvFreq(int64_t headDim, double theta, const RopeScaling& scaling) {
    const int64_t half = headDim / 2;
    std::vector<float> inv(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
        // base ** (2i / d) in fp32, then 1 / that, as torch does.
        const float exponent = float(2 * i) / float(headDim);
        const float powered = std::pow(float(theta), exponent);
        inv[size_t(i)] = 1.0f / powered;
    }
    switch (scaling.type) {
    case RopeScalingType::None:
        break;
    case RopeScalingType::Linear:
        for (float& f : inv) f = f / float(scaling.factor);
        break;
    case RopeScalingType::Llama3: {
        const float pi = 3.14159265358979323846f;
        const float orig = float(scaling.originalMaxPositions);
        const float lowWavelen = orig / float(scaling.lowFreqFactor);
        const float highWavelen = orig / float(scaling.highFreqFactor);
        const float factor = float(scaling.factor);
        for (float& f : inv) {
            const float wavelen = 2.0f * pi / f;
            if (wavelen > lowWavelen) {
                f = f / factor;
            } else if (wavelen >= highWavelen) {
                const float smooth = (orig / wavelen - float(scaling.lowFreqFactor)) /
                                     float(scaling.highFreqFactor - scaling.lowFreqFactor);
                f = (1.0f - smooth) * f / factor + smooth * f;
            }
        }
        break;
    }
    case RopeScalingType::Yarn: {
        // transformers' _compute_yarn_parameters: frequencies below the ramp are interpolated
        // (divided by factor), those above it kept; torch's float32 arithmetic, the bounds in double.
        const double dim = double(headDim);
        auto correctionDim = [&](double rotations) {
            return dim * std::log(double(scaling.originalMaxPositions) / (rotations * 2 * M_PI)) /
                   (2 * std::log(theta));
        };
        double low = correctionDim(scaling.betaFast), high = correctionDim(scaling.betaSlow);
        if (scaling.truncate) low = std::floor(low), high = std::ceil(high);
        low = std::max(low, 0.0);
        high = std::min(high, dim - 1);
        if (low == high) high += 0.001;
        const float factor = float(scaling.factor);
        for (int64_t i = 0; i < half; ++i) {
            const float posFreq = std::pow(float(theta), float(2 * i) / float(headDim));
            const float extrapolated = inv[size_t(i)];  // 1 / posFreq
            const float interpolated = 1.0f / (factor * posFreq);
            const float ramp = std::clamp((float(i) - float(low)) / float(high - low), 0.0f, 1.0f);
            const float keep = 1.0f - ramp;
            inv[size_t(i)] = interpolated * (1.0f - keep) + extrapolated * keep;
        }
        break;
    }
    }
    return inv;
}

}  // namespace strata
