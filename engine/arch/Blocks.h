#pragma once
// The blocks families build their layers from: attention (with its flags: grouped KV heads,
// sliding window, q/k norms, sinks, soft-cap, a norm on its output), the dense gated MLP, and the
// mixture of experts, with the tensors each reads. A family's forwardChunk and forwardPass
// (arch/ModelFamily.h) are a few calls to these.
#include <cstdint>
#include <span>
#include <string>

#include "arch/MixtureOfExperts.h"
#include "arch/ModelConfig.h"
#include "backend/Ops.h"
#include "core/Result.h"
#include "kv/KvCache.h"
#include "runtime/WeightLayout.h"
#include "runtime/WeightSource.h"

namespace strata {

// A run of consecutive rows of one sequence inside a chunk.
struct SequencePiece {
    KvCache* kv = nullptr;
    int64_t row = 0;  // first row, counted from the chunk's start
    int64_t rows = 0;
    int64_t firstPos = 0;
};

// Backend buffers of a chunk's work, each sized for the chunk (the driver's scratch).
struct ChunkBuffers {
    float* normed = nullptr;  // [rows, hiddenSize]
    float* q = nullptr;       // [rows, heads * headDim]
    float* k = nullptr;       // [rows, kvHeads * headDim]
    float* v = nullptr;
    float* attention = nullptr;  // [rows, heads * headDim]
    AttentionState state;        // acc [rows, heads * headDim], max and sum [rows, heads]
    float* projected = nullptr;  // [rows, hiddenSize]
    float* gate = nullptr;       // [rows, intermediateSize]; dense MLPs only
    float* up = nullptr;
};

// One layer's work on one chunk of a forward pass: x holds the chunk's n hidden rows and is
// updated in place.
struct LayerStep {
    Ops& ops;
    const ModelConfig& config;
    const UnitWeights& weights;
    int64_t layer = 0;
    float* x = nullptr;
    int64_t n = 0;
    const int32_t* positions = nullptr;  // per row
    const int32_t* lastKeys = nullptr;   // per row, when some span is attended both ways; else null
    std::span<const SequencePiece> pieces;
    const float* invFreq = nullptr;      // the layer's rope frequencies
    ChunkBuffers buffers;
};

// One layer's work over every row of a pass, after every chunk's LayerStep.
struct LayerPass {
    Ops& ops;
    const ModelConfig& config;
    const UnitWeights& weights;
    int64_t layer = 0;
    float* x = nullptr;  // [n, hiddenSize], updated in place
    int64_t n = 0;
    float* normed = nullptr;  // [n, hiddenSize]
    ExpertBuffers experts;
    WeightSource* expertParts = nullptr;  // the source of expert parts, when the layout splits them
    ExpertUse* use = nullptr;
};

// The attention of one layer: heads, scale, soft-cap and, on a sliding layer, its window.
AttentionShape attentionShapeFor(const ModelConfig& config, int64_t layer);

// Attention: x += O(attend(rope(norm(Q x)), rope(norm(K x)), V x)), its keys and values appended
// to each sequence's cache. q/k norms when config.qkNorm, sinks when config.attentionSinks,
// biases when the unit has them; outputNorm (when not Count) normalises the output before the
// residual add.
struct AttentionOptions {
    WeightRole outputNorm = WeightRole::Count;
};
Status attentionBlock(LayerStep& step, const AttentionOptions& options = {});

// The gated MLP: x += down(act(gate(n)) * up(n)) with n = inputNorm(x); outputNorm (when not
// Count) normalises its output before the residual add.
struct FeedForwardOptions {
    WeightRole inputNorm = WeightRole::PostAttentionNorm;
    WeightRole outputNorm = WeightRole::Count;
};
void denseMlpBlock(LayerStep& step, const FeedForwardOptions& options = {});

// The mixture of experts over the pass: x += MoE(inputNorm(x)).
Status expertsBlock(LayerPass& pass, WeightRole inputNorm);

// The tensors of the attention block under `prefix` ("model.layers.N."): input_layernorm, the
// q, k, v and o projections with the biases the config asks for, q/k norms and sinks.
Status addAttentionTensors(WeightUnitBuilder& unit, const ModelConfig& config, const std::string& prefix);
// gate_proj, up_proj and down_proj under prefix + "mlp.", with biases when config.mlpBias.
Status addDenseMlpTensors(WeightUnitBuilder& unit, const ModelConfig& config, const std::string& prefix);

// The plain pre-norm decoder layer: attention, then the gated MLP behind
// post_attention_layernorm (its name in transformers for the norm in front of the MLP).
Status preNormLayerTensors(WeightUnitBuilder& unit, const ModelConfig& config, const std::string& prefix);
Status preNormLayerForward(LayerStep& step);

}  // namespace strata
