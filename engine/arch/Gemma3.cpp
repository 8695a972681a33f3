// Gemma 3 (Gemma3ForCausalLM, and the decoder of Gemma3ForConditionalGeneration): RMSNorm by
// (1 + w), q/k norms, norms after attention and around the MLP, embeddings scaled by
// sqrt(hidden_size), a query scale of its own, five sliding layers to one full with a local rope
// base, and optional logit soft-caps. Its GGUF files store norms as w + 1.
#include <cmath>
#include <optional>

#include "arch/Blocks.h"
#include "arch/ModelFamily.h"

namespace strata {
namespace {

class Gemma3 final : public ModelFamily {
public:
    const char* displayName() const override { return "Gemma 3 (text)"; }
    const char* modelType() const override { return "gemma3_text"; }
    const char* causalLmClass() const override { return "Gemma3ForCausalLM"; }
    ChatFormat chatFormat() const override { return ChatFormat::Gemma3; }

    // Gemma3TextConfig's (transformers 5).
    const json& configDefaults() const override {
        static const json defaults = {
            {"vocab_size", 262208}, {"num_attention_heads", 8}, {"num_key_value_heads", 4},
            {"head_dim", 256}, {"hidden_activation", "gelu_pytorch_tanh"},
            {"max_position_embeddings", 131072}, {"rms_norm_eps", 1e-6}, {"bos_token_id", 2},
            {"eos_token_id", 1}, {"tie_word_embeddings", true}, {"query_pre_attn_scalar", 256},
            {"sliding_window", 4096}, {"final_logit_softcapping", nullptr},
            {"attn_logit_softcapping", nullptr}, {"rope_theta", 1000000.0}, {"rope_local_base_freq", 10000.0},
            {"use_bidirectional_attention", false},
        };
        return defaults;
    }
    const std::set<std::string>& configKeys() const override {
        static const std::set<std::string> keys = withCommonKeys(
            {"hidden_activation", "hidden_act", "attention_bias", "query_pre_attn_scalar", "attn_logit_softcapping",
             "final_logit_softcapping", "use_bidirectional_attention", "sliding_window", "layer_types",
             "sliding_window_pattern", "_sliding_window_pattern", "rope_local_base_freq"});
        return keys;
    }
    Status parseConfig(ModelConfig& c, const ConfigKeys& k) const override {
        c.normAddOne = c.qkNorm = c.sandwichNorms = c.scaleEmbeddings = true;
        STRATA_TRY(parseAttentionBias(c, k));
        STRATA_TRY(parseActivation(c, k, k.isSet("hidden_activation") ? "hidden_activation" : "hidden_act"));
        double scalar = 0;
        STRATA_ASSIGN(scalar, k.positiveNumber("query_pre_attn_scalar"));
        c.attentionScale = 1.0 / std::sqrt(scalar);
        std::optional<double> cap;
        STRATA_ASSIGN(cap, k.optionalNumber("attn_logit_softcapping"));
        c.attnLogitSoftcap = cap.value_or(0);
        STRATA_ASSIGN(cap, k.optionalNumber("final_logit_softcapping"));
        c.finalLogitSoftcap = cap.value_or(0);
        if (c.attnLogitSoftcap < 0 || c.finalLogitSoftcap < 0)
            return badInput(k.where() + ": logit softcapping values must not be negative");
        bool bidirectional = false;
        STRATA_ASSIGN(bidirectional, k.boolean("use_bidirectional_attention", false));
        if (bidirectional) return badInput(k.where() + ": use_bidirectional_attention is not supported");

        // transformers 5 writes layer_types; older files give the pattern, sometimes underscored.
        int64_t pattern = 6;  // Gemma3TextConfig's default
        for (const char* key : {"sliding_window_pattern", "_sliding_window_pattern"}) {
            if (k.isSet(key)) {
                STRATA_ASSIGN(pattern, k.positiveInt(key));
                break;
            }
        }
        STRATA_TRY(parseSlidingLayers(c, k, [&](int64_t i) { return (i + 1) % pattern != 0; }));

        // Full-attention layers take rope_theta and any scaling; sliding layers rope_local_base_freq.
        json params = k.isSet("rope_parameters") ? k.at("rope_parameters") : json::object();
        if (!params.is_object()) return k.bad("rope_parameters", "a JSON object");
        json full = json::object(), sliding = json::object();
        if (params.contains("full_attention") || params.contains("sliding_attention")) {
            if (params.contains("full_attention") && !params["full_attention"].is_null()) full = params["full_attention"];
            if (params.contains("sliding_attention") && !params["sliding_attention"].is_null())
                sliding = params["sliding_attention"];
        } else {
            full = params;
        }
        if (k.isSet("rope_scaling")) {
            if (!k.at("rope_scaling").is_object() || !full.is_object()) return k.bad("rope_scaling", "a JSON object");
            full.update(k.at("rope_scaling"));
        }
        double fullTheta = 0, localTheta = 0;
        STRATA_ASSIGN(fullTheta, k.positiveNumber("rope_theta"));
        STRATA_ASSIGN(localTheta, k.positiveNumber("rope_local_base_freq"));
        RopeSpec fullSpec, slidingSpec;
        STRATA_ASSIGN(fullSpec, parseRope(full, fullTheta, c.maxPositions, k.where() + " rope (full_attention)"));
        STRATA_ASSIGN(slidingSpec,
                      parseRope(sliding, localTheta, c.maxPositions, k.where() + " rope (sliding_attention)"));
        if (slidingSpec.scaling.type != RopeScalingType::None)
            return badInput(k.where() + ": rope scaling on sliding_attention layers is not supported");
        // YaRN's attention factor would scale the full layers' attention only.
        if (fullSpec.scaling.type == RopeScalingType::Yarn)
            return badInput(k.where() + ": rope_type 'yarn' is not supported for Gemma 3");
        c.ropeTheta = fullSpec.theta;
        c.ropeScaling = fullSpec.scaling;
        c.ropeLocalTheta = slidingSpec.theta;
        return {};
    }

    const char* ggufArchitecture() const override { return "gemma3"; }
    const std::set<std::string>& ggufKeys() const override {
        static const std::set<std::string> keys = {"attention.sliding_window", "final_logit_softcapping",
                                                   "attn_logit_softcapping"};
        return keys;
    }
    // What llama.cpp fixes in code rather than in the file: the 5:1 sliding pattern, the local
    // rope base and the query scale.
    Status ggufConfig(const GgufFile& gguf, const Checkpoint&, json& c) const override {
        const std::string arch = ggufArchitecture();
        auto key = [&](const char* suffix) { return arch + "." + suffix; };
        const int64_t hidden = c["hidden_size"].get<int64_t>(), layers = c["num_hidden_layers"].get<int64_t>();
        const int64_t heads = c["num_attention_heads"].get<int64_t>(), headDim = c["head_dim"].get<int64_t>();
        c["hidden_activation"] = "gelu_pytorch_tanh";
        // llama.cpp scales queries by 1/sqrt(head_dim), except for the 27B model (hidden / heads).
        c["query_pre_attn_scalar"] = (hidden == 5376 && layers == 62) ? hidden / heads : headDim;
        c["rope_local_base_freq"] = 10000.0;
        auto window = gguf.getInt(key("attention.sliding_window"));
        STRATA_TRY(window);
        c["sliding_window"] = window.value();
        json types = json::array();
        for (int64_t i = 0; i < layers; ++i) types.push_back((i + 1) % 6 == 0 ? "full_attention" : "sliding_attention");
        c["layer_types"] = types;
        for (const char* cap : {"final_logit_softcapping", "attn_logit_softcapping"}) {
            const double value = gguf.numberOr(key(cap)).value_or(0);
            c[cap] = value > 0 ? json(value) : json();
        }
        return {};
    }
    GgufConventions ggufConventions() const override {
        GgufConventions conventions;
        conventions.ffnNormName = "pre_feedforward_layernorm.weight";
        conventions.normsStoredPlusOne = true;
        return conventions;
    }

    Status layerTensors(WeightUnitBuilder& b, const ModelConfig& c, const std::string& l) const override {
        const int64_t h = c.hiddenSize;
        STRATA_TRY(addAttentionTensors(b, c, l));
        STRATA_TRY(b.add(WeightRole::PostAttentionNorm, l + "post_attention_layernorm.weight", {h}));
        STRATA_TRY(b.add(WeightRole::PreFeedforwardNorm, l + "pre_feedforward_layernorm.weight", {h}));
        STRATA_TRY(b.add(WeightRole::PostFeedforwardNorm, l + "post_feedforward_layernorm.weight", {h}));
        return addDenseMlpTensors(b, c, l);
    }
    Status forwardChunk(LayerStep& step) const override {
        STRATA_TRY(attentionBlock(step, {WeightRole::PostAttentionNorm}));
        denseMlpBlock(step, {WeightRole::PreFeedforwardNorm, WeightRole::PostFeedforwardNorm});
        return {};
    }
};

}  // namespace

const ModelFamily& gemma3Family() {
    static const Gemma3 family;
    return family;
}

// Gemma3ForConditionalGeneration: the Gemma 3 decoder with the SigLIP tower and its projector.
const ModelWrapper& gemma3Wrapper() {
    static const ModelWrapper wrapper{
        "gemma3", "gemma3_text",
        {"text_config", "vision_config", "mm_tokens_per_image", "boi_token_index", "eoi_token_index",
         "image_token_index", "tie_word_embeddings", "bos_token_id", "eos_token_id"},
        {"vision_tower.", "multi_modal_projector."},
        false};
    return wrapper;
}

}  // namespace strata
