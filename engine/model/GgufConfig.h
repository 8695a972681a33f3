#pragma once
// The config.json that describes a GGUF model: llama.cpp's metadata keys mapped to transformers'
// config keys, with the values llama.cpp fixes in code rather than in the file (Gemma 3's 5:1
// sliding pattern, its local rope base and query scale). The engine parses it like any other
// config.json, and `strata-cli convert` writes it out.
#include <nlohmann/json.hpp>

#include "core/Result.h"
#include "format/Checkpoint.h"

namespace strata {

Result<nlohmann::json> hfConfigFromGguf(const Checkpoint& checkpoint);

}  // namespace strata
