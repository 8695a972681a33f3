#include "core/DType.h"

namespace strata {

void widenToFloat(const void* src, DType t, size_t n, float* dst) {
    switch (t) {
    case DType::F32:
        std::memcpy(dst, src, n * 4);
        return;
    case DType::BF16: {
        // A shift per element: the compiler vectorises this loop.
        const uint16_t* s = static_cast<const uint16_t*>(src);
        uint32_t* d = reinterpret_cast<uint32_t*>(dst);
        for (size_t i = 0; i < n; ++i) d[i] = uint32_t(s[i]) << 16;
        return;
    }
    case DType::F16: {
        const uint16_t* s = static_cast<const uint16_t*>(src);
        for (size_t i = 0; i < n; ++i) dst[i] = f16ToFloat(s[i]);
        return;
    }
    }
}

}  // namespace strata
