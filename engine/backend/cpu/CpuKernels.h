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

// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * w + b over dim values per row. y may alias x.
void layerNorm(const float* x, int64_t rows, int64_t dim, const float* w, const float* b, float eps, float* y);

// Ops::bidirectionalAttention: per head, the scores Q K^T and the output P V as two products,
// with V transposed so that both go through sgemm.
void bidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads,
                            int64_t headDim, float* out);

void rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions, const float* invFreq,
          RopeStyle style);

// The three attention steps of Ops (see there).
void attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim);
void attentionAccumulate(const float* q, int64_t n, const int32_t* positions, std::span<const KvSegment> segments,
                         const AttentionShape& shape, const AttentionState& state);
void attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out);
// Ops::attentionSinks with the sinks as floats; acc, max and sum in host memory.
void attentionSinks(const AttentionState& state, int64_t n, int64_t numHeads, int64_t headDim, const float* sinks);

// The mixture-of-experts blocks of Ops (see there), on host memory.
void clampedSwiGlu(const float* gateUp, int64_t n, int64_t width, float alpha, float limit, float* out);
void gatherRows(const float* src, int64_t width, std::span<const int32_t> rows, float* dst);
void addScaledRows(float* y, int64_t width, const float* src, std::span<const int32_t> rows,
                   std::span<const float> weights);

// Row r of a stored weight widened to fp32 (w.cols values); not for input-major weights.
void widenWeightRow(const WeightRef& w, int64_t r, float* dst);

float geluTanh(float x);
float geluErf(float x);
float silu(float x);
float activation(float x, Activation act);

}  // namespace strata::cpu
