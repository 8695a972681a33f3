#pragma once
// Plain fp32 kernels of the CPU backend, on host memory. They are the reference that the CUDA
// kernels are tested against, so they favour clarity over tricks.
#include <cstdint>

namespace strata::cpu {

// y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * (addOne ? 1 + w : w). y may alias x.
void rmsNorm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, bool addOne, float* y);

}  // namespace strata::cpu
