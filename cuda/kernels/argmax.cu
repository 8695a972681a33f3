// Greedy decode's argmax: one block per logits row, so only the chosen index (4 bytes) needs to
// cross to the host instead of the whole vocabulary. Each thread scans a strided slice keeping the
// first strict maximum; merging prefers the larger value, then the lower index, which reproduces
// the sequential scan of greedyToken exactly (NaN never compares greater, so it never wins).
#include <limits>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"

namespace strata {
namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 1024;
constexpr int32_t kNone = std::numeric_limits<int32_t>::max();

struct Best {
    float value;
    int32_t index;
};

__device__ __forceinline__ Best better(Best a, Best b) {
    if (b.value > a.value || (b.value == a.value && b.index < a.index)) return b;
    return a;
}

__device__ __forceinline__ Best warpBest(Best b) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
        Best other;
        other.value = __shfl_xor_sync(0xffffffffu, b.value, offset);
        other.index = __shfl_xor_sync(0xffffffffu, b.index, offset);
        b = better(b, other);
    }
    return b;
}

__global__ void argmaxKernel(const float* __restrict__ logits, int cols, int32_t* __restrict__ out) {
    const float* row = logits + int64_t(blockIdx.x) * cols;
    // Only elements strictly above -inf can be chosen; the sentinel index loses every tie.
    Best b{-INFINITY, kNone};
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        const float v = row[i];
        if (v > b.value) b = Best{v, i};
    }
    b = warpBest(b);

    __shared__ Best partial[kThreads / kWarp];
    const int lane = threadIdx.x % kWarp;
    const int warp = threadIdx.x / kWarp;
    if (lane == 0) partial[warp] = b;
    __syncthreads();
    if (warp == 0) {
        const int warps = blockDim.x / kWarp;
        b = lane < warps ? partial[lane] : Best{-INFINITY, kNone};
        b = warpBest(b);
        if (lane == 0) out[blockIdx.x] = b.index == kNone ? 0 : b.index;
    }
}

}  // namespace

Status cudaArgmax(const float* dLogits, int64_t rows, int64_t cols, int32_t* dOut, cudaStream_t stream) {
    if (rows < 0 || rows > std::numeric_limits<int32_t>::max())
        return badInput("cudaArgmax: row count " + std::to_string(rows) + " is out of range");
    if (cols <= 0 || cols >= kNone) return badInput("cudaArgmax: column count " + std::to_string(cols) + " is out of range");
    if (rows == 0) return Status::success();
    if (!dLogits || !dOut) return badInput("cudaArgmax: null logits or output pointer");
    argmaxKernel<<<unsigned(rows), kThreads, 0, stream>>>(dLogits, int(cols), dOut);
    return cudaStatus(cudaGetLastError(), "cudaArgmax launch");
}

}  // namespace strata
