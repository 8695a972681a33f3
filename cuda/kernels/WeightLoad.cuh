#pragma once
// Element loaders for weights stored as F32, BF16 or F16, for kernels templated on the stored
// type. bf16 is the high half of an fp32, so widening it is a shift (exact, as on the CPU).
#include <cuda_fp16.h>

#include <cstdint>

namespace strata {

struct LoadF32 {
    __device__ __forceinline__ float operator()(const void* w, int64_t i) const {
        return static_cast<const float*>(w)[i];
    }
};
struct LoadBF16 {
    __device__ __forceinline__ float operator()(const void* w, int64_t i) const {
        return __uint_as_float(uint32_t(static_cast<const uint16_t*>(w)[i]) << 16);
    }
};
struct LoadF16 {
    __device__ __forceinline__ float operator()(const void* w, int64_t i) const {
        return __half2float(static_cast<const __half*>(w)[i]);
    }
};

}  // namespace strata
