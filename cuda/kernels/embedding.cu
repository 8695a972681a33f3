// Token embedding lookup: one block per token, the row widened from its stored type. Ids come
// from device memory and cannot be checked by the host function, so the kernel bounds them
// itself and writes zeros for a bad one rather than reading past the table.
#include <cuda_fp16.h>

#include <algorithm>
#include <limits>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"
#include "WeightLoad.cuh"

namespace strata {
namespace {

template <typename Load>
__global__ void gatherKernel(const void* __restrict__ table, int64_t rows, int cols, const int32_t* __restrict__ ids,
                             float scale, float* __restrict__ out) {
    const int64_t t = blockIdx.x;
    const int32_t id = ids[t];
    float* dst = out + t * cols;
    if (id < 0 || id >= rows) {
        for (int c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = 0.0f;
        return;
    }
    const int64_t base = int64_t(id) * cols;
    const Load load;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = load(table, base + c) * scale;
}

template <typename Load>
void launch(const void* dTable, int64_t rows, int64_t cols, const int32_t* dIds, int64_t n, float scale, float* dOut,
            cudaStream_t stream) {
    const unsigned threads = unsigned(std::clamp<int64_t>((cols + 31) / 32 * 32, 32, 256));
    gatherKernel<Load><<<unsigned(n), threads, 0, stream>>>(dTable, rows, int(cols), dIds, scale, dOut);
}

}  // namespace

Status cudaEmbeddingGather(const void* dTable, DType tableType, int64_t rows, int64_t cols, const int32_t* dIds,
                           int64_t n, float scale, float* dOut, cudaStream_t stream) {
    if (rows <= 0) return badInput("cudaEmbeddingGather: table row count " + std::to_string(rows) + " is not positive");
    if (cols <= 0 || cols > std::numeric_limits<int32_t>::max())
        return badInput("cudaEmbeddingGather: column count " + std::to_string(cols) + " is out of range");
    if (n < 0 || n > std::numeric_limits<int32_t>::max())
        return badInput("cudaEmbeddingGather: token count " + std::to_string(n) + " is out of range");
    if (n == 0) return Status::success();
    if (!dTable || !dIds || !dOut) return badInput("cudaEmbeddingGather: null table, id or output pointer");
    switch (tableType) {
    case DType::F32: launch<LoadF32>(dTable, rows, cols, dIds, n, scale, dOut, stream); break;
    case DType::BF16: launch<LoadBF16>(dTable, rows, cols, dIds, n, scale, dOut, stream); break;
    case DType::F16: launch<LoadF16>(dTable, rows, cols, dIds, n, scale, dOut, stream); break;
    default: return badInput("cudaEmbeddingGather: unsupported table type");
    }
    return cudaStatus(cudaGetLastError(), "cudaEmbeddingGather launch");
}

}  // namespace strata
