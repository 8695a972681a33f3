#include "arch/GgufConfig.h"

#include <cmath>
#include <set>
#include <sstream>

#include "format/GgufFile.h"
#include "format/GgufTensorNames.h"
#include "arch/ModelFamily.h"
#include "arch/Registry.h"

namespace strata {

using nlohmann::json;

namespace {

std::string valueText(const GgufValue& v) {
    if (v.type == GgufValueType::String) return "'" + v.text + "'";
    if (v.type == GgufValueType::Bool) return v.integer ? "true" : "false";
    if (v.type == GgufValueType::Array) return "an array of " + std::to_string(v.arrayLength);
    if (v.isInteger()) return std::to_string(v.integer);
    std::ostringstream s;
    s << v.number;
    return s.str();
}

// Whether the tokenizer reads a tokenizer.* key. The *_token_id keys name tokens (separator, FIM
// markers) that plain encoding never inserts; remove_extra_whitespaces and precompiled_charsmap
// belong to the T5 (UGM) tokenizer, whose model name the vocabulary reader refuses.
bool tokenizerReads(const std::string& key) {
    static const std::set<std::string> known = {
        "model", "pre", "tokens", "token_type", "token_type_count", "merges", "scores", "add_bos_token",
        "add_eos_token", "add_space_prefix", "remove_extra_whitespaces", "precompiled_charsmap",
    };
    if (key.rfind("tokenizer.chat_template", 0) == 0 || key == "tokenizer.huggingface.json") return true;
    if (key.rfind("tokenizer.ggml.", 0) != 0) return false;
    const std::string name = key.substr(15);
    return known.count(name) || (name.size() > 9 && name.compare(name.size() - 9, 9, "_token_id") == 0);
}

// Every metadata key must be one Strata reads: the architecture's keys this reader turns into
// config.json, and the tokenizer's. Any other key may change the arithmetic (experts, partial
// rope, YaRN, another norm) or the tokens (add_sep_token), so it refuses the load unless it is off
// (0 or false). general.* describes the file and quantize.* records how it was made.
Status checkGgufMetadata(const GgufFile& gguf, const ModelFamily& family) {
    const std::string arch = family.ggufArchitecture();
    static const std::set<std::string> common = {
        "context_length", "embedding_length", "block_count", "feed_forward_length", "vocab_size",
        "attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
        "attention.key_length", "attention.value_length", "rope.freq_base", "rope.dimension_count",
        "rope.scaling.type", "rope.scaling.factor", "rope.scaling.yarn_beta_fast", "rope.scaling.yarn_beta_slow",
        // YaRN's original context; for the other types only informational, as is whether it was fine-tuned.
        "rope.scaling.original_context_length", "rope.scaling.finetuned",
    };
    auto describesFile = [](const std::string& key) {
        for (const char* prefix : {"general.", "quantize.", "split."})
            if (key.rfind(prefix, 0) == 0) return true;
        return false;
    };
    for (const auto& [key, value] : gguf.metadata()) {
        if (key == "split.count" && value.isInteger() && value.integer > 1)
            return badInput(gguf.name() + " is the first of " + std::to_string(value.integer) +
                            " files of a split GGUF; merge them into one file (llama-gguf-split --merge) to load it");
        if (describesFile(key) || tokenizerReads(key)) continue;
        if (key.rfind(arch + ".", 0) == 0) {
            const std::string rest = key.substr(arch.size() + 1);
            if (common.count(rest) || family.ggufKeys().count(rest)) continue;
        }
        if (value.isNumber() && value.number == 0 && value.integer == 0) continue;
        return badInput(gguf.name() + ": metadata key " + key + " = " + valueText(value) + " is not one Strata reads" +
                        (key.rfind("tokenizer.", 0) == 0 ? "" : " for the " + arch + " architecture") +
                        "; it may change how the model computes, so the load is refused rather than risking wrong "
                        "answers");
    }
    return {};
}

}  // namespace

Result<json> hfConfigFromGguf(const Checkpoint& ckpt) {
    const GgufFile* gguf = ckpt.gguf();
    if (!gguf) return internalError("hfConfigFromGguf called on a checkpoint that is not GGUF");
    auto archName = gguf->getString("general.architecture");
    STRATA_TRY(archName);
    const std::string arch = archName.value();
    const ModelFamily* family = findGgufFamily(arch);
    if (!family)
        return badInput(gguf->name() + " holds a '" + arch + "' model; Strata runs GGUF architectures " +
                        supportedGgufArchitectures());
    STRATA_TRY(checkGgufMetadata(*gguf, *family));
    auto key = [&](const char* suffix) { return arch + "." + suffix; };
    json c = json::object();
    int64_t hidden = 0, layers = 0, heads = 0, ffn = 0;
    STRATA_ASSIGN(hidden, gguf->getInt(key("embedding_length")));
    STRATA_ASSIGN(layers, gguf->getInt(key("block_count")));
    STRATA_ASSIGN(heads, gguf->getInt(key("attention.head_count")));
    STRATA_ASSIGN(ffn, gguf->getInt(key("feed_forward_length")));
    if (hidden <= 0 || layers <= 0 || heads <= 0 || ffn <= 0)
        return badInput(gguf->name() + ": the model sizes in the metadata must be positive");
    // The layer count sizes lists below: it must name layers the file holds.
    if (layers > 4096 || !ckpt.find("model.layers." + std::to_string(layers - 1) + ".input_layernorm.weight"))
        return badInput(gguf->name() + ": " + arch + ".block_count is " + std::to_string(layers) +
                        " but the file has no tensors for layer " + std::to_string(layers - 1));
    const int64_t kvHeads = gguf->intOr(key("attention.head_count_kv")).value_or(heads);
    const int64_t headDim = gguf->intOr(key("attention.key_length")).value_or(hidden / heads);
    if (gguf->intOr(key("attention.value_length")).value_or(headDim) != headDim)
        return badInput(gguf->name() + ": " + key("attention.value_length") + " differs from " +
                        key("attention.key_length") + "; Strata runs models whose keys and values have one width");
    if (auto rotary = gguf->intOr(key("rope.dimension_count")); rotary && *rotary != headDim)
        return badInput(gguf->name() + ": " + key("rope.dimension_count") + " = " + std::to_string(*rotary) +
                        " rotates part of each head of " + std::to_string(headDim) +
                        "; partial rotary embeddings are not supported");
    const TensorInfo* embed = ckpt.find("model.embed_tokens.weight");
    if (!embed || embed->shape.size() != 2) return badInput(gguf->name() + " has no 2-D token_embd.weight tensor");

    c["hidden_size"] = hidden;
    c["num_hidden_layers"] = layers;
    c["num_attention_heads"] = heads;
    c["num_key_value_heads"] = kvHeads;
    c["head_dim"] = headDim;
    c["intermediate_size"] = ffn;
    c["vocab_size"] = embed->shape[0];
    if (auto ctx = gguf->intOr(key("context_length"))) c["max_position_embeddings"] = *ctx;
    if (auto eps = gguf->numberOr(key("attention.layer_norm_rms_epsilon"))) c["rms_norm_eps"] = *eps;
    if (auto theta = gguf->numberOr(key("rope.freq_base"))) c["rope_theta"] = *theta;
    c["tie_word_embeddings"] = ckpt.find("lm_head.weight") == nullptr;
    c["torch_dtype"] = "bfloat16";
    if (auto bos = gguf->intOr("tokenizer.ggml.bos_token_id")) c["bos_token_id"] = *bos;
    if (auto eos = gguf->intOr("tokenizer.ggml.eos_token_id")) c["eos_token_id"] = *eos;

    json scaling = nullptr;
    if (auto type = gguf->getString(key("rope.scaling.type")); type.ok() && type.value() != "none") {
        const double factor = gguf->numberOr(key("rope.scaling.factor")).value_or(1.0);
        if (type.value() == "yarn") {
            // As convert_hf_to_gguf writes YaRN: the factor, the original context and the ramp's
            // betas; llama.cpp derives the attention factor from the factor, as transformers does.
            // (An explicit yarn_attn_factor, yarn_ext_factor or yarn_log_multiplier is refused
            // as a key Strata does not read.)
            scaling = {{"rope_type", "yarn"}, {"factor", factor}};
            if (auto original = gguf->intOr(key("rope.scaling.original_context_length")))
                scaling["original_max_position_embeddings"] = *original;
            if (auto fast = gguf->numberOr(key("rope.scaling.yarn_beta_fast"))) scaling["beta_fast"] = *fast;
            if (auto slow = gguf->numberOr(key("rope.scaling.yarn_beta_slow"))) scaling["beta_slow"] = *slow;
        } else if (type.value() == "linear") {
            scaling = {{"rope_type", "linear"}, {"factor", factor}};
        } else {
            return badInput(gguf->name() + ": " + key("rope.scaling.type") + " = '" + type.value() +
                            "' is not supported (linear, yarn; llama3 comes as rope_freqs.weight)");
        }
    }

    c["model_type"] = family->modelType();
    c["architectures"] = {family->causalLmClass()};
    c["rope_scaling"] = scaling;
    STRATA_TRY(family->ggufConfig(*gguf, ckpt, c));
    return c;
}
}  // namespace strata
