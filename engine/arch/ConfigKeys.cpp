#include "arch/ConfigKeys.h"

namespace strata {

std::string shortDump(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Keys every transformers config may carry that do not change what the model computes: naming,
// training (dropout, initialisation), generation defaults, bookkeeping. Every other key must be
// one the family reads (ModelFamily::configKeys), so that a setting Strata would silently ignore refuses the
// load instead.
const std::set<std::string>& inertConfigKeys() {
    static const std::set<std::string> keys = {
        "_name_or_path", "_commit_hash", "_attn_implementation", "_attn_implementation_autoset", "architectures",
        "auto_map", "model_type", "transformers_version", "dtype", "torch_dtype", "use_bfloat16", "use_cache",
        "return_dict", "output_attentions", "output_hidden_states", "torchscript", "tf_legacy_loss", "pruned_heads",
        "id2label", "label2id", "problem_type", "finetuning_task", "tokenizer_class", "prefix", "task_specific_params",
        "chunk_size_feed_forward", "is_encoder_decoder", "is_decoder", "add_cross_attention",
        "cross_attention_hidden_size", "tie_encoder_decoder", "decoder_start_token_id", "sep_token_id",
        "pad_token_id", "initializer_range", "attention_dropout", "hidden_dropout", "embd_pdrop", "resid_pdrop",
        "attn_pdrop", "mlp_dropout", "gradient_checkpointing", "cache_implementation",
        // Generation defaults: Strata takes these from its own flags.
        "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
        "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty",
        "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
        "output_scores", "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id",
        "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens",
        // A tensor-parallel split of the MLP during pretraining: the same products, in pieces.
        "pretraining_tp",
    };
    return keys;
}

std::set<std::string> withCommonKeys(std::initializer_list<const char*> familyKeys) {
    static const std::set<std::string> common = {
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "max_position_embeddings", "rms_norm_eps", "bos_token_id",
        "eos_token_id", "tie_word_embeddings", "rope_theta", "rope_scaling", "rope_parameters",
    };
    std::set<std::string> keys = common;
    keys.insert(familyKeys.begin(), familyKeys.end());
    return keys;
}

namespace {

Result<int32_t> tokenId(const json& v, const ConfigKeys& k, const std::string& key) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
        return k.bad(key, "a token id or a list of token ids");
    return int32_t(v.get<int64_t>());
}

Result<std::vector<int32_t>> tokenIds(const json& v, const ConfigKeys& k, const std::string& key) {
    std::vector<int32_t> ids;
    if (v.is_null()) return ids;
    if (v.is_array()) {
        for (const json& e : v) {
            Result<int32_t> id = tokenId(e, k, key);
            if (!id.ok()) return id.error();
            ids.push_back(*id);
        }
        return ids;
    }
    Result<int32_t> id = tokenId(v, k, key);
    if (!id.ok()) return id.error();
    ids.push_back(*id);
    return ids;
}


// YaRN as transformers computes it (_compute_yarn_parameters): the factor (or, when null,
// max_position_embeddings over the original), the attention factor given or derived from the
// factor and mscale / mscale_all_dim, beta_fast and beta_slow, and truncate.
Result<RopeSpec> parseYarn(const ConfigKeys& k, RopeSpec spec, int64_t maxPositions, const std::string& where) {
    RopeScaling& s = spec.scaling;
    s.type = RopeScalingType::Yarn;
    s.originalMaxPositions = maxPositions;
    if (k.isSet("original_max_position_embeddings"))
        STRATA_ASSIGN(s.originalMaxPositions, k.positiveInt("original_max_position_embeddings"));
    if (k.isSet("factor")) {
        STRATA_ASSIGN(s.factor, k.positiveNumber("factor"));
    } else {
        s.factor = double(maxPositions) / double(s.originalMaxPositions);
    }
    auto mscaleOf = [](double factor, double m) { return factor <= 1 ? 1.0 : 0.1 * m * std::log(factor) + 1.0; };
    std::optional<double> attention, mscale, mscaleAllDim, betaFast, betaSlow;
    STRATA_ASSIGN(attention, k.optionalNumber("attention_factor"));
    STRATA_ASSIGN(mscale, k.optionalNumber("mscale"));
    STRATA_ASSIGN(mscaleAllDim, k.optionalNumber("mscale_all_dim"));
    STRATA_ASSIGN(betaFast, k.optionalNumber("beta_fast"));
    STRATA_ASSIGN(betaSlow, k.optionalNumber("beta_slow"));
    if (attention) {
        s.attentionFactor = *attention;
    } else if (mscale && *mscale != 0 && mscaleAllDim && *mscaleAllDim != 0) {
        s.attentionFactor = mscaleOf(s.factor, *mscale) / mscaleOf(s.factor, *mscaleAllDim);
    } else {
        s.attentionFactor = mscaleOf(s.factor, 1.0);
    }
    if (betaFast && *betaFast != 0) s.betaFast = *betaFast;
    if (betaSlow && *betaSlow != 0) s.betaSlow = *betaSlow;
    STRATA_ASSIGN(s.truncate, k.boolean("truncate", true));
    if (!(s.betaFast > 0 && s.betaSlow > 0 && std::isfinite(s.attentionFactor) && s.attentionFactor > 0))
        return badInput(where + ": yarn needs positive beta_fast, beta_slow and attention_factor");
    return spec;
}

}  // namespace

Result<RopeSpec> parseRope(const json& d, double defaultTheta, int64_t maxPositions, const std::string& where) {
    if (!d.is_object()) return badInput(where + " must be a JSON object, got " + shortDump(d));
    ConfigKeys k(d, where);
    RopeSpec spec;
    std::optional<double> theta;
    STRATA_ASSIGN(theta, k.optionalNumber("rope_theta"));
    spec.theta = theta.value_or(defaultTheta);
    if (spec.theta <= 0) return k.bad("rope_theta", "a positive number");
    std::optional<double> partial;
    STRATA_ASSIGN(partial, k.optionalNumber("partial_rotary_factor"));
    if (partial && *partial != 1.0)
        return badInput(where + ": partial_rotary_factor " + shortDump(k.at("partial_rotary_factor")) +
                        " is not supported");

    const json& typeValue = k.isSet("rope_type") ? k.at("rope_type") : k.at("type");
    const std::string type = typeValue.is_string() ? typeValue.get<std::string>() : "default";
    if (!typeValue.is_null() && !typeValue.is_string()) return k.bad("rope_type", "a string");
    if (type == "default") return spec;
    if (type != "linear" && type != "llama3" && type != "yarn")
        return badInput(where + ": unsupported rope_type '" + type + "' (supported: default, linear, llama3, yarn)");
    if (type == "yarn") return parseYarn(k, spec, maxPositions, where);
    STRATA_ASSIGN(spec.scaling.factor, k.positiveNumber("factor"));
    if (type == "linear") {
        spec.scaling.type = RopeScalingType::Linear;
        return spec;
    }
    spec.scaling.type = RopeScalingType::Llama3;
    if (k.isSet("low_freq_factor")) STRATA_ASSIGN(spec.scaling.lowFreqFactor, k.positiveNumber("low_freq_factor"));
    if (k.isSet("high_freq_factor"))
        STRATA_ASSIGN(spec.scaling.highFreqFactor, k.positiveNumber("high_freq_factor"));
    if (spec.scaling.highFreqFactor <= spec.scaling.lowFreqFactor)
        return badInput(where + ": high_freq_factor must exceed low_freq_factor");
    spec.scaling.originalMaxPositions = maxPositions;
    if (k.isSet("original_max_position_embeddings"))
        STRATA_ASSIGN(spec.scaling.originalMaxPositions, k.positiveInt("original_max_position_embeddings"));
    return spec;
}

Result<std::vector<LayerAttention>> parseLayerTypes(const ConfigKeys& k, int64_t numLayers) {
    const json& v = k.at("layer_types");
    if (!v.is_array() || int64_t(v.size()) != numLayers)
        return k.bad("layer_types", "a list of " + std::to_string(numLayers) + " layer types");
    std::vector<LayerAttention> types;
    for (const json& e : v) {
        if (e == "full_attention") {
            types.push_back(LayerAttention::Full);
        } else if (e == "sliding_attention") {
            types.push_back(LayerAttention::Sliding);
        } else {
            return badInput(k.where() + ": unsupported layer type " + shortDump(e) +
                            " in layer_types (supported: full_attention, sliding_attention)");
        }
    }
    return types;
}

bool anySliding(const std::vector<LayerAttention>& types) {
    for (LayerAttention t : types)
        if (t == LayerAttention::Sliding) return true;
    return false;
}

Status parseSlidingLayers(ModelConfig& c, const ConfigKeys& k, const std::function<bool(int64_t)>& slidingByDefault) {
    std::optional<int64_t> window;
    STRATA_ASSIGN(window, k.optionalInt("sliding_window"));
    if (window && *window <= 0) return k.bad("sliding_window", "a positive integer");
    if (k.isSet("layer_types")) {
        STRATA_ASSIGN(c.layerTypes, parseLayerTypes(k, c.numLayers));
    } else {
        c.layerTypes.clear();
        for (int64_t i = 0; i < c.numLayers; ++i)
            c.layerTypes.push_back(slidingByDefault(i) ? LayerAttention::Sliding : LayerAttention::Full);
    }
    if (anySliding(c.layerTypes) && !window)
        return badInput(k.where() + ": sliding_window is null but some layers use sliding_attention");
    c.slidingWindow = window.value_or(0);
    return {};
}

Status parseActivation(ModelConfig& c, const ConfigKeys& k, const std::string& key) {
    const json& v = k.at(key);
    const std::string name = v.is_string() ? v.get<std::string>() : "";
    if (name == "silu" || name == "swish") {
        c.activation = Activation::SiLU;
    } else if (name == "gelu_pytorch_tanh" || name == "gelu_tanh" || name == "gelu_new") {
        c.activation = Activation::GeluTanh;
    } else {
        return badInput(k.where() + ": unsupported " + key + " " + shortDump(v) +
                        " (supported: silu, gelu_pytorch_tanh)");
    }
    return {};
}

Status parseSizes(ModelConfig& c, const ConfigKeys& k) {
    // Bounds far above any real model, low enough that products of them cannot overflow int64.
    STRATA_ASSIGN(c.hiddenSize, k.positiveInt("hidden_size", 1 << 20));
    STRATA_ASSIGN(c.numLayers, k.positiveInt("num_hidden_layers", 4096));
    STRATA_ASSIGN(c.intermediateSize, k.positiveInt("intermediate_size", 1 << 24));
    STRATA_ASSIGN(c.numHeads, k.positiveInt("num_attention_heads", 1 << 16));
    STRATA_ASSIGN(c.vocabSize, k.positiveInt("vocab_size", INT32_MAX));
    STRATA_ASSIGN(c.maxPositions, k.positiveInt("max_position_embeddings"));
    c.numKvHeads = c.numHeads;
    if (k.isSet("num_key_value_heads"))
        STRATA_ASSIGN(c.numKvHeads, k.positiveInt("num_key_value_heads", 1 << 16));
    if (c.numHeads % c.numKvHeads != 0)
        return badInput(k.where() + ": num_attention_heads " + std::to_string(c.numHeads) +
                        " is not a multiple of num_key_value_heads " + std::to_string(c.numKvHeads));
    if (k.isSet("head_dim")) {
        STRATA_ASSIGN(c.headDim, k.positiveInt("head_dim", 1 << 16));
    } else {
        if (c.hiddenSize % c.numHeads != 0)
            return badInput(k.where() + ": head_dim is not given and hidden_size " + std::to_string(c.hiddenSize) +
                            " is not a multiple of num_attention_heads " + std::to_string(c.numHeads));
        c.headDim = c.hiddenSize / c.numHeads;
    }
    STRATA_ASSIGN(c.rmsNormEps, k.positiveNumber("rms_norm_eps"));
    STRATA_ASSIGN(c.tieWordEmbeddings, k.boolean("tie_word_embeddings", false));
    c.attentionScale = 1.0 / std::sqrt(double(c.headDim));
    return {};
}

Status parseTokens(ModelConfig& c, const ConfigKeys& k) {
    c.bosTokenId = -1;
    if (k.isSet("bos_token_id")) STRATA_ASSIGN(c.bosTokenId, tokenId(k.at("bos_token_id"), k, "bos_token_id"));
    STRATA_ASSIGN(c.eosTokenIds, tokenIds(k.at("eos_token_id"), k, "eos_token_id"));
    return {};
}

Status parseSingleRope(ModelConfig& c, const ConfigKeys& k) {
    double topTheta = 0;
    STRATA_ASSIGN(topTheta, k.positiveNumber("rope_theta"));
    const bool legacy = k.isSet("rope_scaling");
    const json params = legacy ? k.at("rope_scaling") : k.isSet("rope_parameters") ? k.at("rope_parameters") : json::object();
    RopeSpec spec;
    STRATA_ASSIGN(spec, parseRope(params, topTheta, c.maxPositions,
                                  k.where() + (legacy ? " rope_scaling" : " rope_parameters")));
    c.ropeTheta = spec.theta;
    c.ropeScaling = spec.scaling;
    // YaRN multiplies cos and sin by the attention factor, so every q.k by its square.
    if (spec.scaling.type == RopeScalingType::Yarn)
        c.attentionScale *= spec.scaling.attentionFactor * spec.scaling.attentionFactor;
    return {};
}

Status parseAttentionBias(ModelConfig& c, const ConfigKeys& k) {
    STRATA_ASSIGN(c.qkvBias, k.boolean("attention_bias", false));
    c.outputBias = c.qkvBias;
    return {};
}

}  // namespace strata
