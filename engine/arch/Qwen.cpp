// Qwen2 and Qwen3 (Qwen2ForCausalLM, Qwen3ForCausalLM): the plain pre-norm decoder. Qwen2 has
// biases on q, k and v (never on o, whatever a config says); Qwen3 has per-head q/k norms and an
// optional attention_bias. Both may slide the attention window on their upper layers
// (use_sliding_window, max_window_layers).
#include <optional>

#include "arch/Blocks.h"
#include "arch/ModelFamily.h"

namespace strata {
namespace {

// The sliding-window settings both share.
Status parseQwenSlidingLayers(ModelConfig& c, const ConfigKeys& k) {
    bool useSliding = false;
    STRATA_ASSIGN(useSliding, k.boolean("use_sliding_window", false));
    std::optional<int64_t> window;
    if (useSliding) STRATA_ASSIGN(window, k.optionalInt("sliding_window"));
    if (window && *window <= 0) return k.bad("sliding_window", "a positive integer");
    if (k.isSet("layer_types")) {
        STRATA_ASSIGN(c.layerTypes, parseLayerTypes(k, c.numLayers));
    } else {
        std::optional<int64_t> maxWindowLayers;
        STRATA_ASSIGN(maxWindowLayers, k.optionalInt("max_window_layers"));
        c.layerTypes.clear();
        for (int64_t i = 0; i < c.numLayers; ++i)
            c.layerTypes.push_back(window && i >= maxWindowLayers.value_or(0) ? LayerAttention::Sliding
                                                                              : LayerAttention::Full);
    }
    if (anySliding(c.layerTypes) && !window)
        return badInput(k.where() + ": layer_types lists sliding_attention layers but use_sliding_window is false "
                        "or sliding_window is null");
    c.slidingWindow = window.value_or(0);
    return {};
}

// Qwen2Config's and Qwen3Config's defaults (transformers 5) differ only in head_dim.
json qwenDefaults(json headDim) {
    return {
        {"vocab_size", 151936}, {"num_attention_heads", 32}, {"num_key_value_heads", 32},
        {"head_dim", headDim}, {"hidden_act", "silu"}, {"max_position_embeddings", 32768},
        {"rms_norm_eps", 1e-6}, {"bos_token_id", nullptr}, {"eos_token_id", nullptr},
        {"tie_word_embeddings", false}, {"rope_theta", 10000.0}, {"use_sliding_window", false},
        {"sliding_window", 4096}, {"max_window_layers", 28},
    };
}

class Qwen2 final : public ModelFamily {
public:
    const char* displayName() const override { return "Qwen2"; }
    const char* modelType() const override { return "qwen2"; }
    const char* causalLmClass() const override { return "Qwen2ForCausalLM"; }
    ChatFormat chatFormat() const override { return ChatFormat::Qwen2; }
    const json& configDefaults() const override {
        static const json defaults = qwenDefaults(nullptr);
        return defaults;
    }
    const std::set<std::string>& configKeys() const override {
        static const std::set<std::string> keys =
            withCommonKeys({"hidden_act", "use_sliding_window", "sliding_window", "max_window_layers", "layer_types"});
        return keys;
    }
    Status parseConfig(ModelConfig& c, const ConfigKeys& k) const override {
        c.qkvBias = true;
        STRATA_TRY(parseActivation(c, k, "hidden_act"));
        STRATA_TRY(parseSingleRope(c, k));
        return parseQwenSlidingLayers(c, k);
    }
    const char* ggufArchitecture() const override { return "qwen2"; }
    Status layerTensors(WeightUnitBuilder& unit, const ModelConfig& c, const std::string& prefix) const override {
        return preNormLayerTensors(unit, c, prefix);
    }
    Status forwardChunk(LayerStep& step) const override { return preNormLayerForward(step); }
};

class Qwen3 final : public ModelFamily {
public:
    const char* displayName() const override { return "Qwen3"; }
    const char* modelType() const override { return "qwen3"; }
    const char* causalLmClass() const override { return "Qwen3ForCausalLM"; }
    ChatFormat chatFormat() const override { return ChatFormat::Qwen3; }
    const json& configDefaults() const override {
        static const json defaults = qwenDefaults(128);
        return defaults;
    }
    const std::set<std::string>& configKeys() const override {
        static const std::set<std::string> keys = withCommonKeys(
            {"hidden_act", "attention_bias", "use_sliding_window", "sliding_window", "max_window_layers", "layer_types"});
        return keys;
    }
    Status parseConfig(ModelConfig& c, const ConfigKeys& k) const override {
        c.qkNorm = true;
        STRATA_TRY(parseAttentionBias(c, k));
        STRATA_TRY(parseActivation(c, k, "hidden_act"));
        STRATA_TRY(parseSingleRope(c, k));
        return parseQwenSlidingLayers(c, k);
    }
    const char* ggufArchitecture() const override { return "qwen3"; }
    Status layerTensors(WeightUnitBuilder& unit, const ModelConfig& c, const std::string& prefix) const override {
        return preNormLayerTensors(unit, c, prefix);
    }
    Status forwardChunk(LayerStep& step) const override { return preNormLayerForward(step); }
};

}  // namespace

const ModelFamily& qwen2Family() {
    static const Qwen2 family;
    return family;
}

const ModelFamily& qwen3Family() {
    static const Qwen3 family;
    return family;
}

}  // namespace strata
