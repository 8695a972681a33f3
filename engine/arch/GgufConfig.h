#pragma once
// The config.json that describes a GGUF model: llama.cpp's common metadata keys mapped to
// transformers' config keys here, then the family's own (ModelFamily::ggufConfig), with the
// values llama.cpp fixes in code rather than in the file. The engine parses it like any other
// config.json, and `strata-cli convert` writes it out.
#include <nlohmann/json.hpp>

#include "core/Result.h"
#include "format/Checkpoint.h"

namespace strata {

Result<nlohmann::json> hfConfigFromGguf(const Checkpoint& checkpoint);

}  // namespace strata
