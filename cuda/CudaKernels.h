#pragma once
// Host entry points of the CUDA kernels. Pointers prefixed `d` are device memory; every call is
// asynchronous on `stream` and checks only its arguments and the launch itself. Each op has a
// CPU twin in engine/backend/cpu/CpuKernels.h that its test compares against.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/DType.h"
#include "core/Result.h"

namespace strata {

// dY[r, :] = dX[r, :] * rsqrt(mean(dX[r, :]^2) + eps) * (addOne ? 1 + w : w), fp32 activations,
// weight of `dim` elements stored as wType (F32, BF16 or F16). dY may alias dX.
Status cudaRmsNorm(const float* dX, int64_t rows, int64_t dim, const void* dW, DType wType, float eps,
                   bool addOne, float* dY, cudaStream_t stream);

}  // namespace strata
