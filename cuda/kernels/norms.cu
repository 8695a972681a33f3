// RMSNorm and LayerNorm: one block per row. A row is read more than once (the sums, then the
// scaling); the later reads usually hit L2, which is cheaper than staging a 16 KiB row in shared
// memory.
#include <cuda_fp16.h>

#include <limits>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"
#include "WeightLoad.cuh"

namespace strata {
namespace {

constexpr int kWarp = 32;

__device__ __forceinline__ float warpSum(float v) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// The sum of v over the block, returned to every thread. `partial` is the block's shared scratch
// of kWarp floats; the call ends with a __syncthreads, so it can be used again at once.
__device__ __forceinline__ float blockSum(float v, float* partial) {
    v = warpSum(v);
    const int lane = threadIdx.x % kWarp;
    const int warp = threadIdx.x / kWarp;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        const int warps = (blockDim.x + kWarp - 1) / kWarp;
        v = warpSum(lane < warps ? partial[lane] : 0.0f);
        if (lane == 0) partial[kWarp - 1] = v;
    }
    __syncthreads();
    v = partial[kWarp - 1];
    __syncthreads();
    return v;
}

// x and y are not __restrict__: in-place use is allowed, and safe because every read of the row
// for the sums happens before the __syncthreads that precedes the first write.
template <typename Load, bool AddOne>
__global__ void rmsNormKernel(const float* x, int dim, const void* __restrict__ w, float eps, float* y) {
    const int64_t row = blockIdx.x;
    const float* xr = x + row * dim;
    float* yr = y + row * dim;
    __shared__ float partial[kWarp];

    float sum = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float v = xr[i];
        sum += v * v;
    }
    sum = blockSum(sum, partial);

    // Same formula and rounding order as the CPU reference: 1 / sqrt, not rsqrtf (2 ulp).
    const float inv = 1.0f / sqrtf(sum / float(dim) + eps);
    const Load load;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float wi = load(w, i);
        const float scale = AddOne ? 1.0f + wi : wi;
        yr[i] = xr[i] * inv * scale;
    }
}

// Mean, then the variance about it (two passes, as the CPU reference), then (x - mean) * inv * w + b.
template <typename Load>
__global__ void layerNormKernel(const float* x, int dim, const void* __restrict__ w, const void* __restrict__ b,
                                float eps, float* y) {
    const int64_t row = blockIdx.x;
    const float* xr = x + row * dim;
    float* yr = y + row * dim;
    __shared__ float partial[kWarp];

    float sum = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i];
    const float mean = blockSum(sum, partial) / float(dim);
    float squares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float d = xr[i] - mean;
        squares += d * d;
    }
    const float inv = 1.0f / sqrtf(blockSum(squares, partial) / float(dim) + eps);
    const Load load;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = (xr[i] - mean) * inv * load(w, i) + load(b, i);
}

// About four elements per thread keeps enough loads in flight without idle warps on short rows.
int threadsFor(int64_t dim) {
    int64_t threads = (dim + 3) / 4;
    threads = (threads + kWarp - 1) / kWarp * kWarp;
    if (threads < kWarp) threads = kWarp;
    if (threads > 1024) threads = 1024;
    return int(threads);
}

template <typename Load>
void launch(const float* dX, int64_t rows, int64_t dim, const void* dW, float eps, bool addOne, float* dY,
            cudaStream_t stream) {
    const dim3 grid{unsigned(rows)};
    const dim3 block{unsigned(threadsFor(dim))};
    if (addOne)
        rmsNormKernel<Load, true><<<grid, block, 0, stream>>>(dX, int(dim), dW, eps, dY);
    else
        rmsNormKernel<Load, false><<<grid, block, 0, stream>>>(dX, int(dim), dW, eps, dY);
}

Status checkRows(const char* op, int64_t rows, int64_t dim) {
    if (rows < 0 || rows > std::numeric_limits<int32_t>::max())
        return badInput(std::string(op) + ": row count " + std::to_string(rows) + " is out of range");
    if (dim <= 0 || dim > std::numeric_limits<int32_t>::max())
        return badInput(std::string(op) + ": dimension " + std::to_string(dim) + " is out of range");
    return Status::success();
}

}  // namespace

Status cudaRmsNorm(const float* dX, int64_t rows, int64_t dim, const void* dW, DType wType, float eps,
                   bool addOne, float* dY, cudaStream_t stream) {
    STRATA_TRY(checkRows("cudaRmsNorm", rows, dim));
    if (rows == 0) return Status::success();
    if (!dX || !dW || !dY) return badInput("cudaRmsNorm: null input, weight or output pointer");

    switch (wType) {
    case DType::F32: launch<LoadF32>(dX, rows, dim, dW, eps, addOne, dY, stream); break;
    case DType::BF16: launch<LoadBF16>(dX, rows, dim, dW, eps, addOne, dY, stream); break;
    case DType::F16: launch<LoadF16>(dX, rows, dim, dW, eps, addOne, dY, stream); break;
    default: return badInput("cudaRmsNorm: unsupported weight type");
    }
    return cudaStatus(cudaGetLastError(), "cudaRmsNorm launch");
}

Status cudaLayerNorm(const float* dX, int64_t rows, int64_t dim, const void* dW, const void* dB, DType wType,
                     float eps, float* dY, cudaStream_t stream) {
    STRATA_TRY(checkRows("cudaLayerNorm", rows, dim));
    if (rows == 0) return Status::success();
    if (!dX || !dW || !dB || !dY) return badInput("cudaLayerNorm: null input, weight, bias or output pointer");
    const dim3 grid{unsigned(rows)};
    const dim3 block{unsigned(threadsFor(dim))};
    switch (wType) {
    case DType::F32: layerNormKernel<LoadF32><<<grid, block, 0, stream>>>(dX, int(dim), dW, dB, eps, dY); break;
    case DType::BF16: layerNormKernel<LoadBF16><<<grid, block, 0, stream>>>(dX, int(dim), dW, dB, eps, dY); break;
    case DType::F16: layerNormKernel<LoadF16><<<grid, block, 0, stream>>>(dX, int(dim), dW, dB, eps, dY); break;
    default: return badInput("cudaLayerNorm: unsupported weight type");
    }
    return cudaStatus(cudaGetLastError(), "cudaLayerNorm launch");
}

}  // namespace strata
