#include "model/WeightLayout.h"

#include <algorithm>
#include <tuple>
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

    // bytes: the tensor is packed data stored as U8 (MXFP4 blocks and scales); any other tensor
    // must be a floating-point type.
    Status add(WeightRole role, const std::string& name, std::vector<int64_t> expected, bool bytes = false) {
        const TensorInfo* info = checkpoint.find(name);
        if (!info)
            return badInput("tensor '" + name + "' is missing from the checkpoint in " +
                            checkpoint.files().front().parent_path().string());
        if (info->shape != expected)
            return badInput("tensor '" + name + "' has shape " + shapeText(info->shape) + " but config.json implies " +
                            shapeText(expected));
        if (bytes != (info->dtype == DType::U8))
            return badInput("tensor '" + name + "' is " + std::string(dtypeName(info->dtype)) +
                            (bytes ? " but MXFP4 blocks and scales are stored as U8 bytes"
                                   : ", raw bytes where a floating-point weight is expected"));
        unit.tensors.push_back({role, info});
        return {};
    }
};

// gpt-oss's router and experts, as its Hugging Face checkpoints store them: bf16 experts
// input-major ([experts, in, out], applied as x @ W), MXFP4 experts as [experts, out, in / 32]
// groups of 16 bytes with one scale byte per group. Biases are [experts, out].
Status addExperts(Builder& b, const ModelConfig& c, const std::string& mlp) {
    const int64_t h = c.hiddenSize, ffn = c.intermediateSize, e = c.numExperts;
    STRATA_TRY(b.add(WeightRole::Router, mlp + "router.weight", {e, h}));
    STRATA_TRY(b.add(WeightRole::RouterBias, mlp + "router.bias", {e}));
    const std::string x = mlp + "experts.";
    if (c.expertsMxfp4) {
        if (h % 32 != 0 || ffn % 32 != 0)
            return badInput("MXFP4 experts need hidden_size and intermediate_size in multiples of 32");
        STRATA_TRY(b.add(WeightRole::ExpertGateUp, x + "gate_up_proj_blocks", {e, 2 * ffn, h / 32, 16}, true));
        STRATA_TRY(b.add(WeightRole::ExpertGateUpScales, x + "gate_up_proj_scales", {e, 2 * ffn, h / 32}, true));
        STRATA_TRY(b.add(WeightRole::ExpertDown, x + "down_proj_blocks", {e, h, ffn / 32, 16}, true));
        STRATA_TRY(b.add(WeightRole::ExpertDownScales, x + "down_proj_scales", {e, h, ffn / 32}, true));
    } else {
        STRATA_TRY(b.add(WeightRole::ExpertGateUp, x + "gate_up_proj", {e, h, 2 * ffn}));
        STRATA_TRY(b.add(WeightRole::ExpertDown, x + "down_proj", {e, ffn, h}));
    }
    STRATA_TRY(b.add(WeightRole::ExpertGateUpBias, x + "gate_up_proj_bias", {e, 2 * ffn}));
    STRATA_TRY(b.add(WeightRole::ExpertDownBias, x + "down_proj_bias", {e, h}));
    return {};
}

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// Tensors further apart in a file than this are read as separate extents rather than reading the gap.
constexpr uint64_t kMaxExtentGap = uint64_t(64) << 10;

// Places plain tensors in file-ordered extents, then converted (GGUF-quantised) tensors after them.
void placeTensors(WeightUnit& unit) {
    constexpr uint64_t A = UnitExtent::kAlignment;
    std::vector<size_t> plain;
    for (size_t i = 0; i < unit.tensors.size(); ++i)
        if (!unit.tensors[i].info->encoding) plain.push_back(i);
    std::sort(plain.begin(), plain.end(), [&](size_t a, size_t b) {
        const TensorInfo& x = *unit.tensors[a].info;
        const TensorInfo& y = *unit.tensors[b].info;
        return std::tie(x.fileIndex, x.offset) < std::tie(y.fileIndex, y.offset);
    });
    unit.bytes = 0;
    uint64_t end = 0;  // file offset past the current extent's last tensor
    for (size_t i : plain) {
        UnitTensor& t = unit.tensors[i];
        const TensorInfo& info = *t.info;
        const bool extend = !unit.extents.empty() && unit.extents.back().fileIndex == info.fileIndex &&
                            info.offset <= end + kMaxExtentGap;
        if (!extend) {
            unit.bytes = alignUp(unit.bytes, A);
            UnitExtent e;
            e.fileIndex = info.fileIndex;
            e.fileOffset = info.offset / A * A;
            e.bufferOffset = unit.bytes;
            unit.extents.push_back(e);
            end = info.offset;
        }
        UnitExtent& e = unit.extents.back();
        end = std::max(end, info.offset + info.nbytes);
        e.dataBytes = end - e.fileOffset;
        e.bytes = alignUp(e.dataBytes, A);
        t.bufferOffset = e.bufferOffset + (info.offset - e.fileOffset);
        t.inExtent = true;
        unit.bytes = e.bufferOffset + e.bytes;
    }
    for (UnitTensor& t : unit.tensors) {
        if (t.inExtent) continue;
        unit.bytes = alignUp(unit.bytes, 64);
        t.bufferOffset = unit.bytes;
        unit.bytes += t.info->nbytes;
    }
}

}  // namespace

uint64_t WeightLayout::totalBytes() const {
    uint64_t total = embedding ? embedding->nbytes : 0;
    for (const WeightUnit& u : units) total += u.bytes;
    for (const auto& layer : experts)
        for (const WeightUnit& u : layer) total += u.bytes;
    return total;
}

void splitExperts(WeightLayout& layout, int64_t numExperts) {
    layout.expertSlices = std::make_shared<std::deque<TensorInfo>>();
    for (int layer = 0; layer < layout.headUnit(); ++layer) {
        WeightUnit& unit = layout.units[size_t(layer)];
        std::vector<UnitTensor> stacked;
        std::erase_if(unit.tensors, [&](const UnitTensor& t) {
            if (isExpertMatrix(t.role)) stacked.push_back(t);
            return isExpertMatrix(t.role);
        });
        if (stacked.empty()) continue;
        layout.experts.resize(size_t(layout.headUnit()));
        for (int64_t e = 0; e < numExperts; ++e) {
            WeightUnit part;
            part.label = unit.label + " expert " + std::to_string(e);
            for (const UnitTensor& t : stacked) {
                // Expert e's slice: the same name, one expert's bytes, a first dimension of 1.
                TensorInfo slice = *t.info;
                slice.nbytes = t.info->nbytes / uint64_t(numExperts);
                slice.offset = t.info->offset + uint64_t(e) * slice.nbytes;
                slice.shape[0] = 1;
                layout.expertSlices->push_back(std::move(slice));
                part.tensors.push_back({t.role, &layout.expertSlices->back()});
            }
            placeTensors(part);
            layout.largestExpertBytes = std::max(layout.largestExpertBytes, part.bytes);
            layout.experts[size_t(layer)].push_back(std::move(part));
        }
        unit.extents.clear();
        for (UnitTensor& t : unit.tensors) t.inExtent = false;
        placeTensors(unit);
    }
}

Result<WeightUnit> buildWeightUnit(const Checkpoint& checkpoint, std::string label,
                                   const std::vector<TensorSpec>& tensors) {
    Builder b{checkpoint, {}};
    b.unit.label = std::move(label);
    for (const TensorSpec& t : tensors) STRATA_TRY(b.add(t.role, t.name, t.shape));
    placeTensors(b.unit);
    return std::move(b.unit);
}

std::set<std::string> WeightLayout::tensorNames() const {
    std::set<std::string> names;
    for (const WeightUnit& unit : units)
        for (const UnitTensor& t : unit.tensors) names.insert(t.info->name);
    for (const auto& layer : experts)
        for (const WeightUnit& unit : layer)
            for (const UnitTensor& t : unit.tensors) names.insert(t.info->name);
    return names;
}

Status refuseUnusedTensors(const Checkpoint& checkpoint, const std::function<bool(const std::string&)>& inScope,
                           const std::set<std::string>& used, const std::string& reader) {
    // Known to be unused: buffers some exports save beside the weights, recomputed from config.json.
    auto knownUnused = [](const std::string& name) {
        static const std::string invFreq = "rotary_emb.inv_freq";
        return name.size() >= invFreq.size() && name.compare(name.size() - invFreq.size(), invFreq.size(), invFreq) == 0;
    };
    std::vector<const TensorInfo*> unused;
    for (const auto& [name, info] : checkpoint.tensors())
        if (inScope(name) && !used.count(name) && !knownUnused(name)) unused.push_back(&info);
    if (unused.empty()) return {};
    std::string others;
    if (unused.size() > 1)
        others = " (and " + std::to_string(unused.size() - 1) + " other" + (unused.size() > 2 ? "s" : "") + ")";
    const TensorInfo& first = *unused.front();
    return badInput("tensor '" + first.name + "'" + others + " in " + checkpoint.files()[first.fileIndex].string() +
                    " is not one the " + reader +
                    " uses; it may be arithmetic Strata does not implement, so the load is refused rather than "
                    "risking wrong answers");
}

Result<WeightLayout> buildWeightLayout(const ModelConfig& c, const Checkpoint& checkpoint) {
    WeightLayout layout;
    const std::string& p = c.tensorPrefix;
    const std::string embedName = p + "embed_tokens.weight";
    layout.embedding = checkpoint.find(embedName);
    if (!layout.embedding) return badInput("tensor '" + embedName + "' is missing from the checkpoint");
    if (layout.embedding->dtype == DType::U8)
        return badInput("tensor '" + embedName + "' holds raw bytes (U8), not a floating-point embedding table");
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
        STRATA_TRY(b.add(WeightRole::PostAttentionNorm, l + "post_attention_layernorm.weight", {h}));
        if (c.isMixtureOfExperts()) {
            STRATA_TRY(addExperts(b, c, l + "mlp."));
            placeTensors(b.unit);
            layout.units.push_back(std::move(b.unit));
            continue;
        }
        if (c.sandwichNorms) {
            STRATA_TRY(b.add(WeightRole::PreFeedforwardNorm, l + "pre_feedforward_layernorm.weight", {h}));
            STRATA_TRY(b.add(WeightRole::PostFeedforwardNorm, l + "post_feedforward_layernorm.weight", {h}));
        }
        STRATA_TRY(b.add(WeightRole::GateProj, l + "mlp.gate_proj.weight", {ffn, h}));
        STRATA_TRY(b.add(WeightRole::UpProj, l + "mlp.up_proj.weight", {ffn, h}));
        STRATA_TRY(b.add(WeightRole::DownProj, l + "mlp.down_proj.weight", {h, ffn}));
        if (c.mlpBias) {
            STRATA_TRY(b.add(WeightRole::GateProjBias, l + "mlp.gate_proj.bias", {ffn}));
            STRATA_TRY(b.add(WeightRole::UpProjBias, l + "mlp.up_proj.bias", {ffn}));
            STRATA_TRY(b.add(WeightRole::DownProjBias, l + "mlp.down_proj.bias", {h}));
        }
        placeTensors(b.unit);
        layout.units.push_back(std::move(b.unit));
    }
    Builder head{checkpoint, {}};
    head.unit.label = "head";
    STRATA_TRY(head.add(WeightRole::FinalNorm, p + "norm.weight", {h}));
    STRATA_TRY(head.add(WeightRole::LmHead, c.tieWordEmbeddings ? embedName : c.lmHeadName, {c.vocabSize, h}));
    placeTensors(head.unit);
    layout.units.push_back(std::move(head.unit));

    std::set<std::string> used = layout.tensorNames();
    used.insert(embedName);
    // llama.cpp keeps Llama 3's rope scaling as a tensor, which the GGUF config reader consumed.
    if (checkpoint.gguf() && c.arch == Architecture::Llama) used.insert("rope_freqs.weight");
    // The multimodal wrappers' towers and projectors check their own tensors when they load.
    std::vector<std::string> encoders;
    if (c.modelType == "gemma3") encoders = {"vision_tower.", "multi_modal_projector."};
    if (c.modelType == "voxtral") encoders = {"audio_tower.", "multi_modal_projector."};
    auto inScope = [&](const std::string& name) {
        for (const std::string& e : encoders)
            if (name.rfind(e, 0) == 0 || name.rfind("model." + e, 0) == 0) return false;
        return true;
    };
    STRATA_TRY(refuseUnusedTensors(checkpoint, inScope, used, c.modelType + " decoder"));
    return layout;
}

}  // namespace strata
