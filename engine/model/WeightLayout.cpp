#include "model/WeightLayout.h"

#include <sstream>

namespace strata {

namespace {

std::string shapeText(const std::vector<int64_t>& shape) {
    std::ostringstream s;
    s << '[';
    for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
    s << ']';
    return s.str();
}

struct Builder {
    const Checkpoint& checkpoint;
    WeightUnit unit;

    Status add(WeightRole role, const std::string& name, std::vector<int64_t> expected) {
        const TensorInfo* info = checkpoint.find(name);
        if (!info)
            return badInput("tensor '" + name + "' is missing from the checkpoint in " +
                            checkpoint.files().front().parent_path().string());
        if (info->shape != expected)
            return badInput("tensor '" + name + "' has shape " + shapeText(info->shape) + " but config.json implies " +
                            shapeText(expected));
        unit.bytes = (unit.bytes + 63) / 64 * 64;
        unit.tensors.push_back({role, info, unit.bytes});
        unit.bytes += info->nbytes;
        return {};
    }
};

}  // namespace

uint64_t WeightLayout::totalBytes() const {
    uint64_t total = embedding ? embedding->nbytes : 0;
    for (const WeightUnit& u : units) total += u.bytes;
    return total;
}

Result<WeightLayout> buildWeightLayout(const ModelConfig& c, const Checkpoint& checkpoint) {
    WeightLayout layout;
    const std::string& p = c.tensorPrefix;
    const std::string embedName = p + "embed_tokens.weight";
    layout.embedding = checkpoint.find(embedName);
    if (!layout.embedding) return badInput("tensor '" + embedName + "' is missing from the checkpoint");
    if (layout.embedding->shape != std::vector<int64_t>{c.vocabSize, c.hiddenSize})
        return badInput("tensor '" + embedName + "' has shape " + shapeText(layout.embedding->shape) +
                        " but config.json implies " + shapeText({c.vocabSize, c.hiddenSize}));

    const int64_t h = c.hiddenSize, qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    const int64_t ffn = c.intermediateSize;
    for (int64_t i = 0; i < c.numLayers; ++i) {
        const std::string l = p + "layers." + std::to_string(i) + ".";
        Builder b{checkpoint, {}};
        b.unit.label = "layer " + std::to_string(i);
        STRATA_TRY(b.add(WeightRole::InputNorm, l + "input_layernorm.weight", {h}));
        STRATA_TRY(b.add(WeightRole::QProj, l + "self_attn.q_proj.weight", {qDim, h}));
        STRATA_TRY(b.add(WeightRole::KProj, l + "self_attn.k_proj.weight", {kvDim, h}));
        STRATA_TRY(b.add(WeightRole::VProj, l + "self_attn.v_proj.weight", {kvDim, h}));
        STRATA_TRY(b.add(WeightRole::OProj, l + "self_attn.o_proj.weight", {h, qDim}));
        if (c.qkNorm) {
            STRATA_TRY(b.add(WeightRole::QNorm, l + "self_attn.q_norm.weight", {c.headDim}));
            STRATA_TRY(b.add(WeightRole::KNorm, l + "self_attn.k_norm.weight", {c.headDim}));
        }
        STRATA_TRY(b.add(WeightRole::PostAttentionNorm, l + "post_attention_layernorm.weight", {h}));
        if (c.sandwichNorms) {
            STRATA_TRY(b.add(WeightRole::PreFeedforwardNorm, l + "pre_feedforward_layernorm.weight", {h}));
            STRATA_TRY(b.add(WeightRole::PostFeedforwardNorm, l + "post_feedforward_layernorm.weight", {h}));
        }
        STRATA_TRY(b.add(WeightRole::GateProj, l + "mlp.gate_proj.weight", {ffn, h}));
        STRATA_TRY(b.add(WeightRole::UpProj, l + "mlp.up_proj.weight", {ffn, h}));
        STRATA_TRY(b.add(WeightRole::DownProj, l + "mlp.down_proj.weight", {h, ffn}));
        layout.units.push_back(std::move(b.unit));
    }
    Builder head{checkpoint, {}};
    head.unit.label = "head";
    STRATA_TRY(head.add(WeightRole::FinalNorm, p + "norm.weight", {h}));
    STRATA_TRY(head.add(WeightRole::LmHead, c.tieWordEmbeddings ? embedName : c.lmHeadName, {c.vocabSize, h}));
    layout.units.push_back(std::move(head.unit));
    return layout;
}

}  // namespace strata
