// Rotary embedding: one block per token. The block first takes cos/sin of its position's angles
// into shared memory (double precision, as the CPU reference, so that long contexts agree), then
// rotates every head with them: headDim/2 transcendentals per token instead of per head.
#include <algorithm>
#include <limits>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"

namespace strata {
namespace {

template <bool NeoX>
__global__ void ropeKernel(float* x, int numHeads, int headDim, const int32_t* __restrict__ positions,
                           const float* __restrict__ invFreq) {
    extern __shared__ float table[];  // cos[half], then sin[half]
    const int half = headDim / 2;
    float* cosT = table;
    float* sinT = table + half;
    const int64_t t = blockIdx.x;
    const float pos = float(positions[t]);
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        const float angle = __fmul_rn(pos, invFreq[i]);
        double s, c;
        sincos(double(angle), &s, &c);
        cosT[i] = float(c);
        sinT[i] = float(s);
    }
    __syncthreads();

    float* row = x + t * int64_t(numHeads) * headDim;
    const int pairs = numHeads * half;
    for (int e = threadIdx.x; e < pairs; e += blockDim.x) {
        const int h = e / half;
        const int i = e - h * half;
        float* v = row + int64_t(h) * headDim;
        const int a = NeoX ? i : 2 * i;
        const int b = NeoX ? i + half : 2 * i + 1;
        const float x1 = v[a], x2 = v[b];
        const float c = cosT[i], s = sinT[i];
        // Explicit roundings: nvcc would fuse these into FMAs, which the CPU build does not.
        v[a] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
        v[b] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
    }
}

}  // namespace

Status cudaRope(float* dX, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* dPositions,
                const float* dInvFreq, RopeStyle style, cudaStream_t stream) {
    if (n < 0 || n > std::numeric_limits<int32_t>::max())
        return badInput("cudaRope: token count " + std::to_string(n) + " is out of range");
    if (headDim <= 0 || headDim % 2 != 0 || headDim > 65536)
        return badInput("cudaRope: head dimension " + std::to_string(headDim) + " must be even and positive");
    if (numHeads <= 0 || numHeads * headDim > std::numeric_limits<int32_t>::max())
        return badInput("cudaRope: head count " + std::to_string(numHeads) + " is out of range");
    if (n == 0) return Status::success();
    if (!dX || !dPositions || !dInvFreq) return badInput("cudaRope: null activation, position or frequency pointer");

    const int half = int(headDim / 2);
    const unsigned threads = unsigned(std::min<int64_t>(256, (numHeads * half + 31) / 32 * 32));
    const size_t shared = size_t(headDim) * sizeof(float);
    if (shared > 48 * 1024) return badInput("cudaRope: head dimension " + std::to_string(headDim) + " is too large");
    if (style == RopeStyle::NeoX)
        ropeKernel<true><<<unsigned(n), threads, shared, stream>>>(dX, int(numHeads), int(headDim), dPositions, dInvFreq);
    else
        ropeKernel<false><<<unsigned(n), threads, shared, stream>>>(dX, int(numHeads), int(headDim), dPositions, dInvFreq);
    return cudaStatus(cudaGetLastError(), "cudaRope launch");
}

}  // namespace strata
