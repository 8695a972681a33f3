// Causal attention with online softmax over the KV cache; no score matrix touches global memory.
//
// One block serves one (token, KV head) pair and all the query heads of its group, so that each
// K/V row fetched serves every head that shares it (GQA). Keys go through shared memory in tiles:
//   1. the block loads a tile of K (rows padded by one float, so that threads scoring different
//      keys hit different banks) and V;
//   2. each thread scores (head, key) pairs: scale, then the optional soft-cap;
//   3. one warp per head updates that head's running max and denominator and turns the scores
//      into weights, rescaled to the new max;
//   4. each thread owns (head, dim) accumulators, rescales them and adds the weighted V rows.
//
// Decode (few tokens) gives too few blocks to fill the device, so the key range of each query can
// be cut into splits: grid.y blocks per pair, each taking an equal share of the query's own key
// range (known only on the device) and writing its unnormalised output with its own
// max and denominator; a second kernel merges the partial states.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"

namespace strata {
namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 128;
constexpr int kMaxHeadDim = 256;
constexpr int64_t kMaxSplits = 1024;
// A split is worth its partial-state traffic only with a few hundred keys to score.
constexpr int64_t kMinKeysPerSplit = 256;
constexpr size_t kDefaultSharedBytes = 48 * 1024;

struct Params {
    const float* q;
    const int32_t* positions;
    const float* k;
    const float* v;
    int64_t capacity;
    int numHeads;
    int numKvHeads;
    int headDim;
    int group;
    int tile;
    float scale;
    float softcap;
    int64_t window;
    float* out;     // one split: the normalised output
    float* partO;   // several splits: [split][token * numHeads + head][headDim], unnormalised
    float* partM;   // [split][token * numHeads + head] running max
    float* partL;   // [split][token * numHeads + head] denominator
    int64_t rowsTotal;  // n * numHeads
};

__device__ __forceinline__ float warpSum(float v) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ float warpMax(float v) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

size_t sharedFloats(int group, int headDim, int tile) {
    return size_t(2) * group * headDim            // q, accumulators
           + size_t(tile) * (2 * headDim + 1)     // K tile (padded), V tile
           + size_t(group) * tile                 // scores / weights
           + size_t(3) * group;                   // max, denominator, correction
}

__global__ void __launch_bounds__(kThreads) attentionKernel(Params p) {
    extern __shared__ float smem[];
    const int D = p.headDim, G = p.group, T = p.tile;
    const int kStride = D + 1;
    float* qS = smem;
    float* oS = qS + G * D;
    float* kS = oS + G * D;
    float* vS = kS + T * kStride;
    float* sS = vS + T * D;
    float* mS = sS + G * T;
    float* lS = mS + G;
    float* cS = lS + G;

    const int tid = threadIdx.x;
    const int64_t t = blockIdx.x / p.numKvHeads;
    const int kvh = int(blockIdx.x % p.numKvHeads);
    const int64_t split = blockIdx.y;
    const bool splitting = gridDim.y > 1;

    // Every bound below is the same for the whole block, so the early exits keep barriers uniform.
    const int64_t qPos = p.positions[t];
    const bool valid = qPos >= 0 && qPos < p.capacity;
    int64_t begin = 0, end = -1;
    if (valid) {
        const int64_t first = p.window > 0 ? max(int64_t(0), qPos - p.window + 1) : int64_t(0);
        // Each query cuts its own key range evenly, so short contexts still spread over the splits.
        const int64_t chunk = (qPos - first + gridDim.y) / gridDim.y;
        begin = first + split * chunk;
        end = min(qPos, begin + chunk - 1);
    }
    const int64_t headRow0 = t * p.numHeads + int64_t(kvh) * G;  // first query head of the group

    if (begin > end) {  // an empty split, or a query outside the cache
        if (splitting) {
            for (int e = tid; e < G * D; e += blockDim.x)
                p.partO[(split * p.rowsTotal + headRow0) * D + e] = 0.0f;
            for (int h = tid; h < G; h += blockDim.x) {
                p.partM[split * p.rowsTotal + headRow0 + h] = -INFINITY;
                p.partL[split * p.rowsTotal + headRow0 + h] = 0.0f;
            }
        } else {
            for (int e = tid; e < G * D; e += blockDim.x) p.out[headRow0 * D + e] = 0.0f;
        }
        return;
    }

    for (int e = tid; e < G * D; e += blockDim.x) {
        qS[e] = p.q[headRow0 * D + e];
        oS[e] = 0.0f;
    }
    for (int h = tid; h < G; h += blockDim.x) {
        mS[h] = -INFINITY;
        lS[h] = 0.0f;
    }
    __syncthreads();

    const int64_t rowStride = int64_t(p.numKvHeads) * D;
    const float* kBase = p.k + int64_t(kvh) * D;
    const float* vBase = p.v + int64_t(kvh) * D;
    const int lane = tid % kWarp, warp = tid / kWarp, warps = blockDim.x / kWarp;

    for (int64_t j0 = begin; j0 <= end; j0 += T) {
        const int nb = int(min(int64_t(T), end - j0 + 1));
        for (int e = tid; e < nb * D; e += blockDim.x) {
            const int j = e / D, d = e - j * D;
            const int64_t off = (j0 + j) * rowStride + d;
            kS[j * kStride + d] = kBase[off];
            vS[j * D + d] = vBase[off];
        }
        __syncthreads();

        for (int e = tid; e < G * T; e += blockDim.x) {
            const int h = e / T, j = e - h * T;
            float s = -INFINITY;
            if (j < nb) {
                const float* qh = qS + h * D;
                const float* kj = kS + j * kStride;
                float acc = 0.0f;
                for (int d = 0; d < D; ++d) acc = fmaf(qh[d], kj[d], acc);
                s = acc * p.scale;
                if (p.softcap > 0.0f) s = p.softcap * tanhf(s / p.softcap);
            }
            sS[e] = s;
        }
        __syncthreads();

        for (int h = warp; h < G; h += warps) {
            float* sh = sS + h * T;
            float tileMax = -INFINITY;
            for (int j = lane; j < nb; j += kWarp) tileMax = fmaxf(tileMax, sh[j]);
            tileMax = warpMax(tileMax);
            const float oldMax = mS[h];
            const float newMax = fmaxf(oldMax, tileMax);
            float sum = 0.0f;
            for (int j = lane; j < T; j += kWarp) {
                const float w = j < nb ? expf(sh[j] - newMax) : 0.0f;
                sh[j] = w;
                sum += w;
            }
            sum = warpSum(sum);
            if (lane == 0) {
                const float correction = expf(oldMax - newMax);  // 0 on the first tile (-inf)
                cS[h] = correction;
                lS[h] = lS[h] * correction + sum;
                mS[h] = newMax;
            }
        }
        __syncthreads();

        for (int e = tid; e < G * D; e += blockDim.x) {
            const int h = e / D, d = e - h * D;
            const float* wh = sS + h * T;
            float acc = oS[e] * cS[h];
            for (int j = 0; j < nb; ++j) acc = fmaf(wh[j], vS[j * D + d], acc);
            oS[e] = acc;
        }
        __syncthreads();  // the next tile overwrites K, V and the weights
    }

    if (splitting) {
        for (int e = tid; e < G * D; e += blockDim.x) p.partO[(split * p.rowsTotal + headRow0) * D + e] = oS[e];
        for (int h = tid; h < G; h += blockDim.x) {
            p.partM[split * p.rowsTotal + headRow0 + h] = mS[h];
            p.partL[split * p.rowsTotal + headRow0 + h] = lS[h];
        }
    } else {
        for (int e = tid; e < G * D; e += blockDim.x) {
            const int h = e / D;
            p.out[headRow0 * D + e] = oS[e] * (1.0f / lS[h]);
        }
    }
}

// One block per (token, head): weights exp(m_s - M) of the splits in shared memory, then each
// thread merges its dimensions. Empty splits carry m = -inf, l = 0 and weigh nothing.
__global__ void combineKernel(const float* __restrict__ partO, const float* __restrict__ partM,
                              const float* __restrict__ partL, int splits, int64_t rowsTotal, int headDim,
                              float* __restrict__ out) {
    extern __shared__ float weights[];
    const int64_t row = blockIdx.x;
    float m = -INFINITY;
    for (int s = 0; s < splits; ++s) m = fmaxf(m, partM[s * rowsTotal + row]);
    float* dst = out + row * headDim;
    if (m == -INFINITY) {  // the query lay outside the cache
        for (int d = threadIdx.x; d < headDim; d += blockDim.x) dst[d] = 0.0f;
        return;
    }
    for (int s = threadIdx.x; s < splits; s += blockDim.x) weights[s] = expf(partM[s * rowsTotal + row] - m);
    __syncthreads();
    float l = 0.0f;
    for (int s = 0; s < splits; ++s) l += partL[s * rowsTotal + row] * weights[s];
    const float inv = 1.0f / l;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < splits; ++s) acc = fmaf(partO[(s * rowsTotal + row) * headDim + d], weights[s], acc);
        dst[d] = acc * inv;
    }
}

Status checkArguments(const float* dQ, int64_t n, const int32_t* dPositions, const KvLayerView& kv,
                      const AttentionShape& shape, const float* dOut) {
    if (n < 0 || n > std::numeric_limits<int32_t>::max())
        return badInput("cudaAttention: token count " + std::to_string(n) + " is out of range");
    if (shape.numKvHeads <= 0 || shape.numHeads <= 0 || shape.numHeads % shape.numKvHeads != 0 ||
        shape.numHeads > 65536)
        return badInput("cudaAttention: " + std::to_string(shape.numHeads) + " query heads cannot share " +
                        std::to_string(shape.numKvHeads) + " KV heads");
    if (shape.headDim <= 0 || shape.headDim > kMaxHeadDim)
        return badInput("cudaAttention: head dimension " + std::to_string(shape.headDim) + " is outside 1.." +
                        std::to_string(kMaxHeadDim));
    if (n * shape.numHeads > std::numeric_limits<int32_t>::max())
        return badInput("cudaAttention: too many (token, head) pairs for one launch");
    if (kv.capacity < 0) return badInput("cudaAttention: negative cache capacity");
    if (shape.window < 0) return badInput("cudaAttention: negative sliding window");
    if (!(shape.softcap >= 0.0f) || !std::isfinite(shape.softcap))
        return badInput("cudaAttention: soft-cap must be 0 (off) or a positive number");
    if (!std::isfinite(shape.scale)) return badInput("cudaAttention: score scale is not finite");
    if (n > 0 && (!dQ || !dPositions || !kv.k || !kv.v || !dOut))
        return badInput("cudaAttention: null query, position, cache or output pointer");
    return Status::success();
}

// Longest key range a query can have: the window, or the whole cache.
int64_t keySpan(const KvLayerView& kv, const AttentionShape& shape) {
    const int64_t span = shape.window > 0 ? std::min(shape.window, kv.capacity) : kv.capacity;
    return std::max<int64_t>(span, 1);
}

Status launchCombine(const Params& p, int splits, cudaStream_t stream) {
    const unsigned threads = unsigned(std::min(128, (p.headDim + kWarp - 1) / kWarp * kWarp));
    combineKernel<<<unsigned(p.rowsTotal), threads, size_t(splits) * sizeof(float), stream>>>(
        p.partO, p.partM, p.partL, splits, p.rowsTotal, p.headDim, p.out);
    return cudaStatus(cudaGetLastError(), "cudaAttention combine launch");
}

}  // namespace

Status cudaAttentionSplitKv(const float* dQ, int64_t n, const int32_t* dPositions, const KvLayerView& kv,
                            const AttentionShape& shape, int64_t splits, float* dOut, cudaStream_t stream) {
    STRATA_TRY(checkArguments(dQ, n, dPositions, kv, shape, dOut));
    if (splits < 1 || splits > kMaxSplits)
        return badInput("cudaAttention: split count " + std::to_string(splits) + " is outside 1.." +
                        std::to_string(kMaxSplits));
    if (n == 0) return Status::success();

    const int group = int(shape.numHeads / shape.numKvHeads);
    const int headDim = int(shape.headDim);
    int tile = 64;
    while (tile > 8 && sharedFloats(group, headDim, tile) * sizeof(float) > kDefaultSharedBytes) tile /= 2;
    const size_t shared = sharedFloats(group, headDim, tile) * sizeof(float);
    if (shared > kDefaultSharedBytes) {
        // Many query heads per KV head (MQA with wide heads): ask for the device's opt-in maximum.
        int device = 0, optin = 0;
        STRATA_CUDA_TRY(cudaGetDevice(&device));
        STRATA_CUDA_TRY(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
        if (shared > size_t(optin))
            return badInput("cudaAttention: " + std::to_string(group) + " query heads of dimension " +
                            std::to_string(headDim) + " per KV head need more shared memory than the device has");
        STRATA_CUDA_TRY(cudaFuncSetAttribute(attentionKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)));
    }

    Params p{};
    p.q = dQ;
    p.positions = dPositions;
    p.k = kv.k;
    p.v = kv.v;
    p.capacity = kv.capacity;
    p.numHeads = int(shape.numHeads);
    p.numKvHeads = int(shape.numKvHeads);
    p.headDim = headDim;
    p.group = group;
    p.tile = tile;
    p.scale = shape.scale;
    p.softcap = shape.softcap;
    p.window = shape.window;
    p.out = dOut;
    p.rowsTotal = n * shape.numHeads;

    const dim3 grid{unsigned(n * shape.numKvHeads), unsigned(splits)};
    if (splits == 1) {
        attentionKernel<<<grid, kThreads, shared, stream>>>(p);
        return cudaStatus(cudaGetLastError(), "cudaAttention launch");
    }

    const size_t partFloats = size_t(splits) * size_t(p.rowsTotal) * size_t(headDim + 2);
    void* scratch = nullptr;
    STRATA_CUDA_TRY(cudaMallocAsync(&scratch, partFloats * sizeof(float), stream));
    p.partO = static_cast<float*>(scratch);
    p.partM = p.partO + size_t(splits) * size_t(p.rowsTotal) * size_t(headDim);
    p.partL = p.partM + size_t(splits) * size_t(p.rowsTotal);
    attentionKernel<<<grid, kThreads, shared, stream>>>(p);
    const Status launched = cudaStatus(cudaGetLastError(), "cudaAttention split launch");
    const Status combined = launched.ok() ? launchCombine(p, int(splits), stream) : Status::success();
    // Stream-ordered: the memory returns to the pool once the kernels above have finished.
    const Status freed = cudaStatus(cudaFreeAsync(scratch, stream), "cudaFreeAsync(attention partials)");
    if (!launched.ok()) return launched;
    if (!combined.ok()) return combined;
    return freed;
}

Status cudaAttention(const float* dQ, int64_t n, const int32_t* dPositions, const KvLayerView& kv,
                     const AttentionShape& shape, float* dOut, cudaStream_t stream) {
    STRATA_TRY(checkArguments(dQ, n, dPositions, kv, shape, dOut));
    if (n == 0) return Status::success();
    int device = 0, sms = 0;
    STRATA_CUDA_TRY(cudaGetDevice(&device));
    STRATA_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    // Aim for two blocks per SM; never cut a query's key range below kMinKeysPerSplit.
    const int64_t pairs = n * shape.numKvHeads;
    int64_t splits = 1;
    if (pairs < 2 * int64_t(sms)) {
        const int64_t wanted = (2 * int64_t(sms) + pairs - 1) / pairs;
        const int64_t worthwhile = keySpan(kv, shape) / kMinKeysPerSplit;
        splits = std::clamp<int64_t>(std::min(wanted, worthwhile), 1, kMaxSplits);
    }
    return cudaAttentionSplitKv(dQ, n, dPositions, kv, shape, splits, dOut, stream);
}

}  // namespace strata
