#pragma once
// The mixture-of-experts MLP block: a router picks expertsPerToken experts for each row, and
// each picked expert runs on the rows routed to it, its output added to them weighted by the
// router. Written once against Ops for every MoE family.
#include <cstdint>
#include <span>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "arch/ModelConfig.h"
#include "runtime/WeightSource.h"

namespace strata {

// The rows of a pass that one expert serves, with the router's weight for each.
struct ExpertRoute {
    int32_t expert = 0;
    std::vector<int32_t> rows;   // ascending
    std::vector<float> weights;  // parallel to rows
};

// Top-k routing: each row's top-k router logits (ties to the lower expert), softmax over those
// k. Routes come out in ascending expert order, only for experts some row picked.
std::vector<ExpertRoute> routeTopK(const float* logits, int64_t rows, int64_t numExperts, int64_t k);

// One expert's slice of a stacked expert tensor (role ExpertGateUp or ExpertDown, of `out` output
// features) as the matrix its product takes: [out, in] rows, MXFP4 with its scales, or
// input-major for plain types. An expert part (WeightLayout::experts) holds a stack of one: expert 0.
WeightRef expertWeight(const UnitWeights& w, WeightRole role, int64_t expert, int64_t out);
// One expert's bias row (ExpertGateUpBias or ExpertDownBias).
WeightRef expertBias(const UnitWeights& w, WeightRole role, int64_t expert);

// Backend buffers the block works in: the router's logits for every row of the pass, and an
// expert's work on up to `pieceRows` of its rows at a time.
struct ExpertBuffers {
    int64_t pieceRows = 0;
    float* routerLogits = nullptr;  // [rows, numExperts]
    float* gathered = nullptr;      // [pieceRows, hiddenSize]
    float* gateUp = nullptr;        // [pieceRows, 2 * intermediateSize]
    float* activated = nullptr;     // [pieceRows, intermediateSize]
    float* out = nullptr;           // [pieceRows, hiddenSize]
};

// Floats of each ExpertBuffers buffer, in declaration order, for a pass of `rows` rows taken
// `pieceRows` at a time.
std::vector<size_t> expertBufferFloats(const ModelConfig& config, int64_t rows, int64_t pieceRows);

// Experts read, and rows they served, in one pass: what each expert costs is one read whatever
// the number of rows routed to it.
struct ExpertUse {
    int64_t expertsRun = 0;   // (layer, expert) pairs run
    int64_t rowsServed = 0;   // rows over all of them
};

// x[n, hiddenSize] += MoE(normed): the block of one layer over the n rows of a pass (every chunk,
// every sequence), grouped by expert, so that each picked expert is read once per pass. With a
// source, the experts' matrices come from its expert parts (acquireExpert), one at a time;
// without one, from the layer's unit w.
Status mixtureOfExperts(Ops& ops, const ModelConfig& config, const UnitWeights& w, const float* normed, int64_t n,
                        float* x, const ExpertBuffers& buffers, WeightSource* source = nullptr, int layer = 0,
                        ExpertUse* use = nullptr);

}  // namespace strata
