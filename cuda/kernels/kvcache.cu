// KV cache write: one block per token copies its K and V rows to the cache rows of its position.
// Positions are device data, so the kernel bounds them itself and skips a bad one.
#include <algorithm>
#include <limits>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"

namespace strata {
namespace {

__global__ void writeKvKernel(float* __restrict__ cacheK, float* __restrict__ cacheV, int64_t capacity,
                              const float* __restrict__ k, const float* __restrict__ v, int rowFloats,
                              const int32_t* __restrict__ positions) {
    const int64_t t = blockIdx.x;
    const int32_t pos = positions[t];
    if (pos < 0 || pos >= capacity) return;
    const int64_t src = t * rowFloats;
    const int64_t dst = int64_t(pos) * rowFloats;
    for (int i = threadIdx.x; i < rowFloats; i += blockDim.x) {
        cacheK[dst + i] = k[src + i];
        cacheV[dst + i] = v[src + i];
    }
}

}  // namespace

Status cudaWriteKv(const KvLayerView& kv, const float* dK, const float* dV, int64_t n, int64_t rowFloats,
                   const int32_t* dPositions, cudaStream_t stream) {
    if (n < 0 || n > std::numeric_limits<int32_t>::max())
        return badInput("cudaWriteKv: token count " + std::to_string(n) + " is out of range");
    if (rowFloats <= 0 || rowFloats > std::numeric_limits<int32_t>::max())
        return badInput("cudaWriteKv: row size " + std::to_string(rowFloats) + " is out of range");
    if (kv.capacity < 0) return badInput("cudaWriteKv: negative cache capacity");
    if (n == 0) return Status::success();
    if (!kv.k || !kv.v || !dK || !dV || !dPositions) return badInput("cudaWriteKv: null cache, K, V or position pointer");
    const unsigned threads = unsigned(std::clamp<int64_t>((rowFloats + 31) / 32 * 32, 32, 256));
    writeKvKernel<<<unsigned(n), threads, 0, stream>>>(kv.k, kv.v, kv.capacity, dK, dV, int(rowFloats), dPositions);
    return cudaStatus(cudaGetLastError(), "cudaWriteKv launch");
}

}  // namespace strata
