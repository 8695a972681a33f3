#include "arch/MixtureOfExperts.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

namespace strata {

std::vector<ExpertRoute> routeTopK(const float* logits, int64_t rows, int64_t numExperts, int64_t k) {
    std::vector<ExpertRoute> byExpert(static_cast<size_t>(numExperts));
    std::vector<int32_t> order(static_cast<size_t>(numExperts));
    std::vector<float> top(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = logits + r * numExperts;
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
        // Softmax over the k picked logits, in float as the reference computes it.
        const float max = row[order[0]];
        float sum = 0.0f;
        for (int64_t i = 0; i < k; ++i) sum += top[size_t(i)] = std::exp(row[order[size_t(i)]] - max);
        for (int64_t i = 0; i < k; ++i) {
            ExpertRoute& route = byExpert[size_t(order[size_t(i)])];
            route.rows.push_back(int32_t(r));
            route.weights.push_back(top[size_t(i)] / sum);
        }
    }
    std::vector<ExpertRoute> routes;
    for (int64_t e = 0; e < numExperts; ++e) {
        if (byExpert[size_t(e)].rows.empty()) continue;
        byExpert[size_t(e)].expert = int32_t(e);
        routes.push_back(std::move(byExpert[size_t(e)]));
    }
    return routes;
}

namespace {

// The bytes of one expert in a stacked tensor whose WeightRef is [experts, rest].
uint64_t expertStride(const WeightRef& stacked) { return dtypeBytes(stacked.dtype, stacked.cols); }

const char* expertSlice(const WeightRef& stacked, int64_t expert) {
    return static_cast<const char*>(stacked.data) + uint64_t(expert) * expertStride(stacked);
}

}  // namespace

WeightRef expertWeight(const UnitWeights& w, WeightRole role, int64_t expert, int64_t out) {
    const WeightRef stacked = w.get(role);
    WeightRef ref;
    ref.data = expertSlice(stacked, expert);
    ref.rows = out;
    if (stacked.dtype == DType::U8) {  // MXFP4: 16 bytes of nibbles per 32 inputs of each output row
        const WeightRef scales =
            w.get(role == WeightRole::ExpertGateUp ? WeightRole::ExpertGateUpScales : WeightRole::ExpertDownScales);
        ref.dtype = DType::MXFP4;
        ref.cols = stacked.cols * 2 / out;
        ref.scales = reinterpret_cast<const uint8_t*>(expertSlice(scales, expert));
    } else {
        ref.dtype = stacked.dtype;
        ref.cols = stacked.cols / out;
        ref.inputMajor = true;
    }
    return ref;
}

WeightRef expertBias(const UnitWeights& w, WeightRole role, int64_t expert) {
    const WeightRef stacked = w.get(role);
    return WeightRef{expertSlice(stacked, expert), stacked.dtype, 1, stacked.cols};
}

std::vector<size_t> expertBufferFloats(const ModelConfig& c, int64_t rows, int64_t pieceRows) {
    const auto p = size_t(pieceRows);
    return {size_t(rows) * size_t(c.numExperts), p * size_t(c.hiddenSize), p * size_t(2 * c.intermediateSize),
            p * size_t(c.intermediateSize), p * size_t(c.hiddenSize)};
}

Status mixtureOfExperts(Ops& ops, const ModelConfig& c, const UnitWeights& w, const float* normed, int64_t n,
                        float* x, const ExpertBuffers& b, WeightSource* source, int layer, ExpertUse* use) {
    const int64_t h = c.hiddenSize, ffn = c.intermediateSize;
    linear(ops, w, WeightRole::Router, WeightRole::RouterBias, normed, n, b.routerLogits);
    // The routing decides which experts are read, so it is made on the host.
    std::vector<float> logits(size_t(n * c.numExperts));
    ops.download(logits.data(), b.routerLogits, logits.size());
    STRATA_TRY(ops.takeError());
    for (float v : logits)
        if (!std::isfinite(v)) return internalError("the router's logits are not finite; the model's weights may be damaged");
    const std::vector<ExpertRoute> routes = routeTopK(logits.data(), n, c.numExperts, c.expertsPerToken);
    if (source) {
        // The order they are acquired in below, so that the source can read the next experts while
        // one computes. On the stack, as this runs for every layer of every token: experts past
        // the first kDeclared are read when acquired.
        constexpr size_t kDeclared = 256;
        std::array<int, kDeclared> order;
        const size_t declared = std::min(routes.size(), kDeclared);
        for (size_t i = 0; i < declared; ++i) order[i] = routes[i].expert;
        source->prefetchExperts(layer, std::span<const int>(order.data(), declared));
    }
    for (const ExpertRoute& route : routes) {
        UnitWeights matrices = w;
        int64_t slice = route.expert;
        if (source) {
            auto part = source->acquireExpert(layer, route.expert);
            STRATA_TRY(part);
            matrices = part.value();
            slice = 0;
        }
        const WeightRef gateUp = expertWeight(matrices, WeightRole::ExpertGateUp, slice, 2 * ffn);
        const WeightRef down = expertWeight(matrices, WeightRole::ExpertDown, slice, h);
        const WeightRef gateUpBias = expertBias(w, WeightRole::ExpertGateUpBias, route.expert);
        const WeightRef downBias = expertBias(w, WeightRole::ExpertDownBias, route.expert);
        for (size_t first = 0; first < route.rows.size(); first += size_t(b.pieceRows)) {
            const size_t m = std::min(route.rows.size() - first, size_t(b.pieceRows));
            const std::span<const int32_t> rows(route.rows.data() + first, m);
            ops.gatherRows(normed, h, rows, b.gathered);
            ops.matmul(b.gathered, int64_t(m), gateUp, b.gateUp);
            ops.addWeightRows(b.gateUp, int64_t(m), gateUpBias);
            ops.clampedSwiGlu(b.gateUp, int64_t(m), ffn, float(c.swigluAlpha), float(c.swigluLimit), b.activated);
            ops.matmul(b.activated, int64_t(m), down, b.out);
            ops.addWeightRows(b.out, int64_t(m), downBias);
            ops.addScaledRows(x, h, b.out, rows, std::span<const float>(route.weights.data() + first, m));
        }
        if (source) source->releaseExpert(layer, route.expert);
        if (use) {
            ++use->expertsRun;
            use->rowsServed += int64_t(route.rows.size());
        }
    }
    return {};
}

}  // namespace strata
