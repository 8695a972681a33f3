// gpt-oss (GptOssForCausalLM): attention with sinks and biases on every projection, YaRN rope,
// sliding and full layers alternating, and a mixture of experts in place of the MLP: a router
// with a bias picks the top experts, each a SwiGLU clamped at swiglu_limit over gate and up
// projections interleaved in one matrix. Its Hugging Face checkpoints store the experts as MXFP4
// blocks and scales (quantization_config mxfp4), or as bf16 matrices input-major. Its chat format
// is harmony.
//
// llama.cpp's GGUF files ("gpt-oss") keep the experts MXFP4 but store them otherwise: gate and up
// in two tensors (ffn_gate_exps, ffn_up_exps: the even and the odd rows of gate_up_proj), the scale
// byte of each group of 32 in front of its 16 bytes of nibbles (17-byte blocks), the nibbles in
// another order, and the gate and up biases apart too. The GGUF reader presents them as the
// Hugging Face tensors (GgufConventions::gateUpExperts; the bytes are regrouped as they are read,
// format/Checkpoint.h ExpertRepack), so the products run on MXFP4 with the same kernels and
// splitExperts can still read one expert at a time; nothing is widened.
#include <string>

#include "arch/Blocks.h"
#include "arch/ModelFamily.h"

namespace strata {
namespace {

// gpt-oss's quantization_config: MXFP4 experts, with everything else (attention, router,
// embeddings, head) left unquantised, as the released checkpoints are.
Status parseGptOssQuantization(ModelConfig& c, const ConfigKeys& k) {
    const json& q = k.at("quantization_config");
    if (q.is_null()) return {};
    if (!q.is_object() || q.value("quant_method", json()) != "mxfp4")
        return badInput(k.where() + ": \"quantization_config\" " + shortDump(q) +
                        ": only MXFP4 experts (quant_method \"mxfp4\") are supported for gpt_oss");
    for (auto it = q.begin(); it != q.end(); ++it)
        if (it.key() != "quant_method" && it.key() != "modules_to_not_convert")
            return badInput(k.where() + ": quantization_config key \"" + it.key() + "\" is not supported");
    if (q.contains("modules_to_not_convert")) {
        const json& kept = q["modules_to_not_convert"];
        if (!kept.is_array()) return k.bad("quantization_config", "a modules_to_not_convert list");
        for (const json& m : kept)
            if (!m.is_string() || m.get<std::string>().find("experts") != std::string::npos)
                return badInput(k.where() + ": quantization_config leaves " + shortDump(m) +
                                " unquantised; only the experts are read as MXFP4");
    }
    c.expertsMxfp4 = true;
    return {};
}

// The router and experts as the Hugging Face checkpoints store them: bf16 experts input-major
// ([experts, in, out], applied as x @ W), MXFP4 experts as [experts, out, in / 32] groups of 16
// bytes with one scale byte per group. Biases are [experts, out].
Status addExperts(WeightUnitBuilder& b, const ModelConfig& c, const std::string& mlp) {
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

class GptOss final : public ModelFamily {
public:
    const char* displayName() const override { return "gpt-oss"; }
    const char* modelType() const override { return "gpt_oss"; }
    const char* causalLmClass() const override { return "GptOssForCausalLM"; }
    ChatFormat chatFormat() const override { return ChatFormat::Harmony; }

    // GptOssConfig's: layer_types and rope_parameters are derived in its __post_init__ (even
    // layers sliding; YaRN as the released models have it).
    const json& configDefaults() const override {
        static const json defaults = {
            {"vocab_size", 201088}, {"num_attention_heads", 64}, {"num_key_value_heads", 8}, {"head_dim", 64},
            {"hidden_act", "silu"}, {"max_position_embeddings", 131072}, {"rms_norm_eps", 1e-5},
            {"bos_token_id", nullptr}, {"eos_token_id", nullptr}, {"tie_word_embeddings", false},
            {"rope_theta", 150000.0}, {"sliding_window", 128}, {"attention_bias", true}, {"num_local_experts", 128},
            {"num_experts_per_tok", 4}, {"swiglu_alpha", 1.702}, {"swiglu_limit", 7.0},
            {"rope_parameters",
             {{"rope_type", "yarn"}, {"factor", 32.0}, {"beta_fast", 32.0}, {"beta_slow", 1.0}, {"truncate", false},
              {"original_max_position_embeddings", 4096}}},
        };
        return defaults;
    }
    // The router's load-balancing loss and logits are training outputs; quantization_config is
    // read (MXFP4 experts) and anything else in it refused. The released config.json also carries
    // the original names experts_per_token (checked against num_experts_per_tok) and
    // initial_context_length (the pre-YaRN context, which rope_scaling restates), which
    // transformers does not read.
    const std::set<std::string>& configKeys() const override {
        static const std::set<std::string> keys =
            withCommonKeys({"hidden_act", "attention_bias", "sliding_window", "layer_types", "num_local_experts",
                            "num_experts_per_tok", "swiglu_alpha", "swiglu_limit", "router_aux_loss_coef",
                            "output_router_logits", "quantization_config", "experts_per_token",
                            "initial_context_length"});
        return keys;
    }
    Status parseConfig(ModelConfig& c, const ConfigKeys& k) const override {
        c.attentionSinks = true;
        STRATA_TRY(parseAttentionBias(c, k));
        STRATA_TRY(parseActivation(c, k, "hidden_act"));
        if (c.activation != Activation::SiLU) return k.bad("hidden_act", "\"silu\" (gpt-oss's experts are SwiGLU)");
        STRATA_TRY(parseSingleRope(c, k));
        STRATA_ASSIGN(c.numExperts, k.positiveInt("num_local_experts", 1 << 16));
        STRATA_ASSIGN(c.expertsPerToken, k.positiveInt("num_experts_per_tok", 1 << 16));
        if (k.isSet("experts_per_token")) {
            int64_t legacy = 0;
            STRATA_ASSIGN(legacy, k.positiveInt("experts_per_token", 1 << 16));
            if (legacy != c.expertsPerToken)
                return badInput(k.where() + ": experts_per_token " + std::to_string(legacy) +
                                " disagrees with num_experts_per_tok " + std::to_string(c.expertsPerToken));
        }
        if (c.expertsPerToken > c.numExperts)
            return badInput(k.where() + ": num_experts_per_tok " + std::to_string(c.expertsPerToken) +
                            " exceeds num_local_experts " + std::to_string(c.numExperts));
        STRATA_ASSIGN(c.swigluAlpha, k.positiveNumber("swiglu_alpha"));
        STRATA_ASSIGN(c.swigluLimit, k.positiveNumber("swiglu_limit"));
        STRATA_TRY(parseGptOssQuantization(c, k));
        return parseSlidingLayers(c, k, [](int64_t i) { return i % 2 == 0; });
    }

    const char* ggufArchitecture() const override { return "gpt-oss"; }
    // attention.sliding_window_pattern is the period of the sliding layers, which newer llama.cpp
    // reads when present (2 otherwise).
    const std::set<std::string>& ggufKeys() const override {
        static const std::set<std::string> keys = {"expert_count", "expert_used_count", "expert_feed_forward_length",
                                                   "attention.sliding_window", "attention.sliding_window_pattern"};
        return keys;
    }
    // What llama.cpp's gpt-oss takes from the file and what it fixes in code.
    Status ggufConfig(const GgufFile& gguf, const Checkpoint& ckpt, json& c) const override {
        const std::string arch = ggufArchitecture();
        auto key = [&](const char* suffix) { return arch + "." + suffix; };
        int64_t experts = 0, used = 0, ffn = 0, window = 0;
        STRATA_ASSIGN(experts, gguf.getInt(key("expert_count")));
        STRATA_ASSIGN(used, gguf.getInt(key("expert_used_count")));
        STRATA_ASSIGN(ffn, gguf.getInt(key("expert_feed_forward_length")));
        STRATA_ASSIGN(window, gguf.getInt(key("attention.sliding_window")));
        if (experts <= 0 || used <= 0)
            return badInput(gguf.name() + ": " + key("expert_count") + " and " + key("expert_used_count") +
                            " must be positive");
        if (used > experts)
            return badInput(gguf.name() + ": " + key("expert_used_count") + " = " + std::to_string(used) +
                            " exceeds " + key("expert_count") + " = " + std::to_string(experts));
        // The router has one row per expert: a count that disagrees names the key, not a shape.
        if (const TensorInfo* router = ckpt.find("model.layers.0.mlp.router.weight");
            router && !router->shape.empty() && router->shape.front() != experts)
            return badInput(gguf.name() + ": " + key("expert_count") + " is " + std::to_string(experts) +
                            " but tensor 'blk.0.ffn_gate_inp.weight' routes to " +
                            std::to_string(router->shape.front()) + " experts");
        c["num_local_experts"] = experts;
        c["num_experts_per_tok"] = used;
        // The experts' width; llama.cpp's gpt-oss does not use feed_forward_length.
        c["intermediate_size"] = ffn;
        c["sliding_window"] = window;
        int64_t period = 2;
        if (gguf.find(key("attention.sliding_window_pattern")))
            STRATA_ASSIGN(period, gguf.getInt(key("attention.sliding_window_pattern")));
        if (period < 0) return badInput(gguf.name() + ": " + key("attention.sliding_window_pattern") + " is negative");
        json types = json::array();
        for (int64_t i = 0; i < c["num_hidden_layers"].get<int64_t>(); ++i)
            types.push_back(period == 0 || i % period < period - 1 ? "sliding_attention" : "full_attention");
        c["layer_types"] = types;
        // llama.cpp's gpt-oss graph fixes the clamped SwiGLU's constants (and GptOssConfig has them
        // as defaults); GGUF has no keys for them.
        c["swiglu_alpha"] = 1.702;
        c["swiglu_limit"] = 7.0;
        c["hidden_act"] = "silu";
        // No key says whether the projections have biases: the tensors do.
        c["attention_bias"] = ckpt.find("model.layers.0.self_attn.q_proj.bias") != nullptr;
        // The experts are read as MXFP4 only (the reader refuses other types by name).
        c["quantization_config"] = {{"quant_method", "mxfp4"}};
        if (c["rope_scaling"].is_null()) {
            // Without this, GptOssConfig's default YaRN would apply where the file has none.
            c["rope_parameters"] = {{"rope_type", "default"}};
        } else if (c["rope_scaling"].value("rope_type", "") == "yarn") {
            // gpt-oss's YaRN does not round the ends of its ramp (truncate false in the released
            // config.json and in transformers). ggml rounds them (floor and ceil), which moves the
            // test fixture's logits by 6.9; Strata computes the model as it was trained.
            c["rope_scaling"]["truncate"] = false;
        }
        return {};
    }
    GgufConventions ggufConventions() const override {
        GgufConventions conventions;
        conventions.layerNames = {{"attn_sinks.weight", "self_attn.sinks"},
                                  {"ffn_gate_inp.weight", "mlp.router.weight"},
                                  {"ffn_gate_inp.bias", "mlp.router.bias"},
                                  {"ffn_down_exps.bias", "mlp.experts.down_proj_bias"}};
        conventions.gateUpExperts = true;
        return conventions;
    }

    Status layerTensors(WeightUnitBuilder& b, const ModelConfig& c, const std::string& l) const override {
        STRATA_TRY(addAttentionTensors(b, c, l));
        STRATA_TRY(b.add(WeightRole::PostAttentionNorm, l + "post_attention_layernorm.weight", {c.hiddenSize}));
        return addExperts(b, c, l + "mlp.");
    }
    Status forwardChunk(LayerStep& step) const override { return attentionBlock(step); }
    Status forwardPass(LayerPass& pass) const override { return expertsBlock(pass, WeightRole::PostAttentionNorm); }
};

}  // namespace

const ModelFamily& gptOssFamily() {
    static const GptOss family;
    return family;
}

}  // namespace strata
