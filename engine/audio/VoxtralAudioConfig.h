#pragma once
// The facts of Voxtral's audio side: the Whisper-style encoder ("audio_config" of config.json) and
// the projector that maps groups of its frames into the text model's embedding space.
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/Result.h"

namespace strata {

struct VoxtralAudioConfig {
    int64_t hiddenSize = 0;           // audio_config.hidden_size (d_model)
    int64_t intermediateSize = 0;     // audio_config.intermediate_size: the MLP width and the projector's input
    int64_t numLayers = 0;            // audio_config.num_hidden_layers
    int64_t numHeads = 0;             // audio_config.num_attention_heads
    int64_t numMelBins = 128;         // audio_config.num_mel_bins
    int64_t maxSourcePositions = 1500;  // encoder positions per chunk
    double layerNormEps = 1e-5;       // torch's LayerNorm default, which the encoder uses
    int64_t textHiddenSize = 0;       // text_config.hidden_size: the width of projected tokens
    int32_t audioTokenId = 24;        // audio_token_id, "[AUDIO]": the prompt's placeholder per token

    int64_t headDim() const { return hiddenSize / numHeads; }
    // Mel frames of one chunk: two convolutions, the second of stride 2, give maxSourcePositions.
    int64_t chunkFrames() const { return maxSourcePositions * 2; }
    // The projector reads this many consecutive encoder frames, concatenated, per text token.
    int64_t framesPerToken() const { return intermediateSize / hiddenSize; }
    int64_t tokensPerChunk() const { return maxSourcePositions / framesPerToken(); }
};

// Parses config.json text of a VoxtralForConditionalGeneration checkpoint. audio_config's
// hidden_size (or d_model), intermediate_size (or encoder_ffn_dim), num_hidden_layers (or
// encoder_layers), num_attention_heads (or encoder_attention_heads) and text_config.hidden_size
// must be present; the rest fall back to transformers' defaults. `source` names the file in errors.
Result<VoxtralAudioConfig> parseVoxtralAudioConfig(const std::string& jsonText, const std::string& source);
Result<VoxtralAudioConfig> loadVoxtralAudioConfig(const std::filesystem::path& modelDir);

}  // namespace strata
