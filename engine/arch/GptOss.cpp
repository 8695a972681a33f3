// gpt-oss (GptOssForCausalLM): attention with sinks and biases on every projection, YaRN rope,
// sliding and full layers alternating, and a mixture of experts in place of the MLP: a router
// with a bias picks the top experts, each a SwiGLU clamped at swiglu_limit over gate and up
// projections interleaved in one matrix. Its Hugging Face checkpoints store the experts as MXFP4
// blocks and scales (quantization_config mxfp4), or as bf16 matrices input-major. Its chat format
// is harmony.
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
