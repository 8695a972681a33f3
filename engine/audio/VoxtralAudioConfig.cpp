#include "audio/VoxtralAudioConfig.h"

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "vision/EncoderConfigJson.h"
#include "arch/ModelConfig.h"

namespace strata {

using encoder::positiveInt;
using nlohmann::json;

namespace {

Status requireGelu(const json& object, const std::string& key, const std::string& where, const std::string& source) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return Status{};
    if (!it->is_string() || it->get<std::string>() != "gelu")
        return badInput(source + ": " + where + " " + it->dump() + " is not supported (only gelu)");
    return Status{};
}

}  // namespace

Result<VoxtralAudioConfig> parseVoxtralAudioConfig(const std::string& jsonText, const std::string& source) {
    json root;
    STRATA_ASSIGN(root, encoder::parseConfigObject(jsonText, source));
    const json* audio = nullptr;
    STRATA_ASSIGN(audio, encoder::configSection(root, "audio_config", source,
                                                "; is it a Voxtral checkpoint with an audio encoder?"));
    const json* text = nullptr;
    STRATA_ASSIGN(text, encoder::configSection(root, "text_config", source));

    VoxtralAudioConfig c;
    const std::string a = "audio_config";
    STRATA_ASSIGN(c.hiddenSize, positiveInt(*audio, a, {"hidden_size", "d_model"}, source, std::nullopt));
    STRATA_ASSIGN(c.intermediateSize,
                  positiveInt(*audio, a, {"intermediate_size", "encoder_ffn_dim"}, source, std::nullopt));
    STRATA_ASSIGN(c.numLayers, positiveInt(*audio, a, {"num_hidden_layers", "encoder_layers"}, source, std::nullopt));
    STRATA_ASSIGN(c.numHeads,
                  positiveInt(*audio, a, {"num_attention_heads", "encoder_attention_heads"}, source, std::nullopt));
    STRATA_ASSIGN(c.numMelBins, positiveInt(*audio, a, {"num_mel_bins"}, source, int64_t(128)));
    STRATA_ASSIGN(c.maxSourcePositions, positiveInt(*audio, a, {"max_source_positions"}, source, int64_t(1500)));
    STRATA_ASSIGN(c.textHiddenSize, positiveInt(*text, "text_config", {"hidden_size"}, source, std::nullopt));
    int64_t audioToken = 0;
    STRATA_ASSIGN(audioToken, positiveInt(root, "the config", {"audio_token_id"}, source, int64_t(c.audioTokenId)));
    c.audioTokenId = int32_t(audioToken);

    STRATA_TRY(requireGelu(*audio, "activation_function", "audio_config.activation_function", source));
    STRATA_TRY(requireGelu(root, "projector_hidden_act", "projector_hidden_act", source));
    if (const auto scale = audio->find("scale_embedding"); scale != audio->end() && scale->is_boolean() &&
                                                           scale->get<bool>())
        return badInput(source + ": audio_config.scale_embedding true is not supported");

    if (c.hiddenSize % c.numHeads != 0)
        return badInput(source + ": audio_config.hidden_size " + std::to_string(c.hiddenSize) +
                        " is not a multiple of num_attention_heads " + std::to_string(c.numHeads));
    // The projector reshapes encoder frames into rows of intermediate_size; a chunk must split evenly.
    if (c.intermediateSize % c.hiddenSize != 0 || c.maxSourcePositions % c.framesPerToken() != 0)
        return badInput(source + ": audio_config.intermediate_size " + std::to_string(c.intermediateSize) +
                        " does not group the " + std::to_string(c.maxSourcePositions) + " frames of hidden_size " +
                        std::to_string(c.hiddenSize) + " evenly");
    return c;
}

Result<VoxtralAudioConfig> loadVoxtralAudioConfig(const std::filesystem::path& modelDir) {
    auto text = readConfigJson(modelDir);
    STRATA_TRY(text);
    return parseVoxtralAudioConfig(text.value(), (modelDir / "config.json").string());
}

}  // namespace strata
