#pragma once
// The facts of Gemma 3's image side: the SigLIP vision tower ("vision_config" of config.json) and
// the projector that turns its patches into text-space tokens ("mm_tokens_per_image").
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/Result.h"

namespace strata {

struct Gemma3VisionConfig {
    int64_t hiddenSize = 0;        // vision_config.hidden_size
    int64_t intermediateSize = 0;  // vision_config.intermediate_size
    int64_t numLayers = 0;         // vision_config.num_hidden_layers
    int64_t numHeads = 0;          // vision_config.num_attention_heads
    int64_t imageSize = 0;         // vision_config.image_size: images are imageSize x imageSize
    int64_t patchSize = 0;         // vision_config.patch_size
    int64_t numChannels = 3;
    double layerNormEps = 1e-6;    // the encoder's LayerNorms and the projector's RMSNorm
    int64_t mmTokensPerImage = 256;
    int64_t textHiddenSize = 0;    // text_config.hidden_size: the width of projected tokens
    // The prompt's image tokens: begin and end markers around mmTokensPerImage soft tokens.
    int32_t boiTokenId = 255999;    // boi_token_index, "<start_of_image>"
    int32_t eoiTokenId = 256000;    // eoi_token_index, "<end_of_image>"
    int32_t imageTokenId = 262144;  // image_token_index, "<image_soft_token>"

    int64_t headDim() const { return hiddenSize / numHeads; }
    int64_t patchesPerSide() const { return imageSize / patchSize; }
    int64_t numPatches() const { return patchesPerSide() * patchesPerSide(); }
    int64_t tokensPerSide() const;  // sqrt(mmTokensPerImage)
    int64_t pixelCount() const { return numChannels * imageSize * imageSize; }
};

// Parses config.json text of a Gemma3ForConditionalGeneration checkpoint. vision_config's
// hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, image_size and
// patch_size and text_config.hidden_size must be present; the rest fall back to transformers'
// defaults (which save_pretrained leaves out). `source` names the file in error messages.
Result<Gemma3VisionConfig> parseGemma3VisionConfig(const std::string& jsonText, const std::string& source);
Result<Gemma3VisionConfig> loadGemma3VisionConfig(const std::filesystem::path& modelDir);

}  // namespace strata
