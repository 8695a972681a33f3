#pragma once
// Where the model families are found: by config.json's model_type (a family's decoder, or a
// multimodal wrapper around one) and by a GGUF file's general.architecture.
#include <string>

#include "core/Result.h"
#include "tokenizer/ChatTemplate.h"

namespace strata {

class ModelFamily;
struct ModelWrapper;

// The family whose decoder config.json's model_type names, or nullptr.
const ModelFamily* findFamily(const std::string& modelType);
// The multimodal wrapper model_type names, or nullptr.
const ModelWrapper* findWrapper(const std::string& modelType);
// The family of a GGUF architecture, or nullptr.
const ModelFamily* findGgufFamily(const std::string& architecture);
// "a, b, c": every model_type Strata reads, for messages.
std::string supportedModelTypes();

// The chat format of a model_type (a wrapper's is its decoder's); badInput when it has none.
Result<ChatFormat> chatFormatForModelType(const std::string& modelType);

// Whether a model_type's chat turns are built from token ids (ModelWrapper::turnsFromTokenIds)
// rather than by its chat format.
bool chatTurnsFromTokenIds(const std::string& modelType);

}  // namespace strata
