#pragma once
// Voxtral's multimodal projector: concatenates each run of intermediate_size / hidden_size
// consecutive encoder frames (4 in released checkpoints) and maps them through two bias-free
// linear layers with a GELU between into the text model's embedding space.
#include <filesystem>
#include <span>
#include <vector>

#include "audio/VoxtralAudioConfig.h"
#include "core/Result.h"

namespace strata {

class Checkpoint;

class VoxtralProjector {
public:
    static Result<VoxtralProjector> load(const std::filesystem::path& modelDir);
    static Result<VoxtralProjector> load(const Checkpoint& checkpoint, const VoxtralAudioConfig& config);

    const VoxtralAudioConfig& config() const { return config_; }

    // encoderOutput: [frames, hiddenSize] as VoxtralAudioEncoder::encode gives it, or several
    // chunks' outputs concatenated; frames must be a multiple of framesPerToken().
    // Returns [frames / framesPerToken, textHiddenSize], row-major.
    Result<std::vector<float>> project(std::span<const float> encoderOutput) const;

private:
    VoxtralProjector() = default;

    VoxtralAudioConfig config_;
    std::vector<float> linear1_;  // [text hidden, intermediate]
    std::vector<float> linear2_;  // [text hidden, text hidden]
};

}  // namespace strata
