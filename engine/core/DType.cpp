#include "core/DType.h"

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
    }
}

}  // namespace strata
