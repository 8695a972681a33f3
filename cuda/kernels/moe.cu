// The mixture-of-experts blocks: the clamped SwiGLU, the gather of the rows routed to an
// expert, and the weighted scatter of its outputs back onto the residual rows.
//
// Row indices and routing weights come from the host (the router's top-k is read back there).
// They go to the device in one stream-ordered scratch block per call, as attention's segment
// descriptors do: the copy is queued before the kernel and the block is freed behind it, so the
// host arrays may be reused as soon as the call returns.
//
// The scatter adds several outputs onto the same residual row (a token routed to k experts). The
// host groups the entries by destination row, each group in increasing i, and one thread owns each
// (destination, column): it applies that column's terms one after the other, in the CPU's order,
// with the product and the sum rounded separately (no fused multiply-add), so the result is the
// CPU's bit for bit and needs no atomics.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "CudaDevice.h"
#include "CudaKernels.h"

namespace strata {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxColumnBlocks = 64;  // per row; the loops cover the rest of a wide row

unsigned blocksFor(int64_t count) { return unsigned(std::min<int64_t>((count + kThreads - 1) / kThreads, 8192)); }

unsigned columnBlocks(int64_t width) {
    return unsigned(std::clamp<int64_t>((width + kThreads - 1) / kThreads, 1, kMaxColumnBlocks));
}

// The same comparisons as cpu::clampedSwiGlu's std::min and std::clamp, so that a NaN input goes
// through as it does there (fminf would return the limit instead).
__global__ void clampedSwiGluKernel(const float* __restrict__ gateUp, int64_t n, int64_t width, float alpha,
                                    float limit, float* __restrict__ out) {
    const int64_t count = n * width;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t t = i / width, c = i - t * width;
        const float* in = gateUp + t * 2 * width + 2 * c;
        const float g = in[0], u = in[1];
        const float gate = limit < g ? limit : g;
        const float up = u < -limit ? -limit : (limit < u ? limit : u);
        const float glu = gate / (1.0f + expf(-alpha * gate));
        out[i] = (up + 1.0f) * glu;
    }
}

__global__ void gatherRowsKernel(const float* __restrict__ src, int64_t width, const int32_t* __restrict__ rows,
                                 float* __restrict__ dst) {
    const int64_t i = blockIdx.x;
    const float* from = src + int64_t(rows[i]) * width;
    float* to = dst + i * width;
    for (int64_t c = int64_t(blockIdx.y) * blockDim.x + threadIdx.x; c < width; c += int64_t(gridDim.y) * blockDim.x)
        to[c] = from[c];
}

// Block x serves destination group x: targets[x] is its row of y, entries [offsets[x],
// offsets[x + 1]) its source rows in increasing order, with their weights beside them.
__global__ void addScaledRowsKernel(float* __restrict__ y, int64_t width, const float* __restrict__ src,
                                    const int32_t* __restrict__ targets, const int32_t* __restrict__ offsets,
                                    const int32_t* __restrict__ entries, const float* __restrict__ weights) {
    const int64_t group = blockIdx.x;
    float* row = y + int64_t(targets[group]) * width;
    const int32_t begin = offsets[group], end = offsets[group + 1];
    for (int64_t c = int64_t(blockIdx.y) * blockDim.x + threadIdx.x; c < width; c += int64_t(gridDim.y) * blockDim.x) {
        float acc = row[c];
        for (int32_t j = begin; j < end; ++j)
            acc = __fadd_rn(acc, __fmul_rn(weights[j], src[int64_t(entries[j]) * width + c]));
        row[c] = acc;
    }
}

// Copies `bytes` of host data into a fresh stream-ordered block, which the caller frees with
// cudaFreeAsync after its launches. Pageable source: the copy has left `host` when this returns.
Result<void*> uploadScratch(const void* host, size_t bytes, cudaStream_t stream, const char* what) {
    void* scratch = nullptr;
    STRATA_TRY(cudaStatus(cudaMallocAsync(&scratch, bytes, stream), std::string(what) + ": cudaMallocAsync"));
    const Status copied = cudaStatus(cudaMemcpyAsync(scratch, host, bytes, cudaMemcpyHostToDevice, stream),
                                     std::string(what) + ": copying row indices to the device");
    if (!copied.ok()) {
        (void)cudaFreeAsync(scratch, stream);
        return copied.error();
    }
    return scratch;
}

Status checkWidth(const char* op, int64_t width) {
    if (width <= 0) return badInput(std::string(op) + ": row width " + std::to_string(width) + " is not positive");
    return Status::success();
}

// Row indices must be non-negative and few enough for one grid dimension; the upper bound is the
// caller's to check (these calls do not know the row count of the matrix they index).
Status checkRows(const char* op, std::span<const int32_t> rows) {
    if (rows.size() > size_t(std::numeric_limits<int32_t>::max()))
        return badInput(std::string(op) + ": " + std::to_string(rows.size()) + " rows are too many for one call");
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i] < 0)
            return badInput(std::string(op) + ": row index " + std::to_string(rows[i]) + " (entry " +
                            std::to_string(i) + ") is negative");
    return Status::success();
}

}  // namespace

Status cudaClampedSwiGlu(const float* dGateUp, int64_t n, int64_t width, float alpha, float limit, float* dOut,
                         cudaStream_t stream) {
    if (n < 0 || width < 0 || (width > 0 && n > std::numeric_limits<int64_t>::max() / (2 * width)))
        return badInput("cudaClampedSwiGlu: " + std::to_string(n) + " rows of width " + std::to_string(width) +
                        " are out of range");
    if (!std::isfinite(alpha) || !(limit > 0.0f))
        return badInput("cudaClampedSwiGlu: alpha must be finite and the limit positive");
    if (n == 0 || width == 0) return Status::success();
    if (!dGateUp || !dOut) return badInput("cudaClampedSwiGlu: null input or output pointer");
    clampedSwiGluKernel<<<blocksFor(n * width), kThreads, 0, stream>>>(dGateUp, n, width, alpha, limit, dOut);
    return cudaStatus(cudaGetLastError(), "cudaClampedSwiGlu launch");
}

Status cudaGatherRows(const float* dSrc, int64_t width, std::span<const int32_t> rows, float* dDst,
                      cudaStream_t stream) {
    STRATA_TRY(checkWidth("cudaGatherRows", width));
    STRATA_TRY(checkRows("cudaGatherRows", rows));
    if (rows.empty()) return Status::success();
    if (!dSrc || !dDst) return badInput("cudaGatherRows: null source or destination pointer");
    auto scratch = uploadScratch(rows.data(), rows.size() * sizeof(int32_t), stream, "cudaGatherRows");
    STRATA_TRY(scratch);
    const dim3 grid{unsigned(rows.size()), columnBlocks(width)};
    gatherRowsKernel<<<grid, kThreads, 0, stream>>>(dSrc, width, static_cast<const int32_t*>(scratch.value()), dDst);
    const Status launched = cudaStatus(cudaGetLastError(), "cudaGatherRows launch");
    const Status freed = cudaStatus(cudaFreeAsync(scratch.value(), stream), "cudaFreeAsync(gather scratch)");
    return launched.ok() ? freed : launched;
}

Status cudaAddScaledRows(float* dY, int64_t width, const float* dSrc, std::span<const int32_t> rows,
                         std::span<const float> weights, cudaStream_t stream) {
    STRATA_TRY(checkWidth("cudaAddScaledRows", width));
    STRATA_TRY(checkRows("cudaAddScaledRows", rows));
    if (weights.size() != rows.size())
        return badInput("cudaAddScaledRows: " + std::to_string(rows.size()) + " rows but " +
                        std::to_string(weights.size()) + " weights");
    if (rows.empty()) return Status::success();
    if (!dY || !dSrc) return badInput("cudaAddScaledRows: null output or source pointer");

    // Entries ordered by destination row; the stable sort keeps each row's entries in order of i.
    const size_t count = rows.size();
    std::vector<int32_t> order(count);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return rows[size_t(a)] < rows[size_t(b)]; });
    std::vector<int32_t> targets, offsets;
    std::vector<float> sortedWeights(count);
    for (size_t j = 0; j < count; ++j) {
        const int32_t i = order[j];
        if (j == 0 || rows[size_t(i)] != rows[size_t(order[j - 1])]) {
            targets.push_back(rows[size_t(i)]);
            offsets.push_back(int32_t(j));
        }
        sortedWeights[j] = weights[size_t(i)];
    }
    offsets.push_back(int32_t(count));
    const size_t groups = targets.size();

    // One block of 4-byte values: targets, offsets, entries, weights.
    std::vector<unsigned char> host((groups + (groups + 1) + 2 * count) * 4);
    unsigned char* const dst = host.data();
    std::memcpy(dst, targets.data(), groups * 4);
    std::memcpy(dst + groups * 4, offsets.data(), (groups + 1) * 4);
    std::memcpy(dst + (2 * groups + 1) * 4, order.data(), count * 4);
    std::memcpy(dst + (2 * groups + 1 + count) * 4, sortedWeights.data(), count * 4);
    auto scratch = uploadScratch(host.data(), host.size(), stream, "cudaAddScaledRows");
    STRATA_TRY(scratch);
    const auto* dTargets = static_cast<const int32_t*>(scratch.value());
    const int32_t* dOffsets = dTargets + groups;
    const int32_t* dEntries = dOffsets + groups + 1;
    const auto* dWeights = reinterpret_cast<const float*>(dEntries + count);
    const dim3 grid{unsigned(groups), columnBlocks(width)};
    addScaledRowsKernel<<<grid, kThreads, 0, stream>>>(dY, width, dSrc, dTargets, dOffsets, dEntries, dWeights);
    const Status launched = cudaStatus(cudaGetLastError(), "cudaAddScaledRows launch");
    const Status freed = cudaStatus(cudaFreeAsync(scratch.value(), stream), "cudaFreeAsync(scatter scratch)");
    return launched.ok() ? freed : launched;
}

}  // namespace strata
