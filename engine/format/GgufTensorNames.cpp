#include "format/GgufTensorNames.h"

#include <map>
#include <regex>

#include "format/GgmlQuants.h"
#include "format/Mxfp4.h"

namespace strata {
namespace {

struct NameRule {
    const char* gguf;  // the part after "blk.N."
    const char* hf;    // the part after "model.layers.N."
};

// ffn_norm, the norm before the MLP, is named by the architecture's conventions (a sandwich-norm
// layer's post_attention_layernorm is GGUF's post_attention_norm).
constexpr NameRule kLayerRules[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_output.bias", "self_attn.o_proj.bias"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
    {"post_attention_norm.weight", "post_attention_layernorm.weight"},
    {"post_ffw_norm.weight", "post_feedforward_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"ffn_gate.bias", "mlp.gate_proj.bias"},
    {"ffn_up.bias", "mlp.up_proj.bias"},
    {"ffn_down.bias", "mlp.down_proj.bias"},
};

// "blk.N.rest": a layer's tensor, N and rest captured.
const std::regex& layerTensorName() {
    static const std::regex pattern(R"(^blk\.([0-9]{1,6})\.(.+)$)");
    return pattern;
}

std::string hfName(const std::string& ggufName, const GgufConventions& conventions) {
    if (ggufName == "token_embd.weight") return "model.embed_tokens.weight";
    if (ggufName == "output_norm.weight") return "model.norm.weight";
    if (ggufName == "output.weight") return "lm_head.weight";
    std::smatch m;
    if (!std::regex_match(ggufName, m, layerTensorName())) return ggufName;
    const std::string prefix = "model.layers." + m[1].str() + ".";
    const std::string rest = m[2].str();
    if (rest == "ffn_norm.weight") return prefix + conventions.ffnNormName;
    for (const NameRule& r : kLayerRules)
        if (rest == r.gguf) return prefix + r.hf;
    for (const auto& [gguf, hf] : conventions.layerNames)
        if (rest == gguf) return prefix + hf;
    return ggufName;
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One layer's expert tensors as llama.cpp stores gate and up apart (GgufConventions::gateUpExperts).
struct StoredExperts {
    const GgufTensor* gate = nullptr;  // ffn_gate_exps.weight, [hidden, ffn, experts] fastest first
    const GgufTensor* up = nullptr;
    const GgufTensor* down = nullptr;  // ffn_down_exps.weight, [ffn, hidden, experts]
    const GgufTensor* gateBias = nullptr;  // ffn_gate_exps.bias, [ffn, experts]
    const GgufTensor* upBias = nullptr;
};

// Which StoredExperts slot a layer tensor fills, or nullptr when it is not one of them.
const GgufTensor** expertSlot(StoredExperts& x, const std::string& rest) {
    if (rest == "ffn_gate_exps.weight") return &x.gate;
    if (rest == "ffn_up_exps.weight") return &x.up;
    if (rest == "ffn_down_exps.weight") return &x.down;
    if (rest == "ffn_gate_exps.bias") return &x.gateBias;
    if (rest == "ffn_up_exps.bias") return &x.upBias;
    return nullptr;
}

bool plainFloat(uint32_t type) {
    return type == uint32_t(GgmlType::F32) || type == uint32_t(GgmlType::F16) || type == uint32_t(GgmlType::BF16);
}

std::string dimsText(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

// One presented tensor of a layer's experts, rebuilt from `sources` as it is read.
TensorInfo repackedTensor(const std::string& name, DType dtype, std::vector<int64_t> shape, int fileIndex,
                          ExpertRepack::Part part, std::vector<const GgufTensor*> sources, int64_t rowsPerSource,
                          uint64_t storedRowBytes) {
    TensorInfo info;
    info.name = name;
    info.dtype = dtype;
    info.shape = std::move(shape);
    info.fileIndex = fileIndex;
    info.offset = sources.front()->offset;
    info.nbytes = dtypeBytes(dtype, info.numel());
    ExpertRepack r;
    r.part = part;
    for (const GgufTensor* t : sources) r.sources.push_back({t->name, t->offset});
    r.experts = info.shape.front();
    r.rowsPerSource = rowsPerSource;
    r.storedRowBytes = storedRowBytes;
    r.presentedOffset = info.offset;
    StoredEncoding enc;
    enc.ggmlType = sources.front()->type;
    enc.experts = std::move(r);
    info.encoding = std::move(enc);
    return info;
}

// The experts of one layer in Hugging Face's layout (see GgufConventions::gateUpExperts): the
// MXFP4 blocks and scales of gate_up_proj (gate and up rows interleaved) and down_proj, and the
// interleaved gate_up_proj_bias. What a tensor lacks (its partner, MXFP4 storage, matching
// sizes) is reported by its GGUF name.
Status addHfExperts(const GgufFile& gguf, int fileIndex, int64_t layer, const StoredExperts& x,
                    std::vector<TensorInfo>& out) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    const std::string hf = "model.layers." + std::to_string(layer) + ".mlp.experts.";
    auto missing = [&](const char* absent, const GgufTensor& present) {
        return badInput(gguf.name() + " has tensor '" + present.name + "' but no '" + blk + absent +
                        "' beside it; these experts are stored as gate, up and down matrices apart");
    };
    auto differ = [&](const GgufTensor& a, const GgufTensor& b) {
        return badInput(gguf.name() + ": tensor '" + a.name + "' is " + ggmlTypeName(a.type) + " " + dimsText(a.dims) +
                        " and '" + b.name + "' " + ggmlTypeName(b.type) + " " + dimsText(b.dims) +
                        "; the experts' tensors of a layer must agree");
    };
    const GgufTensor* anyWeight = x.gate ? x.gate : x.up ? x.up : x.down;
    if (anyWeight) {
        if (!x.gate) return missing("ffn_gate_exps.weight", *anyWeight);
        if (!x.up) return missing("ffn_up_exps.weight", *anyWeight);
        if (!x.down) return missing("ffn_down_exps.weight", *anyWeight);
        for (const GgufTensor* t : {x.gate, x.up, x.down}) {
            if (t->type != uint32_t(GgmlType::MXFP4))
                return badInput(gguf.name() + ": tensor '" + t->name + "' is " + ggmlTypeName(t->type) +
                                "; Strata reads these experts stored as MXFP4, as llama.cpp's converter writes them "
                                "from MXFP4 checkpoints");
            if (t->dims.size() != 3)
                return badInput(gguf.name() + ": tensor '" + t->name + "' has dimensions " + dimsText(t->dims) +
                                "; a stack of experts has three");
        }
        if (x.up->dims != x.gate->dims) return differ(*x.gate, *x.up);
        const int64_t hidden = x.gate->dims[0], ffn = x.gate->dims[1], experts = x.gate->dims[2];
        const std::vector<int64_t> downDims{ffn, hidden, experts};
        if (x.down->dims != downDims) return differ(*x.gate, *x.down);
        // Whole 17-byte blocks along each row (the GGUF reader checked the row lengths).
        const uint64_t gateRow = uint64_t(hidden / kMxfp4BlockElements) * kMxfp4GgufBlockBytes;
        const uint64_t downRow = uint64_t(ffn / kMxfp4BlockElements) * kMxfp4GgufBlockBytes;
        using Part = ExpertRepack::Part;
        out.push_back(repackedTensor(hf + "gate_up_proj_blocks", DType::U8,
                                     {experts, 2 * ffn, hidden / kMxfp4BlockElements, 16}, fileIndex,
                                     Part::Mxfp4Blocks, {x.gate, x.up}, ffn, gateRow));
        out.push_back(repackedTensor(hf + "gate_up_proj_scales", DType::U8,
                                     {experts, 2 * ffn, hidden / kMxfp4BlockElements}, fileIndex, Part::Mxfp4Scales,
                                     {x.gate, x.up}, ffn, gateRow));
        out.push_back(repackedTensor(hf + "down_proj_blocks", DType::U8,
                                     {experts, hidden, ffn / kMxfp4BlockElements, 16}, fileIndex, Part::Mxfp4Blocks,
                                     {x.down}, hidden, downRow));
        out.push_back(repackedTensor(hf + "down_proj_scales", DType::U8,
                                     {experts, hidden, ffn / kMxfp4BlockElements}, fileIndex, Part::Mxfp4Scales,
                                     {x.down}, hidden, downRow));
    }
    const GgufTensor* anyBias = x.gateBias ? x.gateBias : x.upBias;
    if (anyBias) {
        if (!x.gateBias) return missing("ffn_gate_exps.bias", *anyBias);
        if (!x.upBias) return missing("ffn_up_exps.bias", *anyBias);
        if (x.upBias->dims != x.gateBias->dims || x.upBias->type != x.gateBias->type)
            return differ(*x.gateBias, *x.upBias);
        if (x.gateBias->dims.size() != 2 || !plainFloat(x.gateBias->type))
            return badInput(gguf.name() + ": tensor '" + x.gateBias->name + "' is " + ggmlTypeName(x.gateBias->type) +
                            " " + dimsText(x.gateBias->dims) + "; the experts' biases are F32, F16 or BF16 rows, one "
                            "per expert");
        const DType dtype = x.gateBias->type == uint32_t(GgmlType::F32)   ? DType::F32
                            : x.gateBias->type == uint32_t(GgmlType::F16) ? DType::F16
                                                                          : DType::BF16;
        const int64_t ffn = x.gateBias->dims[0], experts = x.gateBias->dims[1];
        // One value per row, gate and up interleaved as their matrices' rows are.
        out.push_back(repackedTensor(hf + "gate_up_proj_bias", dtype, {experts, 2 * ffn}, fileIndex,
                                     ExpertRepack::Part::Rows, {x.gateBias, x.upBias}, ffn, dtypeSize(dtype)));
    }
    return {};
}

}  // namespace

Result<std::vector<TensorInfo>> hfTensorsFromGguf(const GgufFile& gguf, int fileIndex) {
    auto arch = gguf.getString("general.architecture");
    STRATA_TRY(arch);
    const std::string& a = arch.value();
    const GgufConventions* conventions = ggufConventionsFor(a);
    if (!conventions)
        return badInput(gguf.name() + " holds a '" + a + "' model; Strata runs GGUF architectures " +
                        supportedGgufArchitectures());
    int64_t heads = 0, kvHeads = 0;
    if (conventions->permutedQueryKeyRows) {
        auto h = gguf.getInt(a + ".attention.head_count");
        STRATA_TRY(h);
        heads = h.value();
        kvHeads = gguf.intOr(a + ".attention.head_count_kv").value_or(heads);
        if (heads <= 0 || kvHeads <= 0) return badInput(gguf.name() + ": the head counts must be positive");
    }
    std::vector<TensorInfo> out;
    out.reserve(gguf.tensors().size());
    std::map<int64_t, StoredExperts> experts;  // by layer
    for (const GgufTensor& t : gguf.tensors()) {
        if (conventions->gateUpExperts) {
            std::smatch m;
            if (std::regex_match(t.name, m, layerTensorName())) {
                const int64_t layer = std::stoll(m[1].str());
                // convert_hf_to_gguf can also fuse gate and up into one tensor (not its default).
                if (m[2].str().rfind("ffn_gate_up_exps.", 0) == 0)
                    return badInput(gguf.name() + ": tensor '" + t.name + "' holds the experts' gate and up "
                                    "matrices fused; Strata reads them as two tensors (ffn_gate_exps, ffn_up_exps), "
                                    "as llama.cpp's converter writes them by default");
                if (const GgufTensor** slot = expertSlot(experts[layer], m[2].str())) {
                    *slot = &t;
                    continue;
                }
            }
        }
        TensorInfo info;
        info.name = hfName(t.name, *conventions);
        info.shape.assign(t.dims.rbegin(), t.dims.rend());
        info.fileIndex = fileIndex;
        info.offset = t.offset;
        StoredEncoding enc;
        enc.ggmlType = t.type;
        switch (GgmlType(t.type)) {
        case GgmlType::F32: info.dtype = DType::F32; break;
        case GgmlType::BF16: info.dtype = DType::BF16; break;
        // Quantised values are a block scale times a small integer: float16's 11-bit significand
        // holds them eight times more closely than bfloat16's 8 bits, in the same space.
        default: info.dtype = DType::F16; break;
        }
        if (conventions->normsStoredPlusOne && endsWith(t.name, "norm.weight")) enc.addend = -1.0f;
        // The q and k biases are permuted with their matrices' rows.
        if (conventions->permutedQueryKeyRows) {
            const bool q = endsWith(t.name, "attn_q.weight") || endsWith(t.name, "attn_q.bias");
            const bool k = endsWith(t.name, "attn_k.weight") || endsWith(t.name, "attn_k.bias");
            const int64_t h = q ? heads : k ? kvHeads : 0;
            if (h > 0) {
                if (info.shape[0] % (2 * h) != 0)
                    return badInput(gguf.name() + ": tensor '" + t.name + "' has " + std::to_string(info.shape[0]) +
                                    " rows, which do not split into " + std::to_string(h) + " heads of rope pairs");
                enc.unpermuteHeads = h;
            }
        }
        const bool plain = (enc.ggmlType == uint32_t(GgmlType::F32) || enc.ggmlType == uint32_t(GgmlType::F16) ||
                            enc.ggmlType == uint32_t(GgmlType::BF16)) &&
                           enc.addend == 0 && enc.unpermuteHeads == 0;
        info.nbytes = uint64_t(info.numel()) * dtypeSize(info.dtype);
        if (!plain) info.encoding = enc;
        out.push_back(std::move(info));
    }
    for (const auto& [layer, stored] : experts) STRATA_TRY(addHfExperts(gguf, fileIndex, layer, stored, out));
    return out;
}

}  // namespace strata
