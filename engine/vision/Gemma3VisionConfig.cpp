#include "vision/Gemma3VisionConfig.h"

#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "arch/ModelConfig.h"
#include "vision/EncoderConfigJson.h"

namespace strata {

using encoder::positiveInt;
using nlohmann::json;

int64_t Gemma3VisionConfig::tokensPerSide() const {
    return int64_t(std::llround(std::sqrt(double(mmTokensPerImage))));
}

Result<Gemma3VisionConfig> parseGemma3VisionConfig(const std::string& jsonText, const std::string& source) {
    json root;
    STRATA_ASSIGN(root, encoder::parseConfigObject(jsonText, source));
    const json* vision = nullptr;
    STRATA_ASSIGN(vision, encoder::configSection(root, "vision_config", source,
                                                 "; is it a Gemma 3 checkpoint with an image encoder?"));
    const json* text = nullptr;
    STRATA_ASSIGN(text, encoder::configSection(root, "text_config", source));

    Gemma3VisionConfig c;
    const std::string v = "vision_config";
    STRATA_ASSIGN(c.hiddenSize, positiveInt(*vision, v, {"hidden_size"}, source, std::nullopt));
    STRATA_ASSIGN(c.intermediateSize, positiveInt(*vision, v, {"intermediate_size"}, source, std::nullopt));
    STRATA_ASSIGN(c.numLayers, positiveInt(*vision, v, {"num_hidden_layers"}, source, std::nullopt));
    STRATA_ASSIGN(c.numHeads, positiveInt(*vision, v, {"num_attention_heads"}, source, std::nullopt));
    STRATA_ASSIGN(c.imageSize, positiveInt(*vision, v, {"image_size"}, source, std::nullopt));
    STRATA_ASSIGN(c.patchSize, positiveInt(*vision, v, {"patch_size"}, source, std::nullopt));
    STRATA_ASSIGN(c.numChannels, positiveInt(*vision, v, {"num_channels"}, source, int64_t(3)));
    STRATA_ASSIGN(c.textHiddenSize, positiveInt(*text, "text_config", {"hidden_size"}, source, std::nullopt));
    STRATA_ASSIGN(c.mmTokensPerImage, positiveInt(root, "the config", {"mm_tokens_per_image"}, source, int64_t(256)));
    int64_t id = 0;
    STRATA_ASSIGN(id, positiveInt(root, "the config", {"boi_token_index"}, source, int64_t(c.boiTokenId)));
    c.boiTokenId = int32_t(id);
    STRATA_ASSIGN(id, positiveInt(root, "the config", {"eoi_token_index"}, source, int64_t(c.eoiTokenId)));
    c.eoiTokenId = int32_t(id);
    STRATA_ASSIGN(id, positiveInt(root, "the config", {"image_token_index", "image_token_id"}, source,
                                  int64_t(c.imageTokenId)));
    c.imageTokenId = int32_t(id);

    if (const auto eps = vision->find("layer_norm_eps"); eps != vision->end() && !eps->is_null()) {
        if (!eps->is_number() || eps->get<double>() <= 0)
            return badInput(source + ": vision_config.layer_norm_eps must be a positive number, not " + eps->dump());
        c.layerNormEps = eps->get<double>();
    }
    if (const auto act = vision->find("hidden_act"); act != vision->end() && !act->is_null()) {
        if (!act->is_string() || (act->get<std::string>() != "gelu_pytorch_tanh" && act->get<std::string>() != "gelu_new"))
            return badInput(source + ": vision_config.hidden_act " + act->dump() +
                            " is not supported (only gelu_pytorch_tanh)");
    }
    if (c.numChannels != 3) return badInput(source + ": vision_config.num_channels must be 3 (RGB)");
    if (c.hiddenSize % c.numHeads != 0)
        return badInput(source + ": vision_config.hidden_size " + std::to_string(c.hiddenSize) +
                        " is not a multiple of num_attention_heads " + std::to_string(c.numHeads));
    if (c.imageSize % c.patchSize != 0)
        return badInput(source + ": vision_config.image_size " + std::to_string(c.imageSize) +
                        " is not a multiple of patch_size " + std::to_string(c.patchSize));
    const int64_t side = c.tokensPerSide();
    if (side * side != c.mmTokensPerImage || c.patchesPerSide() % side != 0)
        return badInput(source + ": mm_tokens_per_image " + std::to_string(c.mmTokensPerImage) +
                        " is not a square whose side divides the " + std::to_string(c.patchesPerSide()) +
                        " patches per side");
    return c;
}

Result<Gemma3VisionConfig> loadGemma3VisionConfig(const std::filesystem::path& modelDir) {
    auto text = readConfigJson(modelDir);
    STRATA_TRY(text);
    return parseGemma3VisionConfig(text.value(), (modelDir / "config.json").string());
}

}  // namespace strata
