// Element-wise ops on fp32 activations: grid-stride loops, memory-bound, nothing clever. The
// transcendentals are the accurate expf / tanhf, not the __ intrinsics, so that results stay within
// a few ulp of the CPU's std::exp / std::tanh.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"
#include "WeightLoad.cuh"

namespace strata {
namespace {

constexpr int kThreads = 256;

// Enough blocks to fill any current GPU several times over; the loops cover the rest.
unsigned blocksFor(int64_t count) { return unsigned(std::min<int64_t>((count + kThreads - 1) / kThreads, 8192)); }

__device__ __forceinline__ float siluOf(float x) { return x / (1.0f + expf(-x)); }

__device__ __forceinline__ float geluTanhOf(float x) {
    const float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

__device__ __forceinline__ float geluErfOf(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

template <Activation Act>
__device__ __forceinline__ float activationOf(float x) {
    if constexpr (Act == Activation::SiLU) return siluOf(x);
    else if constexpr (Act == Activation::GeluTanh) return geluTanhOf(x);
    else return geluErfOf(x);
}

template <Activation Act>
__global__ void gatedKernel(const float* gate, const float* up, int64_t count, float* out) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = activationOf<Act>(gate[i]) * up[i];
}

template <Activation Act>
__global__ void activateKernel(float* x, int64_t count) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        x[i] = activationOf<Act>(x[i]);
}

template <typename Load>
__global__ void addWeightRowsKernel(float* y, int64_t count, const void* __restrict__ w, int64_t wCount) {
    const Load load;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        y[i] += load(w, i % wCount);
}

__global__ void addKernel(float* y, const float* x, int64_t count) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        y[i] += x[i];
}

__global__ void scaleKernel(float* x, int64_t count, float factor) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        x[i] *= factor;
}

__global__ void softcapKernel(float* x, int64_t count, float cap) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        x[i] = cap * tanhf(x[i] / cap);
}

Status checkCount(const char* op, int64_t count) {
    if (count < 0) return badInput(std::string(op) + ": element count " + std::to_string(count) + " is negative");
    return Status::success();
}

}  // namespace

Status cudaGatedActivation(const float* dGate, const float* dUp, int64_t count, Activation act, float* dOut,
                           cudaStream_t stream) {
    STRATA_TRY(checkCount("cudaGatedActivation", count));
    if (count == 0) return Status::success();
    if (!dGate || !dUp || !dOut) return badInput("cudaGatedActivation: null gate, up or output pointer");
    const unsigned blocks = blocksFor(count);
    switch (act) {
    case Activation::SiLU: gatedKernel<Activation::SiLU><<<blocks, kThreads, 0, stream>>>(dGate, dUp, count, dOut); break;
    case Activation::GeluTanh:
        gatedKernel<Activation::GeluTanh><<<blocks, kThreads, 0, stream>>>(dGate, dUp, count, dOut);
        break;
    case Activation::GeluErf:
        gatedKernel<Activation::GeluErf><<<blocks, kThreads, 0, stream>>>(dGate, dUp, count, dOut);
        break;
    default: return badInput("cudaGatedActivation: unknown activation");
    }
    return cudaStatus(cudaGetLastError(), "cudaGatedActivation launch");
}

Status cudaActivate(float* dX, int64_t count, Activation act, cudaStream_t stream) {
    STRATA_TRY(checkCount("cudaActivate", count));
    if (count == 0) return Status::success();
    if (!dX) return badInput("cudaActivate: null pointer");
    const unsigned blocks = blocksFor(count);
    switch (act) {
    case Activation::SiLU: activateKernel<Activation::SiLU><<<blocks, kThreads, 0, stream>>>(dX, count); break;
    case Activation::GeluTanh: activateKernel<Activation::GeluTanh><<<blocks, kThreads, 0, stream>>>(dX, count); break;
    case Activation::GeluErf: activateKernel<Activation::GeluErf><<<blocks, kThreads, 0, stream>>>(dX, count); break;
    default: return badInput("cudaActivate: unknown activation");
    }
    return cudaStatus(cudaGetLastError(), "cudaActivate launch");
}

Status cudaAddWeightRows(float* dY, int64_t rows, const void* dW, DType wType, int64_t wRows, int64_t cols,
                         cudaStream_t stream) {
    if (rows < 0 || wRows <= 0 || cols <= 0)
        return badInput("cudaAddWeightRows: " + std::to_string(rows) + " rows over a weight of " +
                        std::to_string(wRows) + " x " + std::to_string(cols));
    if (rows == 0) return Status::success();
    if (!dY || !dW) return badInput("cudaAddWeightRows: null pointer");
    const int64_t count = rows * cols, wCount = wRows * cols;
    const unsigned blocks = blocksFor(count);
    switch (wType) {
    case DType::F32: addWeightRowsKernel<LoadF32><<<blocks, kThreads, 0, stream>>>(dY, count, dW, wCount); break;
    case DType::BF16: addWeightRowsKernel<LoadBF16><<<blocks, kThreads, 0, stream>>>(dY, count, dW, wCount); break;
    case DType::F16: addWeightRowsKernel<LoadF16><<<blocks, kThreads, 0, stream>>>(dY, count, dW, wCount); break;
    default: return badInput("cudaAddWeightRows: unsupported weight type");
    }
    return cudaStatus(cudaGetLastError(), "cudaAddWeightRows launch");
}

Status cudaAdd(float* dY, const float* dX, int64_t count, cudaStream_t stream) {
    STRATA_TRY(checkCount("cudaAdd", count));
    if (count == 0) return Status::success();
    if (!dY || !dX) return badInput("cudaAdd: null pointer");
    addKernel<<<blocksFor(count), kThreads, 0, stream>>>(dY, dX, count);
    return cudaStatus(cudaGetLastError(), "cudaAdd launch");
}

Status cudaScale(float* dX, int64_t count, float factor, cudaStream_t stream) {
    STRATA_TRY(checkCount("cudaScale", count));
    if (count == 0) return Status::success();
    if (!dX) return badInput("cudaScale: null pointer");
    scaleKernel<<<blocksFor(count), kThreads, 0, stream>>>(dX, count, factor);
    return cudaStatus(cudaGetLastError(), "cudaScale launch");
}

Status cudaSoftcap(float* dX, int64_t count, float cap, cudaStream_t stream) {
    STRATA_TRY(checkCount("cudaSoftcap", count));
    if (!(cap > 0.0f) || !std::isfinite(cap))
        return badInput("cudaSoftcap: cap " + std::to_string(cap) + " must be a positive number");
    if (count == 0) return Status::success();
    if (!dX) return badInput("cudaSoftcap: null pointer");
    softcapKernel<<<blocksFor(count), kThreads, 0, stream>>>(dX, count, cap);
    return cudaStatus(cudaGetLastError(), "cudaSoftcap launch");
}

}  // namespace strata
