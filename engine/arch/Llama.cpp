// Llama (LlamaForCausalLM; Llama 3 and 3.1): the plain pre-norm decoder, with optional biases
// (attention_bias, mlp_bias) and Llama 3's rope scaling. Its GGUF files permute the q and k rows
// to interleave rope pairs, and store Llama 3's rope scaling as per-frequency divisors.
#include <cmath>

#include "arch/Blocks.h"
#include "arch/ModelFamily.h"
#include "arch/Rope.h"

namespace strata {
namespace {

// llama.cpp stores Llama 3 rope scaling as per-frequency divisors (rope_freqs.weight) rather than
// its parameters. config.json needs the parameters, so find the llama3 setting that produces the
// same divisors; the factor is the largest divisor and the rest come from a short list.
Result<json> llama3RopeFromFactors(const Checkpoint& ckpt, const TensorInfo& freqs, int64_t headDim, double theta) {
    const std::string where = ckpt.files().front().string();
    if (freqs.dtype != DType::F32 || freqs.encoding || freqs.numel() != headDim / 2)
        return badInput(where + ": rope_freqs.weight must hold " + std::to_string(headDim / 2) + " F32 values");
    std::vector<float> want(static_cast<size_t>(headDim / 2));
    STRATA_TRY(ckpt.read(freqs, want.data()));
    double factor = 1;
    for (float f : want) {
        if (!(f >= 1.0f) || !std::isfinite(f)) return badInput(where + ": rope_freqs.weight holds a divisor below 1");
        factor = std::max(factor, double(f));
    }
    const std::vector<float> base = ropeInvFreq(headDim, theta, RopeScaling{});
    for (int64_t original = 16; original <= (int64_t(1) << 22); original *= 2)
        for (double low : {1.0, 0.5, 2.0})
            for (double high : {4.0, 2.0, 8.0}) {
                RopeScaling s{RopeScalingType::Llama3, factor, low, high, original};
                const std::vector<float> scaled = ropeInvFreq(headDim, theta, s);
                bool same = true;
                for (size_t i = 0; same && i < want.size(); ++i)
                    same = std::fabs(double(base[i]) / double(scaled[i]) - want[i]) <= 1e-4 * want[i];
                if (same)
                    return json{{"rope_type", "llama3"}, {"factor", factor}, {"low_freq_factor", low},
                                {"high_freq_factor", high}, {"original_max_position_embeddings", original}};
            }
    return badInput(where + ": rope_freqs.weight does not match any llama3 rope scaling Strata knows");
}

class Llama final : public ModelFamily {
public:
    const char* displayName() const override { return "Llama"; }
    const char* modelType() const override { return "llama"; }
    const char* causalLmClass() const override { return "LlamaForCausalLM"; }
    ChatFormat chatFormat() const override { return ChatFormat::Llama3; }

    // LlamaConfig's (transformers 5). null: num_key_value_heads falls back to
    // num_attention_heads, head_dim to hidden_size / num_attention_heads.
    const json& configDefaults() const override {
        static const json defaults = {
            {"vocab_size", 32000}, {"num_attention_heads", 32}, {"num_key_value_heads", nullptr},
            {"head_dim", nullptr}, {"hidden_act", "silu"}, {"max_position_embeddings", 2048},
            {"rms_norm_eps", 1e-6}, {"bos_token_id", 1}, {"eos_token_id", 2},
            {"tie_word_embeddings", false}, {"rope_theta", 10000.0},
        };
        return defaults;
    }
    const std::set<std::string>& configKeys() const override {
        static const std::set<std::string> keys = withCommonKeys({"hidden_act", "attention_bias", "mlp_bias"});
        return keys;
    }
    Status parseConfig(ModelConfig& c, const ConfigKeys& k) const override {
        STRATA_TRY(parseActivation(c, k, "hidden_act"));
        STRATA_TRY(parseSingleRope(c, k));
        STRATA_TRY(parseAttentionBias(c, k));
        STRATA_ASSIGN(c.mlpBias, k.boolean("mlp_bias", false));
        c.layerTypes.assign(static_cast<size_t>(c.numLayers), LayerAttention::Full);
        return {};
    }

    const char* ggufArchitecture() const override { return "llama"; }
    Status ggufConfig(const GgufFile&, const Checkpoint& ckpt, json& c) const override {
        // GGUF has no key for the biases: llama.cpp uses them when the tensors are there.
        c["attention_bias"] = ckpt.find("model.layers.0.self_attn.q_proj.bias") != nullptr;
        c["mlp_bias"] = ckpt.find("model.layers.0.mlp.up_proj.bias") != nullptr;
        if (const TensorInfo* freqs = ckpt.find("rope_freqs.weight")) {
            auto llama3 = llama3RopeFromFactors(ckpt, *freqs, c["head_dim"].get<int64_t>(),
                                                c.value("rope_theta", 10000.0));
            STRATA_TRY(llama3);
            c["rope_scaling"] = llama3.value();
        }
        return {};
    }
    GgufConventions ggufConventions() const override {
        GgufConventions conventions;
        conventions.permutedQueryKeyRows = true;
        return conventions;
    }
    // The rope scaling, which ggufConfig turned into config.json's.
    std::vector<std::string> ggufExtraTensors() const override { return {"rope_freqs.weight"}; }

    Status layerTensors(WeightUnitBuilder& unit, const ModelConfig& c, const std::string& prefix) const override {
        return preNormLayerTensors(unit, c, prefix);
    }
    Status forwardChunk(LayerStep& step) const override { return preNormLayerForward(step); }
};

}  // namespace

const ModelFamily& llamaFamily() {
    static const Llama family;
    return family;
}

}  // namespace strata
