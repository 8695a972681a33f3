#include "backend/Ops.h"

#include "backend/cpu/CpuKernels.h"

#include <cmath>
#include <numeric>
#include <vector>

#include "runtime/WeightStreamer.h"

namespace strata {

Result<std::unique_ptr<WeightSource>> Ops::makeWeightSource(const Checkpoint& checkpoint, const WeightLayout& layout,
                                                            const ResidencyPlan& plan) {
    if (plan.deviceTier)
        return badInput("a VRAM budget was given, but models run on the " + std::string(name()) +
                        " backend, which has no device memory to place weights in");
    auto streamer = std::make_unique<WeightStreamer>(checkpoint, layout, plan);
    STRATA_TRY(streamer->start());
    return std::unique_ptr<WeightSource>(std::move(streamer));
}

void Ops::bidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads,
                                 int64_t headDim, float* out) {
    std::vector<int32_t> positions(static_cast<size_t>(n));
    std::iota(positions.begin(), positions.end(), 0);
    const std::vector<int32_t> lastKey(size_t(n), int32_t(n - 1));
    AttentionShape shape;
    shape.numHeads = heads;
    shape.numKvHeads = heads;
    shape.headDim = headDim;
    shape.scale = 1.0f / std::sqrt(float(headDim));
    shape.lastKey = lastKey.data();
    const int64_t rows = n * heads;
    float* max = allocate(size_t(rows));
    float* sum = allocate(size_t(rows));
    const AttentionState state{out, max, sum};  // the accumulator is the output, normalised in place
    const KvSegment all{k, v, 0, n};
    attentionBegin(state, rows, headDim);
    attentionAccumulate(q, n, positions.data(), {&all, 1}, shape, state);
    attentionFinish(state, rows, headDim, out);
    release(max);
    release(sum);
}

namespace {

// Host copies of backend memory for the defaults below: the memory itself on a host backend.
struct HostView {
    Ops& ops;
    float* backend;
    size_t floats;
    std::vector<float> copy;
    HostView(Ops& o, const float* p, size_t n, bool read) : ops(o), backend(const_cast<float*>(p)), floats(n) {
        if (ops.memoryIsHost()) return;
        copy.resize(n);
        if (read) ops.download(copy.data(), p, n);
    }
    float* data() { return ops.memoryIsHost() ? backend : copy.data(); }
    void writeBack() {
        if (!ops.memoryIsHost()) ops.upload(backend, copy.data(), floats);
    }
};

}  // namespace

void Ops::clampedSwiGlu(const float* gateUp, int64_t n, int64_t width, float alpha, float limit, float* out) {
    HostView in(*this, gateUp, size_t(n * 2 * width), true), result(*this, out, size_t(n * width), false);
    cpu::clampedSwiGlu(in.data(), n, width, alpha, limit, result.data());
    result.writeBack();
}

void Ops::gatherRows(const float* src, int64_t width, std::span<const int32_t> rows, float* dst) {
    int64_t srcRows = 0;
    for (int32_t r : rows) srcRows = std::max<int64_t>(srcRows, r + 1);
    HostView in(*this, src, size_t(srcRows * width), true), result(*this, dst, rows.size() * size_t(width), false);
    cpu::gatherRows(in.data(), width, rows, result.data());
    result.writeBack();
}

void Ops::addScaledRows(float* y, int64_t width, const float* src, std::span<const int32_t> rows,
                        std::span<const float> weights) {
    int64_t yRows = 0;
    for (int32_t r : rows) yRows = std::max<int64_t>(yRows, r + 1);
    HostView in(*this, src, rows.size() * size_t(width), true), result(*this, y, size_t(yRows * width), true);
    cpu::addScaledRows(result.data(), width, in.data(), rows, weights);
    result.writeBack();
}

void Ops::attentionSinks(const AttentionState& state, int64_t n, int64_t numHeads, int64_t headDim,
                         const WeightRef& sinks) {
    // The sinks are a weight: host memory only on a host backend, which is all this default serves.
    std::vector<float> values(static_cast<size_t>(numHeads));
    widenToFloat(sinks.data, sinks.dtype, values.size(), values.data());
    const int64_t rows = n * numHeads;
    HostView acc(*this, state.acc, size_t(rows * headDim), true), max(*this, state.max, size_t(rows), true),
        sum(*this, state.sum, size_t(rows), true);
    cpu::attentionSinks({acc.data(), max.data(), sum.data()}, n, numHeads, headDim, values.data());
    acc.writeBack();
    max.writeBack();
    sum.writeBack();
}

}  // namespace strata
