#include "model/Rope.h"

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
    }
    return inv;
}

}  // namespace strata
