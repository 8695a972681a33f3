#pragma once
// Reading config.json the way every family does: typed access to its keys with the family's
// defaults laid under them, the keys every transformers config may carry without changing the
// arithmetic, and the settings families share (sizes, special tokens, rope, sliding layers,
// activation, biases). A family's file (arch/<Family>.cpp) reads its own keys with these.
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/ModelConfig.h"
#include "core/Result.h"

namespace strata {

using nlohmann::json;

// A value as an error message quotes it: its JSON, cut to 60 characters.
std::string shortDump(const json& v);

// Typed access to a config object (the defaults merged under the file's keys); `where` names
// the file, and the text_config inside it where that applies.
class ConfigKeys {
public:
    ConfigKeys(json merged, std::string where) : obj_(std::move(merged)), where_(std::move(where)) {}

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

// Keys every transformers config may carry that do not change what the model computes.
const std::set<std::string>& inertConfigKeys();
// The keys every family reads (parseSizes, parseTokens and the rope): a family's configKeys()
// adds its own to these (withCommonKeys).
std::set<std::string> withCommonKeys(std::initializer_list<const char*> familyKeys);

// hidden_size, num_hidden_layers, intermediate_size, heads, head_dim, vocab_size,
// max_position_embeddings, rms_norm_eps, tie_word_embeddings; the attention scale head_dim^-0.5.
Status parseSizes(ModelConfig& c, const ConfigKeys& k);
// bos_token_id and eos_token_id (one id or a list).
Status parseTokens(ModelConfig& c, const ConfigKeys& k);

struct RopeSpec {
    double theta = 10000.0;
    RopeScaling scaling;
};
// One rope parameter object: transformers 5's rope_parameters (or an entry of it keyed by layer
// type), or the older rope_scaling, which spells rope_type as "type" in some files.
Result<RopeSpec> parseRope(const json& d, double defaultTheta, int64_t maxPositions, const std::string& where);
// One rope for every layer. transformers lets rope_scaling replace rope_parameters, and takes
// rope_theta from inside the dict first, then from the top level.
Status parseSingleRope(ModelConfig& c, const ConfigKeys& k);

// layer_types, checked to list numLayers full_attention or sliding_attention layers.
Result<std::vector<LayerAttention>> parseLayerTypes(const ConfigKeys& k, int64_t numLayers);
bool anySliding(const std::vector<LayerAttention>& types);
// sliding_window and layer_types, which a file may leave out: then layer i slides when
// slidingByDefault(i) says so.
Status parseSlidingLayers(ModelConfig& c, const ConfigKeys& k, const std::function<bool(int64_t)>& slidingByDefault);

Status parseActivation(ModelConfig& c, const ConfigKeys& k, const std::string& key);
// attention_bias puts a bias on every attention projection, q, k, v and o.
Status parseAttentionBias(ModelConfig& c, const ConfigKeys& k);

}  // namespace strata
