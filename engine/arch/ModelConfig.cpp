#include "arch/ModelConfig.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "arch/ConfigKeys.h"
#include "arch/GgufConfig.h"
#include "arch/ModelFamily.h"
#include "arch/Registry.h"
#include "format/Checkpoint.h"
#include "format/JsonText.h"
#include "runtime/WeightLayout.h"

namespace strata {
namespace {

// Refuses a key the family does not read and that is not known to be inert: it may change what
// the model computes (a quantisation scheme, a newer attention variant), and running without it
// would give wrong answers without a word. null and false are let through: a feature set off.
Status checkKnownKeys(const json& obj, const std::set<std::string>& known, const std::string& modelType,
                      const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string& key = it.key();
        if (known.count(key) || inertConfigKeys().count(key) || it.value().is_null() || it.value() == false) continue;
        if (key == "quantization_config")
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

// A decoder's config: the family's defaults with the file's keys laid over them, read by the
// shared readers and then the family's own.
Status parseTextModel(ModelConfig& c, const ModelFamily& family, const json& keys, const std::string& where) {
    STRATA_TRY(checkKnownKeys(keys, family.configKeys(), family.modelType(), where));
    json merged = family.configDefaults();
    for (auto it = keys.begin(); it != keys.end(); ++it) merged[it.key()] = it.value();
    const ConfigKeys k(std::move(merged), where);
    c.family = &family;
    STRATA_TRY(parseSizes(c, k));
    STRATA_TRY(parseTokens(c, k));
    return family.parseConfig(c, k);
}

Result<ModelConfig> parseWithKnownType(const json& root, const std::string& modelType, const std::string& source) {
    ModelConfig c;
    c.modelType = modelType;
    if (const ModelFamily* family = findFamily(modelType)) {
        STRATA_TRY(parseTextModel(c, *family, root, source));
        return c;
    }
    // A multimodal wrapper: the decoder is described by text_config, while tying and the special
    // tokens may be written at the top level.
    const ModelWrapper& wrapper = *findWrapper(modelType);
    STRATA_TRY(checkKnownKeys(root, wrapper.keys, modelType, source));
    const std::string textType = wrapper.textModelType;
    json text = root.contains("text_config") ? root["text_config"] : json();
    if (text.is_null()) text = json::object();
    if (!text.is_object()) return badInput(source + ": \"text_config\" must be a JSON object");
    if (text.contains("model_type") && text["model_type"] != textType)
        return badInput(source + ": text_config has model_type " + shortDump(text["model_type"]) + ", expected \"" +
                        textType + "\"");
    for (const char* key : {"tie_word_embeddings", "bos_token_id", "eos_token_id"})
        if (root.contains(key) && !root[key].is_null()) text[key] = root[key];
    STRATA_TRY(parseTextModel(c, *findFamily(textType), text, source + " text_config"));
    c.tensorPrefix = "language_model.model.";
    c.lmHeadName = "language_model.lm_head.weight";
    return c;
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
        return badInput(source + " has no \"model_type\" string; supported: " + supportedModelTypes());
    const std::string modelType = mt->get<std::string>();
    if (!findFamily(modelType) && !findWrapper(modelType))
        return badInput("unknown model_type '" + modelType + "' in " + source + "; supported: " + supportedModelTypes());
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

    // A wrapper's decoder saved under model.language_model. keeps its head at the top level.
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
