#include "backend/Ops.h"

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

}  // namespace strata
