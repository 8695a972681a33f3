#pragma once
// Everything that is particular to one model family, behind one interface. Each family
// implements it in its own file under arch/, named after it: what its config.json
// means and its defaults, how its GGUF files name things, which tensors each layer has and their
// shapes, its layer forward written from the shared blocks (arch/Blocks.h), and its chat format.
// The registry (arch/Registry.h) finds a family by model_type or GGUF architecture; the driver
// (model/TransformerModel) never asks which family it runs.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/ConfigKeys.h"
#include "arch/ModelConfig.h"
#include "core/Result.h"
#include "format/Checkpoint.h"
#include "format/GgufFile.h"
#include "format/GgufTensorNames.h"
#include "runtime/WeightLayout.h"
#include "tokenizer/ChatTemplate.h"

namespace strata {

struct LayerStep;
struct LayerPass;

class ModelFamily {
public:
    virtual ~ModelFamily() = default;

    // For people: what `strata-cli info` prints.
    virtual const char* displayName() const = 0;
    // config.json's model_type for a checkpoint of this family's decoder alone.
    virtual const char* modelType() const = 0;
    // transformers' class for it (<Family>ForCausalLM), which a converted config.json names.
    virtual const char* causalLmClass() const = 0;
    virtual ChatFormat chatFormat() const = 0;

    // config.json. The defaults of the family's transformers config class for the keys a file may
    // omit (null: derived from other keys); hidden_size, num_hidden_layers and intermediate_size
    // have none. The keys the family reads (withCommonKeys): any other key that is not inert
    // refuses the load. parseConfig reads the family's own settings after the sizes and tokens.
    virtual const json& configDefaults() const = 0;
    virtual const std::set<std::string>& configKeys() const = 0;
    virtual Status parseConfig(ModelConfig& config, const ConfigKeys& keys) const = 0;

    // GGUF files: llama.cpp's architecture name (nullptr: Strata reads none of this family), the
    // metadata keys under "<arch>." that the family reads besides the common ones, the
    // config.json keys it derives from them (given the common keys already filled in), and its
    // storage conventions. A family's tensors outside the layers (a rope table) are
    // listed by ggufExtraTensors, so that strict loading lets them through.
    virtual const char* ggufArchitecture() const { return nullptr; }
    virtual const std::set<std::string>& ggufKeys() const;
    virtual Status ggufConfig(const GgufFile& gguf, const Checkpoint& checkpoint, json& config) const;
    virtual GgufConventions ggufConventions() const { return {}; }
    virtual std::vector<std::string> ggufExtraTensors() const { return {}; }

    // The tensors of one decoder layer, named under `prefix` ("model.layers.N."), with the shapes
    // the config implies.
    virtual Status layerTensors(WeightUnitBuilder& unit, const ModelConfig& config, const std::string& prefix) const = 0;

    // One layer's forward over a chunk of rows (attention, and a dense MLP), then over every row
    // of the pass once every chunk is done (a mixture of experts, which then reads each routed
    // expert once per pass).
    virtual Status forwardChunk(LayerStep& step) const = 0;
    virtual Status forwardPass(LayerPass& pass) const;
};

// A multimodal checkpoint whose decoder is a family's text model, described by its text_config,
// with encoders that load and check their own tensors.
struct ModelWrapper {
    const char* modelType = "";      // config.json's model_type
    const char* textModelType = "";  // text_config's: the decoder family's model_type
    std::set<std::string> keys;      // the top-level keys it reads
    std::vector<std::string> encoderPrefixes;  // tensors the encoders own ("vision_tower.")
    // Chat turns are built from token ids (Mistral's instruction format, which its Tekken
    // tokenizer reads no special token out of text for) rather than by a chat template.
    bool turnsFromTokenIds = false;
};

}  // namespace strata
