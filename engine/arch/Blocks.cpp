#include "arch/Blocks.h"

namespace strata {

namespace {

bool given(WeightRole role) { return role != WeightRole::Count; }

}  // namespace

AttentionShape attentionShapeFor(const ModelConfig& c, int64_t layer) {
    AttentionShape shape;
    shape.numHeads = c.numHeads;
    shape.numKvHeads = c.numKvHeads;
    shape.headDim = c.headDim;
    shape.scale = float(c.attentionScale);
    shape.softcap = float(c.attnLogitSoftcap);
    shape.window = c.isSlidingLayer(layer) ? c.slidingWindow : 0;
    return shape;
}

Status attentionBlock(LayerStep& s, const AttentionOptions& options) {
    Ops& ops = s.ops;
    const ModelConfig& c = s.config;
    const UnitWeights& w = s.weights;
    const ChunkBuffers& b = s.buffers;
    const int64_t n = s.n, qRow = c.numHeads * c.headDim, kvRow = c.numKvHeads * c.headDim;
    const float eps = float(c.rmsNormEps);

    ops.rmsNorm(s.x, n, w.get(WeightRole::InputNorm), eps, c.normAddOne, b.normed);
    linear(ops, w, WeightRole::QProj, WeightRole::QProjBias, b.normed, n, b.q);
    linear(ops, w, WeightRole::KProj, WeightRole::KProjBias, b.normed, n, b.k);
    linear(ops, w, WeightRole::VProj, WeightRole::VProjBias, b.normed, n, b.v);
    if (c.qkNorm) {
        ops.rmsNorm(b.q, n * c.numHeads, w.get(WeightRole::QNorm), eps, c.normAddOne, b.q);
        ops.rmsNorm(b.k, n * c.numKvHeads, w.get(WeightRole::KNorm), eps, c.normAddOne, b.k);
    }
    ops.rope(b.q, n, c.numHeads, c.headDim, s.positions, s.invFreq, RopeStyle::NeoX);
    ops.rope(b.k, n, c.numKvHeads, c.headDim, s.positions, s.invFreq, RopeStyle::NeoX);
    for (const SequencePiece& p : s.pieces)
        STRATA_TRY(p.kv->write(s.layer, b.k + p.row * kvRow, b.v + p.row * kvRow, p.firstPos, p.rows));

    AttentionShape shape = attentionShapeFor(c, s.layer);
    shape.lastKey = s.lastKeys;
    const AttentionState& state = b.state;
    ops.attentionBegin(state, n * c.numHeads, c.headDim);
    // Sequences forked from one cache read its blocks once, for all their rows together.
    const KvCache* shared = s.pieces.front().kv->parent();
    for (const SequencePiece& p : s.pieces)
        if (p.kv->parent() != shared || p.kv->ownStart() != (shared ? shared->length() : 0)) shared = nullptr;
    if (shared) STRATA_TRY(shared->accumulateAll(s.layer, b.q, n, s.positions, shape, state));
    for (const SequencePiece& p : s.pieces) {
        const AttentionState part{state.acc + p.row * qRow, state.max + p.row * c.numHeads,
                                  state.sum + p.row * c.numHeads};
        const float* pq = b.q + p.row * qRow;
        const int32_t* pp = s.positions + p.row;
        AttentionShape pieceShape = shape;
        if (s.lastKeys) pieceShape.lastKey = s.lastKeys + p.row;
        STRATA_TRY(shared ? p.kv->accumulate(s.layer, pq, p.rows, pp, pieceShape, part)
                          : p.kv->accumulateAll(s.layer, pq, p.rows, pp, pieceShape, part));
    }
    if (c.attentionSinks) ops.attentionSinks(state, n, c.numHeads, c.headDim, w.get(WeightRole::AttentionSinks));
    ops.attentionFinish(state, n * c.numHeads, c.headDim, b.attention);
    linear(ops, w, WeightRole::OProj, WeightRole::OProjBias, b.attention, n, b.projected);
    if (given(options.outputNorm))
        ops.rmsNorm(b.projected, n, w.get(options.outputNorm), eps, c.normAddOne, b.projected);
    ops.add(s.x, b.projected, n * c.hiddenSize);
    return {};
}

void denseMlpBlock(LayerStep& s, const FeedForwardOptions& options) {
    Ops& ops = s.ops;
    const ModelConfig& c = s.config;
    const UnitWeights& w = s.weights;
    const ChunkBuffers& b = s.buffers;
    const float eps = float(c.rmsNormEps);
    ops.rmsNorm(s.x, s.n, w.get(options.inputNorm), eps, c.normAddOne, b.normed);
    linear(ops, w, WeightRole::GateProj, WeightRole::GateProjBias, b.normed, s.n, b.gate);
    linear(ops, w, WeightRole::UpProj, WeightRole::UpProjBias, b.normed, s.n, b.up);
    ops.gatedActivation(b.gate, b.up, s.n * c.intermediateSize, c.activation, b.gate);
    linear(ops, w, WeightRole::DownProj, WeightRole::DownProjBias, b.gate, s.n, b.projected);
    if (given(options.outputNorm))
        ops.rmsNorm(b.projected, s.n, w.get(options.outputNorm), eps, c.normAddOne, b.projected);
    ops.add(s.x, b.projected, s.n * c.hiddenSize);
}

Status expertsBlock(LayerPass& p, WeightRole inputNorm) {
    const ModelConfig& c = p.config;
    p.ops.rmsNorm(p.x, p.n, p.weights.get(inputNorm), float(c.rmsNormEps), c.normAddOne, p.normed);
    return mixtureOfExperts(p.ops, c, p.weights, p.normed, p.n, p.x, p.experts, p.expertParts, int(p.layer), p.use);
}

Status addAttentionTensors(WeightUnitBuilder& b, const ModelConfig& c, const std::string& l) {
    const int64_t h = c.hiddenSize, qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    STRATA_TRY(b.add(WeightRole::InputNorm, l + "input_layernorm.weight", {h}));
    STRATA_TRY(b.add(WeightRole::QProj, l + "self_attn.q_proj.weight", {qDim, h}));
    STRATA_TRY(b.add(WeightRole::KProj, l + "self_attn.k_proj.weight", {kvDim, h}));
    STRATA_TRY(b.add(WeightRole::VProj, l + "self_attn.v_proj.weight", {kvDim, h}));
    STRATA_TRY(b.add(WeightRole::OProj, l + "self_attn.o_proj.weight", {h, qDim}));
    if (c.qkvBias) {
        STRATA_TRY(b.add(WeightRole::QProjBias, l + "self_attn.q_proj.bias", {qDim}));
        STRATA_TRY(b.add(WeightRole::KProjBias, l + "self_attn.k_proj.bias", {kvDim}));
        STRATA_TRY(b.add(WeightRole::VProjBias, l + "self_attn.v_proj.bias", {kvDim}));
    }
    if (c.outputBias) STRATA_TRY(b.add(WeightRole::OProjBias, l + "self_attn.o_proj.bias", {h}));
    if (c.qkNorm) {
        STRATA_TRY(b.add(WeightRole::QNorm, l + "self_attn.q_norm.weight", {c.headDim}));
        STRATA_TRY(b.add(WeightRole::KNorm, l + "self_attn.k_norm.weight", {c.headDim}));
    }
    if (c.attentionSinks) STRATA_TRY(b.add(WeightRole::AttentionSinks, l + "self_attn.sinks", {c.numHeads}));
    return {};
}

Status addDenseMlpTensors(WeightUnitBuilder& b, const ModelConfig& c, const std::string& l) {
    const int64_t h = c.hiddenSize, ffn = c.intermediateSize;
    STRATA_TRY(b.add(WeightRole::GateProj, l + "mlp.gate_proj.weight", {ffn, h}));
    STRATA_TRY(b.add(WeightRole::UpProj, l + "mlp.up_proj.weight", {ffn, h}));
    STRATA_TRY(b.add(WeightRole::DownProj, l + "mlp.down_proj.weight", {h, ffn}));
    if (c.mlpBias) {
        STRATA_TRY(b.add(WeightRole::GateProjBias, l + "mlp.gate_proj.bias", {ffn}));
        STRATA_TRY(b.add(WeightRole::UpProjBias, l + "mlp.up_proj.bias", {ffn}));
        STRATA_TRY(b.add(WeightRole::DownProjBias, l + "mlp.down_proj.bias", {h}));
    }
    return {};
}

Status preNormLayerTensors(WeightUnitBuilder& b, const ModelConfig& c, const std::string& l) {
    STRATA_TRY(addAttentionTensors(b, c, l));
    STRATA_TRY(b.add(WeightRole::PostAttentionNorm, l + "post_attention_layernorm.weight", {c.hiddenSize}));
    return addDenseMlpTensors(b, c, l);
}

Status preNormLayerForward(LayerStep& step) {
    STRATA_TRY(attentionBlock(step));
    denseMlpBlock(step, {WeightRole::PostAttentionNorm});
    return {};
}

}  // namespace strata
