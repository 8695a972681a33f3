#pragma once
// Host entry points of the CUDA kernels. Pointers prefixed `d` are device memory; every call is
// asynchronous on `stream` and checks only its arguments and the launch itself. Each op has a
// CPU twin in engine/backend/cpu/CpuKernels.h that its test compares against.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "backend/Ops.h"
#include "core/DType.h"
#include "core/Result.h"

namespace strata {

// dY[r, :] = dX[r, :] * rsqrt(mean(dX[r, :]^2) + eps) * (addOne ? 1 + w : w), fp32 activations,
// weight of `dim` elements stored as wType (F32, BF16 or F16). dY may alias dX.
Status cudaRmsNorm(const float* dX, int64_t rows, int64_t dim, const void* dW, DType wType, float eps,
                   bool addOne, float* dY, cudaStream_t stream);

// Rotates each head of dX [n, numHeads, headDim] in place at its position (dPositions: n int32).
// dInvFreq holds headDim/2 floats. Angles are float(pos) * invFreq in fp32 and cos/sin are taken
// in double, as the CPU backend does, so both agree to the last bit or two. headDim must be even.
Status cudaRope(float* dX, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* dPositions,
                const float* dInvFreq, RopeStyle style, cudaStream_t stream);

// dOut[i] = act(dGate[i]) * dUp[i]. dOut may alias either input.
Status cudaGatedActivation(const float* dGate, const float* dUp, int64_t count, Activation act, float* dOut,
                           cudaStream_t stream);

// dY[i] += dX[i].
Status cudaAdd(float* dY, const float* dX, int64_t count, cudaStream_t stream);
// dX[i] *= factor.
Status cudaScale(float* dX, int64_t count, float factor, cudaStream_t stream);
// dX[i] = cap * tanh(dX[i] / cap); cap must be positive.
Status cudaSoftcap(float* dX, int64_t count, float cap, cudaStream_t stream);

// dOut[t, :] = widen(dTable[dIds[t], :]) * scale for t < n; the table is [rows, cols] of tableType
// (F32, BF16 or F16) and scale is 1 or Gemma's sqrt(hidden). The ids live on the device, so they
// cannot be validated here: the caller checks them on the host first. An id outside [0, rows)
// reads nothing and yields a row of zeros, never an out-of-bounds access.
Status cudaEmbeddingGather(const void* dTable, DType tableType, int64_t rows, int64_t cols, const int32_t* dIds,
                           int64_t n, float scale, float* dOut, cudaStream_t stream);

// Stores dK, dV [n, rowFloats] at the given positions of the layer's cache (kv.k, kv.v are device
// memory of kv.capacity rows of rowFloats). A position outside [0, capacity) is skipped; the caller
// validates positions on the host, this only keeps a bad one from writing out of bounds.
Status cudaWriteKv(const KvLayerView& kv, const float* dK, const float* dV, int64_t n, int64_t rowFloats,
                   const int32_t* dPositions, cudaStream_t stream);

// Causal attention of dQ [n, numHeads, headDim] at dPositions against the cache holding every
// position <= each query's own; dOut [n, numHeads, headDim] (must not alias dQ). Grouped-query
// heads, sliding window, soft-capped scores and online softmax as cpu::attention. headDim is at
// most 256. A query whose position lies outside [0, kv.capacity) gets zeros. Picks the split-KV
// decode path by itself when there are too few (token, KV head) pairs to fill the device.
Status cudaAttention(const float* dQ, int64_t n, const int32_t* dPositions, const KvLayerView& kv,
                     const AttentionShape& shape, float* dOut, cudaStream_t stream);

// The same with the number of key splits forced (1: one pass per query; more: each query's key
// range cut into `splits` chunks whose partial softmax states a second kernel combines). The
// partials live in stream-ordered scratch (cudaMallocAsync). For tests and benchmarks.
Status cudaAttentionSplitKv(const float* dQ, int64_t n, const int32_t* dPositions, const KvLayerView& kv,
                            const AttentionShape& shape, int64_t splits, float* dOut, cudaStream_t stream);

// dOut[r] = index of the largest element of row r of dLogits [rows, cols]: the lowest index on
// ties, NaN never wins, 0 when no element exceeds -inf, as greedyToken (sampling/Sampler.h).
Status cudaArgmax(const float* dLogits, int64_t rows, int64_t cols, int32_t* dOut, cudaStream_t stream);

}  // namespace strata
