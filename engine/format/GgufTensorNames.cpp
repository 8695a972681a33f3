#include "format/GgufTensorNames.h"

#include <regex>

#include "format/GgmlQuants.h"

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

std::string hfName(const std::string& ggufName, const GgufConventions& conventions) {
    if (ggufName == "token_embd.weight") return "model.embed_tokens.weight";
    if (ggufName == "output_norm.weight") return "model.norm.weight";
    if (ggufName == "output.weight") return "lm_head.weight";
    static const std::regex layer(R"(^blk\.([0-9]{1,6})\.(.+)$)");
    std::smatch m;
    if (!std::regex_match(ggufName, m, layer)) return ggufName;
    const std::string prefix = "model.layers." + m[1].str() + ".";
    const std::string rest = m[2].str();
    if (rest == "ffn_norm.weight") return prefix + conventions.ffnNormName;
    for (const NameRule& r : kLayerRules)
        if (rest == r.gguf) return prefix + r.hf;
    return ggufName;
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
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
    for (const GgufTensor& t : gguf.tensors()) {
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
    return out;
}

}  // namespace strata
