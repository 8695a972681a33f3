#include "model/ModelConfig.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "format/JsonText.h"

#include "format/Checkpoint.h"
#include "model/GgufConfig.h"

namespace strata {
namespace {

using nlohmann::json;

// Defaults of the transformers config classes (LlamaConfig, Qwen3Config, Gemma3TextConfig,
// transformers 5) for the keys a config.json may omit. null means "derived": num_key_value_heads
// falls back to num_attention_heads, Llama's head_dim to hidden_size / num_attention_heads.
// hidden_size, num_hidden_layers and intermediate_size are deliberately absent: a config.json
// without them is not from a real checkpoint, and a silent 4096 would only fail later.
const json& familyDefaults(const std::string& modelType) {
    static const json llama = {
        {"vocab_size", 32000}, {"num_attention_heads", 32}, {"num_key_value_heads", nullptr},
        {"head_dim", nullptr}, {"hidden_act", "silu"}, {"max_position_embeddings", 2048},
        {"rms_norm_eps", 1e-6}, {"bos_token_id", 1}, {"eos_token_id", 2},
        {"tie_word_embeddings", false}, {"rope_theta", 10000.0},
    };
    static const json qwen2 = {
        {"vocab_size", 151936}, {"num_attention_heads", 32}, {"num_key_value_heads", 32},
        {"head_dim", nullptr}, {"hidden_act", "silu"}, {"max_position_embeddings", 32768},
        {"rms_norm_eps", 1e-6}, {"bos_token_id", nullptr}, {"eos_token_id", nullptr},
        {"tie_word_embeddings", false}, {"rope_theta", 10000.0}, {"use_sliding_window", false},
        {"sliding_window", 4096}, {"max_window_layers", 28},
    };
    static const json qwen3 = {
        {"vocab_size", 151936}, {"num_attention_heads", 32}, {"num_key_value_heads", 32},
        {"head_dim", 128}, {"hidden_act", "silu"}, {"max_position_embeddings", 32768},
        {"rms_norm_eps", 1e-6}, {"bos_token_id", nullptr}, {"eos_token_id", nullptr},
        {"tie_word_embeddings", false}, {"rope_theta", 10000.0}, {"use_sliding_window", false},
        {"sliding_window", 4096}, {"max_window_layers", 28},
    };
    static const json gemma3Text = {
        {"vocab_size", 262208}, {"num_attention_heads", 8}, {"num_key_value_heads", 4},
        {"head_dim", 256}, {"hidden_activation", "gelu_pytorch_tanh"},
        {"max_position_embeddings", 131072}, {"rms_norm_eps", 1e-6}, {"bos_token_id", 2},
        {"eos_token_id", 1}, {"tie_word_embeddings", true}, {"query_pre_attn_scalar", 256},
        {"sliding_window", 4096}, {"final_logit_softcapping", nullptr},
        {"attn_logit_softcapping", nullptr}, {"rope_theta", 1000000.0}, {"rope_local_base_freq", 10000.0},
        {"use_bidirectional_attention", false},
    };
    // GptOssConfig's: layer_types and rope_parameters are derived in its __post_init__ (even layers
    // sliding; YaRN as the released models have it).
    static const json gptOss = {
        {"vocab_size", 201088}, {"num_attention_heads", 64}, {"num_key_value_heads", 8}, {"head_dim", 64},
        {"hidden_act", "silu"}, {"max_position_embeddings", 131072}, {"rms_norm_eps", 1e-5},
        {"bos_token_id", nullptr}, {"eos_token_id", nullptr}, {"tie_word_embeddings", false},
        {"rope_theta", 150000.0}, {"sliding_window", 128}, {"attention_bias", true}, {"num_local_experts", 128},
        {"num_experts_per_tok", 4}, {"swiglu_alpha", 1.702}, {"swiglu_limit", 7.0},
        {"rope_parameters",
         {{"rope_type", "yarn"}, {"factor", 32.0}, {"beta_fast", 32.0}, {"beta_slow", 1.0}, {"truncate", false},
          {"original_max_position_embeddings", 4096}}},
    };
    if (modelType == "llama") return llama;
    if (modelType == "qwen2") return qwen2;
    if (modelType == "qwen3") return qwen3;
    if (modelType == "gpt_oss") return gptOss;
    return gemma3Text;
}

constexpr const char* kSupportedTypes = "llama, qwen2, qwen3, gemma3_text, gemma3, voxtral, gpt_oss";

// Keys every transformers config may carry that do not change what the model computes: naming,
// training (dropout, initialisation), generation defaults, bookkeeping. Every other key must be
// one the family reads (kFamilyKeys), so that a setting Strata would silently ignore refuses the
// load instead.
const std::set<std::string>& inertKeys() {
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
        // Llama's tensor-parallel split of the MLP during pretraining: the same products, in pieces.
        "pretraining_tp",
    };
    return keys;
}

// The keys each family reads (parseSizes, parseTokens and the family's parser below).
const std::set<std::string>& familyKeys(const std::string& modelType) {
    static const std::set<std::string> common = {
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "max_position_embeddings", "rms_norm_eps", "bos_token_id",
        "eos_token_id", "tie_word_embeddings", "rope_theta", "rope_scaling", "rope_parameters",
    };
    auto with = [](std::initializer_list<const char*> extra) {
        std::set<std::string> keys = common;
        keys.insert(extra.begin(), extra.end());
        return keys;
    };
    static const std::set<std::string> llama = with({"hidden_act", "attention_bias", "mlp_bias"});
    static const std::set<std::string> qwen2 =
        with({"hidden_act", "use_sliding_window", "sliding_window", "max_window_layers", "layer_types"});
    static const std::set<std::string> qwen3 = with(
        {"hidden_act", "attention_bias", "use_sliding_window", "sliding_window", "max_window_layers", "layer_types"});
    static const std::set<std::string> gemma3Text = with(
        {"hidden_activation", "hidden_act", "attention_bias", "query_pre_attn_scalar", "attn_logit_softcapping",
         "final_logit_softcapping", "use_bidirectional_attention", "sliding_window", "layer_types",
         "sliding_window_pattern", "_sliding_window_pattern", "rope_local_base_freq"});
    // The router's load-balancing loss and logits are training outputs; quantization_config is
    // read (MXFP4 experts) and anything else in it refused. The released config.json also carries
    // the original names experts_per_token (checked against num_experts_per_tok) and
    // initial_context_length (the pre-YaRN context, which rope_scaling restates), which
    // transformers does not read.
    static const std::set<std::string> gptOss =
        with({"hidden_act", "attention_bias", "sliding_window", "layer_types", "num_local_experts",
              "num_experts_per_tok", "swiglu_alpha", "swiglu_limit", "router_aux_loss_coef", "output_router_logits",
              "quantization_config", "experts_per_token", "initial_context_length"});
    // The multimodal wrappers: their decoder is text_config; the encoders read their own sections.
    static const std::set<std::string> gemma3 = {"text_config", "vision_config", "mm_tokens_per_image",
                                                 "boi_token_index", "eoi_token_index", "image_token_index",
                                                 "tie_word_embeddings", "bos_token_id", "eos_token_id"};
    static const std::set<std::string> voxtral = {"text_config", "audio_config", "audio_token_id",
                                                  "projector_hidden_act", "hidden_size", "tie_word_embeddings",
                                                  "bos_token_id", "eos_token_id"};
    if (modelType == "llama") return llama;
    if (modelType == "qwen2") return qwen2;
    if (modelType == "qwen3") return qwen3;
    if (modelType == "gemma3") return gemma3;
    if (modelType == "voxtral") return voxtral;
    if (modelType == "gpt_oss") return gptOss;
    return gemma3Text;
}

std::string shortDump(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Typed access to a config object (the defaults merged under the file's keys); `where` names
// the file, and the text_config inside it where that applies.
class Keys {
public:
    Keys(json merged, std::string where) : obj_(std::move(merged)), where_(std::move(where)) {}

    const std::string& where() const { return where_; }
    const json& at(const std::string& key) const {
        static const json null;
        auto it = obj_.find(key);
        return it == obj_.end() ? null : *it;
    }
    bool isSet(const std::string& key) const { return !at(key).is_null(); }

    Error bad(const std::string& key, const std::string& expected) const {
        return badInput(where_ + ": \"" + key + "\" must be " + expected + ", got " + shortDump(at(key)));
    }

    Result<std::optional<int64_t>> optionalInt(const std::string& key) const {
        const json& v = at(key);
        if (v.is_null()) return std::optional<int64_t>();
        if (v.is_number_integer()) {
            if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) return bad(key, "an integer");
            return std::optional<int64_t>(v.get<int64_t>());
        }
        // 4096.0 is an integer written by a careless tool; 4096.5 is not.
        if (v.is_number_float()) {
            const double d = v.get<double>();
            if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15)
                return std::optional<int64_t>(int64_t(d));
        }
        return bad(key, "an integer");
    }
    // The upper bound keeps a lying file from making later code allocate absurd amounts.
    Result<int64_t> positiveInt(const std::string& key, int64_t max = int64_t(1) << 40) const {
        if (!isSet(key)) return badInput(where_ + ": required key \"" + key + "\" is missing");
        Result<std::optional<int64_t>> v = optionalInt(key);
        if (!v.ok()) return v.error();
        if (**v <= 0 || **v > max) return bad(key, "a positive integer no larger than " + std::to_string(max));
        return **v;
    }
    Result<std::optional<double>> optionalNumber(const std::string& key) const {
        const json& v = at(key);
        if (v.is_null()) return std::optional<double>();
        if (!v.is_number() || !std::isfinite(v.get<double>())) return bad(key, "a number");
        return std::optional<double>(v.get<double>());
    }
    Result<double> positiveNumber(const std::string& key) const {
        Result<std::optional<double>> v = optionalNumber(key);
        if (!v.ok()) return v.error();
        if (!*v || **v <= 0) return bad(key, "a positive number");
        return **v;
    }
    Result<bool> boolean(const std::string& key, bool fallback) const {
        const json& v = at(key);
        if (v.is_null()) return fallback;
        if (!v.is_boolean()) return bad(key, "true or false");
        return v.get<bool>();
    }

private:
    json obj_;
    std::string where_;
};

Result<int32_t> tokenId(const json& v, const Keys& k, const std::string& key) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
        return k.bad(key, "a token id or a list of token ids");
    return int32_t(v.get<int64_t>());
}

Result<std::vector<int32_t>> tokenIds(const json& v, const Keys& k, const std::string& key) {
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

struct RopeSpec {
    double theta = 10000.0;
    RopeScaling scaling;
};

// YaRN as transformers computes it (_compute_yarn_parameters): the factor (or, when null,
// max_position_embeddings over the original), the attention factor given or derived from the
// factor and mscale / mscale_all_dim, beta_fast and beta_slow, and truncate.
Result<RopeSpec> parseYarn(const Keys& k, RopeSpec spec, int64_t maxPositions, const std::string& where) {
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

// One rope parameter object: transformers 5's rope_parameters (or an entry of it keyed by layer
// type), or the older rope_scaling, which spells rope_type as "type" in some files.
Result<RopeSpec> parseRope(const json& d, double defaultTheta, int64_t maxPositions, const std::string& where) {
    if (!d.is_object()) return badInput(where + " must be a JSON object, got " + shortDump(d));
    Keys k(d, where);
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

Result<std::vector<LayerAttention>> parseLayerTypes(const Keys& k, int64_t numLayers) {
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

// sliding_window and layer_types, which a file may leave out: then layer i slides when
// slidingByDefault(i) says so.
Status parseSlidingLayers(ModelConfig& c, const Keys& k, const std::function<bool(int64_t)>& slidingByDefault) {
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

Status parseActivation(ModelConfig& c, const Keys& k, const std::string& key) {
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

Status parseSizes(ModelConfig& c, const Keys& k) {
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

Status parseTokens(ModelConfig& c, const Keys& k) {
    c.bosTokenId = -1;
    if (k.isSet("bos_token_id")) STRATA_ASSIGN(c.bosTokenId, tokenId(k.at("bos_token_id"), k, "bos_token_id"));
    STRATA_ASSIGN(c.eosTokenIds, tokenIds(k.at("eos_token_id"), k, "eos_token_id"));
    return {};
}

// Llama and Qwen3 keep one rope for every layer. transformers lets rope_scaling replace
// rope_parameters, and takes rope_theta from inside the dict first, then from the top level.
Status parseSingleRope(ModelConfig& c, const Keys& k) {
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

// attention_bias puts a bias on every attention projection, q, k, v and o (Llama, Qwen3, Gemma 3).
Status parseAttentionBias(ModelConfig& c, const Keys& k) {
    STRATA_ASSIGN(c.qkvBias, k.boolean("attention_bias", false));
    c.outputBias = c.qkvBias;
    return {};
}

Status parseLlama(ModelConfig& c, const Keys& k) {
    STRATA_TRY(parseActivation(c, k, "hidden_act"));
    STRATA_TRY(parseSingleRope(c, k));
    STRATA_TRY(parseAttentionBias(c, k));
    STRATA_ASSIGN(c.mlpBias, k.boolean("mlp_bias", false));
    c.layerTypes.assign(size_t(c.numLayers), LayerAttention::Full);
    return {};
}

// Qwen2 and Qwen3 share their sliding-window settings; Qwen3 adds per-head q/k norms, Qwen2 has
// biases on q, k and v (never on o, whatever a config says).
Status parseQwen(ModelConfig& c, const Keys& k) {
    c.qkNorm = c.arch == Architecture::Qwen3;
    if (c.arch == Architecture::Qwen2) {
        c.qkvBias = true;
    } else {
        STRATA_TRY(parseAttentionBias(c, k));
    }
    STRATA_TRY(parseActivation(c, k, "hidden_act"));
    STRATA_TRY(parseSingleRope(c, k));
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
            c.layerTypes.push_back(window && i >= maxWindowLayers.value_or(0) ? LayerAttention::Sliding : LayerAttention::Full);
    }
    if (anySliding(c.layerTypes) && !window)
        return badInput(k.where() + ": layer_types lists sliding_attention layers but use_sliding_window is false "
                        "or sliding_window is null");
    c.slidingWindow = window.value_or(0);
    return {};
}

Status parseGemma3Text(ModelConfig& c, const Keys& k) {
    c.arch = Architecture::Gemma3Text;
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

// gpt-oss's quantization_config: MXFP4 experts, with everything else (attention, router,
// embeddings, head) left unquantised, as the released checkpoints are.
Status parseGptOssQuantization(ModelConfig& c, const Keys& k) {
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

Status parseGptOss(ModelConfig& c, const Keys& k) {
    c.arch = Architecture::GptOss;
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

// The family defaults with the file's keys laid over them.
json withDefaults(const std::string& modelType, const json& keys) {
    json merged = familyDefaults(modelType);
    for (auto it = keys.begin(); it != keys.end(); ++it) merged[it.key()] = it.value();
    return merged;
}

// Refuses a key the family does not read and that is not known to be inert: it may change what
// the model computes (a quantisation scheme, a newer attention variant), and running without it
// would give wrong answers without a word. null and false are let through: a feature set off.
Status checkKnownKeys(const json& obj, const std::string& modelType, const std::string& where) {
    const std::set<std::string>& known = familyKeys(modelType);
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string& key = it.key();
        if (known.count(key) || inertKeys().count(key) || it.value().is_null() || it.value() == false) continue;
        if (key == "quantization_config" && modelType != "gpt_oss")
            return badInput(where + ": \"quantization_config\" " + shortDump(it.value()) +
                            ": quantised Hugging Face checkpoints are not supported; use the bf16 or f16 checkpoint, "
                            "or a GGUF file");
        return badInput(where + ": key \"" + key + "\" (" + shortDump(it.value()) +
                        ") is not one Strata reads for model_type " + modelType +
                        "; it may change how the model computes, so the load is refused rather than risking wrong "
                        "answers");
    }
    return {};
}

Status parseTextModel(ModelConfig& c, const std::string& textType, const json& keys, const std::string& where) {
    STRATA_TRY(checkKnownKeys(keys, textType, where));
    const Keys k(withDefaults(textType, keys), where);
    STRATA_TRY(parseSizes(c, k));
    STRATA_TRY(parseTokens(c, k));
    if (textType == "llama") return parseLlama(c, k);
    if (textType == "qwen2" || textType == "qwen3") return parseQwen(c, k);
    if (textType == "gpt_oss") return parseGptOss(c, k);
    return parseGemma3Text(c, k);
}

Result<ModelConfig> parseWithKnownType(const json& root, const std::string& modelType, const std::string& source) {
    ModelConfig c;
    c.modelType = modelType;
    if (modelType == "llama") c.arch = Architecture::Llama;
    if (modelType == "qwen2") c.arch = Architecture::Qwen2;
    if (modelType == "qwen3") c.arch = Architecture::Qwen3;
    if (modelType != "gemma3" && modelType != "voxtral") {
        STRATA_TRY(parseTextModel(c, modelType, root, source));
        return c;
    }
    STRATA_TRY(checkKnownKeys(root, modelType, source));

    // Gemma3ForConditionalGeneration and VoxtralForConditionalGeneration: the decoder (Gemma 3
    // text, Llama) is described by text_config, while tying and the special tokens may be written
    // at the top level.
    const std::string textType = modelType == "gemma3" ? "gemma3_text" : "llama";
    if (modelType == "voxtral") c.arch = Architecture::Llama;
    json text = root.contains("text_config") ? root["text_config"] : json();
    if (text.is_null()) text = json::object();
    if (!text.is_object()) return badInput(source + ": \"text_config\" must be a JSON object");
    if (text.contains("model_type") && text["model_type"] != textType)
        return badInput(source + ": text_config has model_type " + shortDump(text["model_type"]) + ", expected \"" +
                        textType + "\"");
    for (const char* key : {"tie_word_embeddings", "bos_token_id", "eos_token_id"})
        if (root.contains(key) && !root[key].is_null()) text[key] = root[key];
    STRATA_TRY(parseTextModel(c, textType, text, source + " text_config"));
    c.tensorPrefix = "language_model.model.";
    c.lmHeadName = "language_model.lm_head.weight";
    return c;
}

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

Result<ModelConfig> parseModelConfig(const std::string& jsonText, const std::string& source) {
    json root;
    try {
        root = json::parse(jsonText);
    } catch (const json::exception& e) {
        return badInput("invalid JSON in " + source + ": " + jsonErrorText(e));
    }
    if (!root.is_object()) return badInput(source + " is not a JSON object");
    auto mt = root.find("model_type");
    if (mt == root.end() || !mt->is_string())
        return badInput(source + " has no \"model_type\" string; supported: " + kSupportedTypes);
    const std::string modelType = mt->get<std::string>();
    if (modelType != "llama" && modelType != "qwen2" && modelType != "qwen3" && modelType != "gemma3_text" &&
        modelType != "gemma3" && modelType != "voxtral" && modelType != "gpt_oss")
        return badInput("unknown model_type '" + modelType + "' in " + source + "; supported: " + kSupportedTypes);
    try {
        return parseWithKnownType(root, modelType, source);
    } catch (const json::exception& e) {
        // Every access is type-checked first; this only guards against an overlooked one.
        return badInput("unexpected value in " + source + ": " + jsonErrorText(e));
    }
}

Result<std::string> readConfigJson(const std::filesystem::path& modelDir) {
    const std::filesystem::path path = modelDir / "config.json";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return badInput("missing config.json: " + path.string() + " does not exist");
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size > (64u << 20)) return badInput(path.string() + " cannot be read or is implausibly large");
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return badInput("cannot read " + path.string());
    return text.str();
}

Result<ModelConfig> loadModelConfig(const std::filesystem::path& modelDir) {
    auto text = readConfigJson(modelDir);
    STRATA_TRY(text);
    return parseModelConfig(text.value(), (modelDir / "config.json").string());
}

Result<ModelConfig> loadModelConfig(const Checkpoint& checkpoint) {
    if (!checkpoint.gguf()) return loadModelConfig(checkpoint.dir());
    auto json = hfConfigFromGguf(checkpoint);
    STRATA_TRY(json);
    return parseModelConfig(json.value().dump(), checkpoint.files().front().string() + " (GGUF metadata)");
}

Status resolveTensorNames(ModelConfig& config, const Checkpoint& checkpoint) {
    const std::string where = checkpoint.dir().string();
    std::string prefix;
    for (const std::string& p : {config.tensorPrefix, std::string("model."), std::string("language_model.model."),
                                 std::string("model.language_model.")}) {
        if (checkpoint.find(p + "embed_tokens.weight")) {
            prefix = p;
            break;
        }
    }
    if (prefix.empty())
        return badInput("no embedding tensor (" + config.tensorPrefix + "embed_tokens.weight or a known variant) in " +
                        where + "; is it a " + config.modelType + " checkpoint?");
    config.tensorPrefix = prefix;

    const std::string embedName = prefix + "embed_tokens.weight";
    const TensorInfo* embed = checkpoint.find(embedName);
    if (embed->shape != std::vector<int64_t>{config.vocabSize, config.hiddenSize})
        return badInput("tensor " + embedName + " in " + where + " has shape " + shapeText(embed->shape) +
                        " but config.json gives vocab_size " + std::to_string(config.vocabSize) +
                        " and hidden_size " + std::to_string(config.hiddenSize));
    const std::string lastLayer =
        prefix + "layers." + std::to_string(config.numLayers - 1) + ".input_layernorm.weight";
    if (!checkpoint.find(lastLayer))
        return badInput("config.json gives " + std::to_string(config.numLayers) + " layers but " + where +
                        " has no tensor " + lastLayer);

    // A Gemma 3 decoder saved under model.language_model. keeps its head at the top level.
    for (const std::string& head :
         {config.lmHeadName, std::string("lm_head.weight"), std::string("language_model.lm_head.weight")}) {
        if (const TensorInfo* t = checkpoint.find(head)) {
            if (t->shape != embed->shape)
                return badInput("tensor " + head + " in " + where + " has shape " + shapeText(t->shape) +
                                ", expected " + shapeText(embed->shape));
            config.lmHeadName = head;
            config.tieWordEmbeddings = false;
            return {};
        }
    }
    if (!config.tieWordEmbeddings)
        return badInput("no output head tensor (" + config.lmHeadName + ") in " + where +
                        " and config.json does not tie it to the embeddings (tie_word_embeddings is false)");
    config.lmHeadName = embedName;
    return {};
}

}  // namespace strata
