#pragma once
// Gemma 3's multimodal projector: average-pools the vision tower's patch grid down to
// mm_tokens_per_image tokens, RMS-normalises them (Gemma's 1 + w) and maps them into the text
// model's embedding space.
#include <filesystem>
#include <span>
#include <vector>

#include "core/Result.h"
#include "vision/Gemma3VisionConfig.h"

namespace strata {

class Checkpoint;

class Gemma3Projector {
public:
    static Result<Gemma3Projector> load(const std::filesystem::path& modelDir);
    static Result<Gemma3Projector> load(const Checkpoint& checkpoint, const Gemma3VisionConfig& config);

    const Gemma3VisionConfig& config() const { return config_; }

    // encoderOutput: [numPatches, vision hiddenSize] as SiglipVisionEncoder::encode gives it.
    // Returns [mmTokensPerImage, textHiddenSize], row-major, tokens in raster order.
    Result<std::vector<float>> project(std::span<const float> encoderOutput) const;

private:
    Gemma3Projector() = default;

    Gemma3VisionConfig config_;
    std::vector<float> normWeight_;  // [vision hidden], applied as 1 + w
    // mm_input_projection_weight is stored [vision hidden, text hidden] and used as x W; it is
    // kept transposed, [text hidden, vision hidden], the [out, in] layout of the CPU product.
    std::vector<float> projection_;
};

}  // namespace strata
