#include "core/DType.h"

#include <algorithm>
#include <limits>

namespace strata {

void widenToFloat(const void* src, DType t, size_t n, float* dst) {
    switch (t) {
    case DType::F32:
        std::memcpy(dst, src, n * 4);
        return;
    case DType::BF16: {
        // A shift per element: the compiler vectorises this loop. The source may sit at any
        // offset of a checkpoint file (safetensors does not promise alignment): load by memcpy.
        const auto* s = static_cast<const unsigned char*>(src);
        uint32_t* d = reinterpret_cast<uint32_t*>(dst);
        for (size_t i = 0; i < n; ++i) {
            uint16_t v;
            std::memcpy(&v, s + 2 * i, 2);
            d[i] = uint32_t(v) << 16;
        }
        return;
    }
    case DType::F16: {
        const auto* s = static_cast<const unsigned char*>(src);
        for (size_t i = 0; i < n; ++i) {
            uint16_t v;
            std::memcpy(&v, s + 2 * i, 2);
            dst[i] = f16ToFloat(v);
        }
        return;
    }
    case DType::U8: {
        const auto* s = static_cast<const unsigned char*>(src);
        for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]);
        return;
    }
    case DType::MXFP4:
        // Its scales lie in another tensor: widenWeightRow (backend/cpu) reads both.
        std::fill_n(dst, n, std::numeric_limits<float>::quiet_NaN());
        return;
    case DType::Q8_0: {
        const auto* block = static_cast<const unsigned char*>(src);
        for (size_t b = 0; b < n / kQ8_0BlockElements; ++b, block += kQ8_0BlockBytes) {
            uint16_t scale;
            std::memcpy(&scale, block, 2);
            const float d = f16ToFloat(scale);
            const auto* q = reinterpret_cast<const int8_t*>(block + 2);
            float* y = dst + b * kQ8_0BlockElements;
            for (int64_t j = 0; j < kQ8_0BlockElements; ++j) y[j] = d * float(q[j]);
        }
        return;
    }
    }
}

}  // namespace strata
