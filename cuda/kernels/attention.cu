// Attention over a KV cache held in segments, with an online softmax carried in a state between
// calls; no score matrix touches global memory.
//
// The host first trims each segment to the positions some query of the call can see and lays the
// trimmed runs end to end: the "key stream". One block serves one (token, KV head) pair and all
// the query heads of its group, so that each K/V row fetched serves every head that shares it
// (GQA), and walks its share of the stream run by run. Within a run, keys go through shared
// memory in tiles:
//   1. the block loads a tile of K (rows padded by one float, so that threads scoring different
//      keys hit different banks) and V;
//   2. each thread scores (head, key) pairs: scale, then the optional soft-cap;
//   3. one warp per head updates that head's running max and denominator and turns the scores
//      into weights, rescaled to the new max;
//   4. each thread owns (head, dim) accumulators, rescales them and adds the weighted V rows.
//
// With one split a block owns its rows of the state outright: it starts from them and writes them
// back. Decode (few tokens) gives too few blocks to fill the device, so the stream can be cut
// into equal splits, grid.y blocks per pair, each writing its unnormalised output with its own max
// and denominator; a second kernel folds those partials into the state.
//
// Attention sinks fold into the state between the accumulation and the finish: one
// more key per head, with a logit of its own and a zero value (sinksKernel).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "CudaDevice.h"
#include "CudaKernels.h"
#include "WeightLoad.cuh"

namespace strata {
namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 128;
constexpr int kMaxHeadDim = 256;
constexpr int64_t kMaxSplits = 1024;
// A split is worth its partial-state traffic only with a few hundred keys to score.
constexpr int64_t kMinKeysPerSplit = 256;
constexpr size_t kDefaultSharedBytes = 48 * 1024;
// Scratch regions start on this boundary (cudaMallocAsync itself returns at least this).
constexpr size_t kScratchAlign = 256;

// A segment trimmed to the keys some query of the call may see, and where it starts in the stream.
struct KeyRun {
    const float* k;
    const float* v;
    int64_t firstPos;
    int64_t tokens;
    int64_t streamStart;
};

struct Params {
    const float* q;
    const int32_t* positions;
    const int32_t* lastKey;  // per query, the last visible key position; nullptr: its own position
    const KeyRun* runs;
    int runCount;
    int64_t streamKeys;  // sum of the runs' tokens
    int64_t splitKeys;   // stream keys per split
    int numHeads;
    int numKvHeads;
    int headDim;
    int group;
    int tile;
    float scale;
    float softcap;
    int64_t window;
    float* stateAcc;  // [row][headDim] unnormalised output
    float* stateMax;  // [row]
    float* stateSum;  // [row]
    float* partO;   // several splits: [split][row][headDim], unnormalised
    float* partM;   // [split][row] running max (-inf: the split saw no key)
    float* partL;   // [split][row] denominator
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

__global__ void beginKernel(float* __restrict__ acc, float* __restrict__ rowMax, float* __restrict__ rowSum,
                            int64_t rows, int64_t headDim) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows * headDim; i += stride) {
        acc[i] = 0.0f;
        if (i < rows) {
            rowMax[i] = -INFINITY;
            rowSum[i] = 0.0f;
        }
    }
}

// out may be acc: each element is read, then written, by the same thread.
__global__ void finishKernel(const float* acc, const float* __restrict__ sum, int64_t rows, int64_t headDim,
                             float* out) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < rows * headDim; i += stride) {
        const float l = sum[i / headDim];
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        out[i] = acc[i] * inv;
    }
}

// Attention sinks, between the accumulation and the finish: each row's sink joins its
// softmax as one more key with a zero value. One warp per state row; the arithmetic is
// cpu::attentionSinks's, with the product and the sum of the denominator rounded separately as
// there. Every lane reads the row's max and sum before lane 0 rewrites them (__syncwarp).
template <typename Load>
__global__ void sinksKernel(float* __restrict__ acc, float* __restrict__ rowMax, float* __restrict__ rowSum,
                            int64_t rows, int64_t numHeads, int headDim, const void* __restrict__ sinks) {
    const Load load;
    const int lane = threadIdx.x % kWarp;
    const int64_t warps = blockDim.x / kWarp;
    for (int64_t r = int64_t(blockIdx.x) * warps + threadIdx.x / kWarp; r < rows; r += int64_t(gridDim.x) * warps) {
        const float sink = load(sinks, r % numHeads);
        const float oldMax = rowMax[r];
        const float newMax = oldMax < sink ? sink : oldMax;  // std::max(oldMax, sink)
        // A row that saw no key keeps a zero accumulator: its output stays zero.
        const float correction = oldMax == -INFINITY ? 0.0f : expf(oldMax - newMax);
        const float oldSum = rowSum[r];
        for (int d = lane; d < headDim; d += kWarp) acc[r * headDim + d] *= correction;
        __syncwarp();
        if (lane == 0) {
            rowSum[r] = __fadd_rn(__fmul_rn(oldSum, correction), expf(sink - newMax));
            rowMax[r] = newMax;
        }
    }
}

__global__ void __launch_bounds__(kThreads) accumulateKernel(Params p) {
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
    const int64_t headRow0 = t * p.numHeads + int64_t(kvh) * G;  // first query head of the group

    for (int e = tid; e < G * D; e += blockDim.x) {
        qS[e] = p.q[headRow0 * D + e];
        oS[e] = splitting ? 0.0f : p.stateAcc[headRow0 * D + e];
    }
    for (int h = tid; h < G; h += blockDim.x) {
        mS[h] = splitting ? -INFINITY : p.stateMax[headRow0 + h];
        lS[h] = splitting ? 0.0f : p.stateSum[headRow0 + h];
    }
    __syncthreads();

    // Every bound below comes from the same global reads in every thread, so the loops and their
    // barriers are uniform across the block.
    const int64_t qPos = p.positions[t];
    const int64_t lastKey = p.lastKey ? p.lastKey[t] : qPos;
    const int64_t first = p.window > 0 ? max(int64_t(0), qPos - p.window + 1) : int64_t(0);
    const int64_t streamBegin = split * p.splitKeys;
    const int64_t streamEnd = min(streamBegin + p.splitKeys, p.streamKeys);
    const int64_t rowStride = int64_t(p.numKvHeads) * D;
    const int lane = tid % kWarp, warp = tid / kWarp, warps = blockDim.x / kWarp;

    if (streamBegin < streamEnd && first <= qPos) {
        // The last run starting at or before streamBegin (run 0 starts at 0).
        int lo = 0, hi = p.runCount - 1;
        while (lo < hi) {
            const int mid = (lo + hi + 1) / 2;
            if (p.runs[mid].streamStart <= streamBegin) lo = mid;
            else hi = mid - 1;
        }
        for (int r = lo; r < p.runCount && p.runs[r].streamStart < streamEnd; ++r) {
            const KeyRun run = p.runs[r];
            // This block's keys of the run, as offsets into it: inside the split and visible.
            const int64_t begin = max(max(streamBegin - run.streamStart, first - run.firstPos), int64_t(0));
            const int64_t end = min(min(streamEnd - run.streamStart, lastKey + 1 - run.firstPos), run.tokens);
            const float* kBase = run.k + int64_t(kvh) * D;
            const float* vBase = run.v + int64_t(kvh) * D;

            for (int64_t j0 = begin; j0 < end; j0 += T) {
                const int nb = int(min(int64_t(T), end - j0));
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
                        float dot = 0.0f;
                        for (int d = 0; d < D; ++d) dot = fmaf(qh[d], kj[d], dot);
                        s = dot * p.scale;
                        if (p.softcap > 0.0f) s = p.softcap * tanhf(s / p.softcap);
                    }
                    sS[e] = s;
                }
                __syncthreads();

                // nb >= 1, so the tile's max is finite and newMax never subtracts -inf from -inf.
                for (int h = warp; h < G; h += warps) {
                    float* sh = sS + h * T;
                    float tileMax = -INFINITY;
                    for (int j = lane; j < nb; j += kWarp) tileMax = fmaxf(tileMax, sh[j]);
                    tileMax = warpMax(tileMax);
                    const float oldMax = mS[h];
                    const float newMax = fmaxf(oldMax, tileMax);
                    float total = 0.0f;
                    for (int j = lane; j < T; j += kWarp) {
                        const float w = j < nb ? expf(sh[j] - newMax) : 0.0f;
                        sh[j] = w;
                        total += w;
                    }
                    total = warpSum(total);
                    if (lane == 0) {
                        const float correction = expf(oldMax - newMax);  // 0 while nothing was seen (-inf)
                        cS[h] = correction;
                        lS[h] = lS[h] * correction + total;
                        mS[h] = newMax;
                    }
                }
                __syncthreads();

                for (int e = tid; e < G * D; e += blockDim.x) {
                    const int h = e / D, d = e - h * D;
                    const float* wh = sS + h * T;
                    float a = oS[e] * cS[h];
                    for (int j = 0; j < nb; ++j) a = fmaf(wh[j], vS[j * D + d], a);
                    oS[e] = a;
                }
                __syncthreads();  // the next tile overwrites K, V and the weights
            }
        }
    }

    // A block that saw no key writes its starting values: the state unchanged, or an empty partial.
    float* dstO = splitting ? p.partO + (split * p.rowsTotal + headRow0) * D : p.stateAcc + headRow0 * D;
    float* dstM = splitting ? p.partM + split * p.rowsTotal + headRow0 : p.stateMax + headRow0;
    float* dstL = splitting ? p.partL + split * p.rowsTotal + headRow0 : p.stateSum + headRow0;
    for (int e = tid; e < G * D; e += blockDim.x) dstO[e] = oS[e];
    for (int h = tid; h < G; h += blockDim.x) {
        dstM[h] = mS[h];
        dstL[h] = lS[h];
    }
}

// One block per state row: the weights exp(m_s - M) of the old state and of each split in shared
// memory, then each thread folds its dimensions. Splits that saw no key carry m = -inf, l = 0,
// o = 0 and weigh nothing; when nothing at all was seen the row is left as it was.
__global__ void mergeKernel(const float* __restrict__ partO, const float* __restrict__ partM,
                            const float* __restrict__ partL, int splits, int64_t rowsTotal, int headDim,
                            float* __restrict__ acc, float* __restrict__ rowMax, float* __restrict__ rowSum) {
    extern __shared__ float weights[];
    const int64_t row = blockIdx.x;
    const float oldMax = rowMax[row];
    const float oldSum = rowSum[row];
    float m = oldMax;
    for (int s = 0; s < splits; ++s) m = fmaxf(m, partM[s * rowsTotal + row]);
    if (m == -INFINITY) return;  // same value in every thread: no barrier is skipped unevenly
    for (int s = threadIdx.x; s < splits; s += blockDim.x) weights[s] = expf(partM[s * rowsTotal + row] - m);
    __syncthreads();  // also orders every thread's reads of max/sum before thread 0 rewrites them
    const float oldWeight = expf(oldMax - m);  // 0 for a row that had seen nothing
    float l = oldSum * oldWeight;
    for (int s = 0; s < splits; ++s) l += partL[s * rowsTotal + row] * weights[s];
    float* dst = acc + row * headDim;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float a = dst[d] * oldWeight;
        for (int s = 0; s < splits; ++s) a = fmaf(partO[(s * rowsTotal + row) * headDim + d], weights[s], a);
        dst[d] = a;
    }
    if (threadIdx.x == 0) {
        rowMax[row] = m;
        rowSum[row] = l;
    }
}

Status checkState(const char* what, const AttentionState& state, int64_t rows, int64_t headDim) {
    if (rows < 0 || headDim <= 0 || headDim > kMaxHeadDim)
        return badInput(std::string(what) + ": " + std::to_string(rows) + " rows of head dimension " +
                        std::to_string(headDim) + " (at most " + std::to_string(kMaxHeadDim) + ")");
    if (rows > std::numeric_limits<int64_t>::max() / headDim)
        return badInput(std::string(what) + ": state of " + std::to_string(rows) + " rows is too large");
    if (rows > 0 && (!state.acc || !state.max || !state.sum))
        return badInput(std::string(what) + ": null state pointer");
    return Status::success();
}

Status checkArguments(const float* dQ, int64_t n, const int32_t* positions, std::span<const KvSegment> segments,
                      const AttentionShape& shape, const AttentionState& state) {
    if (n < 0 || n > std::numeric_limits<int32_t>::max())
        return badInput("cudaAttentionAccumulate: token count " + std::to_string(n) + " is out of range");
    if (shape.numKvHeads <= 0 || shape.numHeads <= 0 || shape.numHeads % shape.numKvHeads != 0 ||
        shape.numHeads > 65536)
        return badInput("cudaAttentionAccumulate: " + std::to_string(shape.numHeads) + " query heads cannot share " +
                        std::to_string(shape.numKvHeads) + " KV heads");
    if (shape.headDim <= 0 || shape.headDim > kMaxHeadDim)
        return badInput("cudaAttentionAccumulate: head dimension " + std::to_string(shape.headDim) +
                        " is outside 1.." + std::to_string(kMaxHeadDim));
    if (n * shape.numHeads > std::numeric_limits<int32_t>::max())
        return badInput("cudaAttentionAccumulate: too many (token, head) pairs for one launch");
    if (shape.window < 0) return badInput("cudaAttentionAccumulate: negative sliding window");
    if (!(shape.softcap >= 0.0f) || !std::isfinite(shape.softcap))
        return badInput("cudaAttentionAccumulate: soft-cap must be 0 (off) or a positive number");
    if (!std::isfinite(shape.scale)) return badInput("cudaAttentionAccumulate: score scale is not finite");
    if (segments.size() > size_t(std::numeric_limits<int32_t>::max()))
        return badInput("cudaAttentionAccumulate: too many segments");
    // Bounds that keep every position sum below in range, with room to spare.
    constexpr int64_t kPosLimit = int64_t(1) << 50;
    for (size_t i = 0; i < segments.size(); ++i) {
        const KvSegment& s = segments[i];
        if (s.tokens < 0 || s.tokens > kPosLimit || s.firstPos < 0 || s.firstPos > kPosLimit)
            return badInput("cudaAttentionAccumulate: segment " + std::to_string(i) + " (positions from " +
                            std::to_string(s.firstPos) + ", " + std::to_string(s.tokens) + " tokens) is out of range");
        if (s.tokens > 0 && (!s.k || !s.v))
            return badInput("cudaAttentionAccumulate: segment " + std::to_string(i) + " has a null K or V pointer");
    }
    if (n > 0 && (!dQ || !positions)) return badInput("cudaAttentionAccumulate: null query or position pointer");
    return checkState("cudaAttentionAccumulate", state, n * shape.numHeads, shape.headDim);
}

// The segments trimmed to [lowest first visible position, highest last visible position], end to end.
std::vector<KeyRun> keyStream(const int32_t* positions, int64_t n, std::span<const KvSegment> segments,
                              const AttentionShape& shape) {
    int64_t low = std::numeric_limits<int64_t>::max(), high = -1;
    for (int64_t t = 0; t < n; ++t) {
        const int64_t pos = positions[t];
        low = std::min(low, shape.window > 0 ? std::max<int64_t>(0, pos - shape.window + 1) : int64_t(0));
        high = std::max<int64_t>(high, shape.lastKey ? shape.lastKey[t] : pos);
    }
    std::vector<KeyRun> runs;
    int64_t stream = 0;
    const int64_t rowStride = shape.numKvHeads * shape.headDim;
    for (const KvSegment& s : segments) {
        const int64_t lo = std::max(low, s.firstPos);
        const int64_t hi = std::min(high + 1, s.firstPos + s.tokens);
        if (lo >= hi) continue;
        const int64_t skip = (lo - s.firstPos) * rowStride;
        runs.push_back(KeyRun{s.k + skip, s.v + skip, lo, hi - lo, stream});
        stream += hi - lo;
    }
    return runs;
}

Status launchAccumulate(const Params& p, int64_t splits, size_t shared, cudaStream_t stream) {
    const dim3 grid{unsigned(p.rowsTotal / p.group), unsigned(splits)};  // (token, KV head) pairs
    accumulateKernel<<<grid, kThreads, shared, stream>>>(p);
    return cudaStatus(cudaGetLastError(), "cudaAttentionAccumulate launch");
}

Status launchMerge(const Params& p, int64_t splits, cudaStream_t stream) {
    const unsigned threads = unsigned(std::min(128, (p.headDim + kWarp - 1) / kWarp * kWarp));
    mergeKernel<<<unsigned(p.rowsTotal), threads, size_t(splits) * sizeof(float), stream>>>(
        p.partO, p.partM, p.partL, int(splits), p.rowsTotal, p.headDim, p.stateAcc, p.stateMax, p.stateSum);
    return cudaStatus(cudaGetLastError(), "cudaAttentionAccumulate merge launch");
}

size_t alignUp(size_t bytes) { return (bytes + kScratchAlign - 1) / kScratchAlign * kScratchAlign; }

Status launch(const float* dQ, int64_t n, const int32_t* positions, const std::vector<KeyRun>& runs,
              const AttentionShape& shape, int64_t splits, const AttentionState& state, cudaStream_t stream) {
    const int64_t streamKeys = runs.back().streamStart + runs.back().tokens;
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
            return badInput("cudaAttentionAccumulate: " + std::to_string(group) + " query heads of dimension " +
                            std::to_string(headDim) + " per KV head need more shared memory than the device has");
        STRATA_CUDA_TRY(
            cudaFuncSetAttribute(accumulateKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)));
    }

    // One stream-ordered scratch block: key runs, positions, last visible keys (when given), then
    // (several splits) the partials.
    const int64_t rowsTotal = n * shape.numHeads;
    const size_t runBytes = alignUp(runs.size() * sizeof(KeyRun));
    const size_t posBytes = alignUp(size_t(n) * sizeof(int32_t));
    const size_t partBytes =
        splits > 1 ? size_t(splits) * size_t(rowsTotal) * size_t(headDim + 2) * sizeof(float) : 0;
    const size_t lastKeyBytes = shape.lastKey ? posBytes : 0;
    std::vector<unsigned char> host(runBytes + posBytes + lastKeyBytes);
    std::memcpy(host.data(), runs.data(), runs.size() * sizeof(KeyRun));
    std::memcpy(host.data() + runBytes, positions, size_t(n) * sizeof(int32_t));
    if (shape.lastKey) std::memcpy(host.data() + runBytes + posBytes, shape.lastKey, size_t(n) * sizeof(int32_t));
    void* scratch = nullptr;
    STRATA_CUDA_TRY(cudaMallocAsync(&scratch, host.size() + partBytes, stream));
    auto* base = static_cast<unsigned char*>(scratch);
    // Pageable source: the call returns once `host` has been copied out, so it may die with this scope.
    const Status copied = cudaStatus(cudaMemcpyAsync(base, host.data(), host.size(), cudaMemcpyHostToDevice, stream),
                                     "copying attention positions and segments to the device");

    Params p{};
    p.q = dQ;
    p.positions = reinterpret_cast<const int32_t*>(base + runBytes);
    p.lastKey = shape.lastKey ? reinterpret_cast<const int32_t*>(base + runBytes + posBytes) : nullptr;
    p.runs = reinterpret_cast<const KeyRun*>(base);
    p.runCount = int(runs.size());
    p.streamKeys = streamKeys;
    p.splitKeys = (streamKeys + splits - 1) / splits;
    p.numHeads = int(shape.numHeads);
    p.numKvHeads = int(shape.numKvHeads);
    p.headDim = headDim;
    p.group = group;
    p.tile = tile;
    p.scale = shape.scale;
    p.softcap = shape.softcap;
    p.window = shape.window;
    p.stateAcc = state.acc;
    p.stateMax = state.max;
    p.stateSum = state.sum;
    p.rowsTotal = rowsTotal;
    if (splits > 1) {
        p.partO = reinterpret_cast<float*>(base + host.size());
        p.partM = p.partO + size_t(splits) * size_t(rowsTotal) * size_t(headDim);
        p.partL = p.partM + size_t(splits) * size_t(rowsTotal);
    }

    const Status launched = copied.ok() ? launchAccumulate(p, splits, shared, stream) : copied;
    const Status merged = launched.ok() && splits > 1 ? launchMerge(p, splits, stream) : Status::success();
    // Stream-ordered: the memory returns to the pool once the kernels above have finished.
    const Status freed = cudaStatus(cudaFreeAsync(scratch, stream), "cudaFreeAsync(attention scratch)");
    if (!launched.ok()) return launched;
    if (!merged.ok()) return merged;
    return freed;
}

int64_t gridBlocks(int64_t elements) { return std::clamp<int64_t>((elements + 255) / 256, 1, 4096); }

}  // namespace

Status cudaAttentionBegin(const AttentionState& dState, int64_t rows, int64_t headDim, cudaStream_t stream) {
    STRATA_TRY(checkState("cudaAttentionBegin", dState, rows, headDim));
    if (rows == 0) return Status::success();
    beginKernel<<<unsigned(gridBlocks(rows * headDim)), 256, 0, stream>>>(dState.acc, dState.max, dState.sum, rows,
                                                                         headDim);
    return cudaStatus(cudaGetLastError(), "cudaAttentionBegin launch");
}

Status cudaAttentionFinish(const AttentionState& dState, int64_t rows, int64_t headDim, float* dOut,
                           cudaStream_t stream) {
    STRATA_TRY(checkState("cudaAttentionFinish", dState, rows, headDim));
    if (rows == 0) return Status::success();
    if (!dOut) return badInput("cudaAttentionFinish: null output pointer");
    finishKernel<<<unsigned(gridBlocks(rows * headDim)), 256, 0, stream>>>(dState.acc, dState.sum, rows, headDim,
                                                                          dOut);
    return cudaStatus(cudaGetLastError(), "cudaAttentionFinish launch");
}

Status cudaAttentionSinks(const AttentionState& dState, int64_t n, int64_t numHeads, int64_t headDim,
                          const void* dSinks, DType sinkType, cudaStream_t stream) {
    if (n < 0 || numHeads <= 0 || n > std::numeric_limits<int64_t>::max() / numHeads)
        return badInput("cudaAttentionSinks: " + std::to_string(n) + " tokens of " + std::to_string(numHeads) +
                        " heads are out of range");
    const int64_t rows = n * numHeads;
    STRATA_TRY(checkState("cudaAttentionSinks", dState, rows, headDim));
    if (rows == 0) return Status::success();
    if (!dSinks) return badInput("cudaAttentionSinks: null sinks pointer");
    constexpr int kSinkThreads = 128;  // four rows per block
    const unsigned blocks = unsigned(std::clamp<int64_t>((rows + 3) / 4, 1, 4096));
    const int d = int(headDim);
    switch (sinkType) {
    case DType::F32:
        sinksKernel<LoadF32><<<blocks, kSinkThreads, 0, stream>>>(dState.acc, dState.max, dState.sum, rows, numHeads,
                                                                  d, dSinks);
        break;
    case DType::BF16:
        sinksKernel<LoadBF16><<<blocks, kSinkThreads, 0, stream>>>(dState.acc, dState.max, dState.sum, rows,
                                                                   numHeads, d, dSinks);
        break;
    case DType::F16:
        sinksKernel<LoadF16><<<blocks, kSinkThreads, 0, stream>>>(dState.acc, dState.max, dState.sum, rows, numHeads,
                                                                  d, dSinks);
        break;
    default: return badInput("cudaAttentionSinks: sinks must be stored as F32, BF16 or F16");
    }
    return cudaStatus(cudaGetLastError(), "cudaAttentionSinks launch");
}

Status cudaAttentionAccumulateSplitKv(const float* dQ, int64_t n, const int32_t* positions,
                                      std::span<const KvSegment> segments, const AttentionShape& shape,
                                      int64_t splits, const AttentionState& dState, cudaStream_t stream) {
    STRATA_TRY(checkArguments(dQ, n, positions, segments, shape, dState));
    if (splits < 1 || splits > kMaxSplits)
        return badInput("cudaAttentionAccumulate: split count " + std::to_string(splits) + " is outside 1.." +
                        std::to_string(kMaxSplits));
    if (n == 0) return Status::success();
    const std::vector<KeyRun> runs = keyStream(positions, n, segments, shape);
    if (runs.empty()) return Status::success();  // no query sees any of these keys: the state stands
    return launch(dQ, n, positions, runs, shape, splits, dState, stream);
}

Status cudaAttentionAccumulate(const float* dQ, int64_t n, const int32_t* positions,
                               std::span<const KvSegment> segments, const AttentionShape& shape,
                               const AttentionState& dState, cudaStream_t stream) {
    STRATA_TRY(checkArguments(dQ, n, positions, segments, shape, dState));
    if (n == 0) return Status::success();
    const std::vector<KeyRun> runs = keyStream(positions, n, segments, shape);
    if (runs.empty()) return Status::success();
    const int64_t streamKeys = runs.back().streamStart + runs.back().tokens;
    int device = 0, sms = 0;
    STRATA_CUDA_TRY(cudaGetDevice(&device));
    STRATA_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    // Aim for two blocks per SM; never cut the keys one query sees below kMinKeysPerSplit a split.
    const int64_t pairs = n * shape.numKvHeads;
    int64_t splits = 1;
    if (pairs < 2 * int64_t(sms)) {
        const int64_t wanted = (2 * int64_t(sms) + pairs - 1) / pairs;
        const int64_t span = shape.window > 0 ? std::min(shape.window, streamKeys) : streamKeys;
        const int64_t worthwhile = span / kMinKeysPerSplit;
        splits = std::clamp<int64_t>(std::min(wanted, worthwhile), 1, kMaxSplits);
        // Equal ranges of the stream, none empty.
        const int64_t perSplit = (streamKeys + splits - 1) / splits;
        splits = (streamKeys + perSplit - 1) / perSplit;
    }
    return launch(dQ, n, positions, runs, shape, splits, dState, stream);
}

}  // namespace strata
