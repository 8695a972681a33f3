#pragma once
// Host entry points of the CUDA kernels. Pointers prefixed `d` are device memory; every call is
// asynchronous on `stream` and checks only its arguments and the launch itself. Each op has a
// CPU twin in engine/backend/cpu/CpuKernels.h that its test compares against.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

#include "backend/Ops.h"
#include "core/DType.h"
#include "core/Result.h"

namespace strata {

// dY[r, :] = dX[r, :] * rsqrt(mean(dX[r, :]^2) + eps) * (addOne ? 1 + w : w), fp32 activations,
// weight of `dim` elements stored as wType (F32, BF16 or F16). dY may alias dX.
Status cudaRmsNorm(const float* dX, int64_t rows, int64_t dim, const void* dW, DType wType, float eps,
                   bool addOne, float* dY, cudaStream_t stream);

// dY[r, :] = (dX[r, :] - mean) / sqrt(var + eps) * w + b over `dim` values per row, the weight
// and bias stored as wType. dY may alias dX.
Status cudaLayerNorm(const float* dX, int64_t rows, int64_t dim, const void* dW, const void* dB, DType wType,
                     float eps, float* dY, cudaStream_t stream);

// Rotates each head of dX [n, numHeads, headDim] in place at its position (dPositions: n int32).
// dInvFreq holds headDim/2 floats. Angles are float(pos) * invFreq in fp32 and cos/sin are taken
// in double, as the CPU backend does, so both agree to the last bit or two. headDim must be even.
Status cudaRope(float* dX, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* dPositions,
                const float* dInvFreq, RopeStyle style, cudaStream_t stream);

// dOut[i] = act(dGate[i]) * dUp[i]. dOut may alias either input.
Status cudaGatedActivation(const float* dGate, const float* dUp, int64_t count, Activation act, float* dOut,
                           cudaStream_t stream);

// dX[i] = act(dX[i]).
Status cudaActivate(float* dX, int64_t count, Activation act, cudaStream_t stream);
// dY[r, c] += widen(dW[r % wRows, c]) for rows x cols values of dY; the weight is wRows x cols of wType.
Status cudaAddWeightRows(float* dY, int64_t rows, const void* dW, DType wType, int64_t wRows, int64_t cols,
                         cudaStream_t stream);

// dY[i] += dX[i].
Status cudaAdd(float* dY, const float* dX, int64_t count, cudaStream_t stream);
// dX[i] *= factor.
Status cudaScale(float* dX, int64_t count, float factor, cudaStream_t stream);
// dX[i] = cap * tanh(dX[i] / cap); cap must be positive.
Status cudaSoftcap(float* dX, int64_t count, float cap, cudaStream_t stream);

// dOut[t, :] = widen(dTable[dIds[t], :]) * scale for t < n; the table is [rows, cols] of tableType
// (F32, BF16 or F16) and scale is 1 or sqrt(hidden) (scaleEmbeddings). The ids live on the device, so they
// cannot be validated here: the caller checks them on the host first. An id outside [0, rows)
// reads nothing and yields a row of zeros, never an out-of-bounds access.
Status cudaEmbeddingGather(const void* dTable, DType tableType, int64_t rows, int64_t cols, const int32_t* dIds,
                           int64_t n, float scale, float* dOut, cudaStream_t stream);

// The three attention steps of Ops on device memory (see there), mirroring cpu::attentionBegin,
// cpu::attentionAccumulate and cpu::attentionFinish.
//
// Begin: dState.acc [rows, headDim] = 0, dState.max [rows] = -inf, dState.sum [rows] = 0.
Status cudaAttentionBegin(const AttentionState& dState, int64_t rows, int64_t headDim, cudaStream_t stream);

// Merges into dState (rows n * numHeads) the keys of the segments that each query of dQ
// [n, numHeads, headDim] may see: key position <= the query's and, with a window, > query - window.
// `positions` (n int32) and `segments` are HOST arrays; the segments' k and v are device memory.
// Grouped-query heads, soft-capped scores and headDim up to 256. The host trims the segments to
// the keys some query can see and cuts the rest into splits when there are too few (token, KV
// head) pairs to fill the device; the split partials merge into the state, never replace it.
// Positions and segment descriptors are copied to stream-ordered scratch (cudaMallocAsync), so
// the host arrays may be reused as soon as the call returns.
Status cudaAttentionAccumulate(const float* dQ, int64_t n, const int32_t* positions,
                               std::span<const KvSegment> segments, const AttentionShape& shape,
                               const AttentionState& dState, cudaStream_t stream);

// The same with the number of key splits forced (1: each (token, KV head) block folds its keys
// straight into the state; more: the trimmed keys are cut into `splits` equal ranges whose
// partial softmax states a second kernel folds into the state). For tests and benchmarks.
Status cudaAttentionAccumulateSplitKv(const float* dQ, int64_t n, const int32_t* positions,
                                      std::span<const KvSegment> segments, const AttentionShape& shape,
                                      int64_t splits, const AttentionState& dState, cudaStream_t stream);

// dOut [rows, headDim] = acc / sum, zeros for a row whose sum is 0 (it saw no key). dOut may be
// dState.acc itself.
Status cudaAttentionFinish(const AttentionState& dState, int64_t rows, int64_t headDim, float* dOut,
                           cudaStream_t stream);

// Attention sinks (Ops::attentionSinks): merges one sink logit per head, dSinks[numHeads] stored
// as sinkType (F32, BF16 or F16), into the state of n * numHeads rows as a key with a zero value.
// A row that saw no key ends with max = its sink, sum = 1 and a zero accumulator.
Status cudaAttentionSinks(const AttentionState& dState, int64_t n, int64_t numHeads, int64_t headDim,
                          const void* dSinks, DType sinkType, cudaStream_t stream);

// The mixture-of-experts blocks of Ops, mirroring cpu::clampedSwiGlu, cpu::gatherRows and
// cpu::addScaledRows. The row indices and weights are HOST arrays, copied to stream-ordered
// scratch (cudaMallocAsync), so they may be reused as soon as the call returns. The calls check
// that indices are not negative; that they are below the row count of the matrix they index is
// the caller's to ensure. Outputs must not overlap inputs.
//
// dOut [n, width] = (clamp(up, -limit, limit) + 1) * g * sigmoid(alpha * g), g = min(gate, limit),
// with gate and up interleaved along the rows of dGateUp [n, 2 * width] (gate at even columns).
Status cudaClampedSwiGlu(const float* dGateUp, int64_t n, int64_t width, float alpha, float limit, float* dOut,
                         cudaStream_t stream);
// dDst[i, :] = dSrc[rows[i], :] over rows of `width` floats: bit-exact copies.
Status cudaGatherRows(const float* dSrc, int64_t width, std::span<const int32_t> rows, float* dDst,
                      cudaStream_t stream);
// dY[rows[i], :] += weights[i] * dSrc[i, :] in order of i: repeated rows take their terms one
// after the other, never concurrently, each product and sum rounded on its own as on the CPU
// (whose x86-64-v2 build has no fused multiply-add), so the two agree bit for bit.
Status cudaAddScaledRows(float* dY, int64_t width, const float* dSrc, std::span<const int32_t> rows,
                         std::span<const float> weights, cudaStream_t stream);

// dOut[r] = index of the largest element of row r of dLogits [rows, cols]: the lowest index on
// ties, NaN never wins, 0 when no element exceeds -inf, as greedyToken (sampling/Sampler.h).
Status cudaArgmax(const float* dLogits, int64_t rows, int64_t cols, int32_t* dOut, cudaStream_t stream);

}  // namespace strata
