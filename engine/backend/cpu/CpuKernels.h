#pragma once
// Plain fp32 kernels of the CPU backend, on host memory. They are the reference that the CUDA
// kernels are tested against, so they favour clarity over tricks.
#include <cstdint>
#include <span>

#include "backend/Ops.h"

namespace strata::cpu {

// y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * (addOne ? 1 + w : w). y may alias x.
void rmsNorm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, bool addOne, float* y);

// y[n, w.rows] = x[n, w.cols] * w^T for any stored weight type.
void matmul(const float* x, int64_t n, const WeightRef& w, float* y);

void rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions, const float* invFreq,
          RopeStyle style);

// The three attention steps of Ops (see there).
void attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim);
void attentionAccumulate(const float* q, int64_t n, const int32_t* positions, std::span<const KvSegment> segments,
                         const AttentionShape& shape, const AttentionState& state);
void attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out);

float geluTanh(float x);
float silu(float x);

}  // namespace strata::cpu
