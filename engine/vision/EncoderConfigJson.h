#pragma once
// Reading the encoder sections of a multimodal config.json (Gemma 3's vision_config, Voxtral's
// audio_config), for the image and audio encoders alike.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/Result.h"

namespace strata::encoder {

// jsonText as a JSON object; badInput naming source when it is not valid JSON or not an object.
Result<nlohmann::json> parseConfigObject(const std::string& jsonText, const std::string& source);

// root[name] when it is an object; otherwise badInput "<source> has no "<name>" object<hint>".
Result<const nlohmann::json*> configSection(const nlohmann::json& root, const std::string& name,
                                            const std::string& source, const std::string& hint = {});

// The first of keys that is set (names that transformers' attribute maps let stand for one
// another), which must be a positive integer; fallback when none is set, else badInput.
Result<int64_t> positiveInt(const nlohmann::json& object, const std::string& objectName,
                            const std::vector<std::string>& keys, const std::string& source,
                            std::optional<int64_t> fallback);

}  // namespace strata::encoder
