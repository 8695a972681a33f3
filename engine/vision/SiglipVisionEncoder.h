#pragma once
// The SigLIP vision tower of Gemma 3 on the CPU, in fp32: a convolutional patch embedding with
// learned positions, pre-norm transformer layers with bidirectional attention, a final LayerNorm.
#include <filesystem>
#include <memory>
#include <vector>

#include "core/Result.h"
#include "vision/EncoderBlocks.h"
#include "vision/Gemma3VisionConfig.h"

namespace strata {

class Checkpoint;

class SiglipVisionEncoder {
public:
    // Reads config.json and the vision tower's tensors of a checkpoint folder.
    static Result<std::unique_ptr<SiglipVisionEncoder>> load(const std::filesystem::path& modelDir);
    // Holds no reference to the checkpoint: its tensors are copied into RAM as fp32.
    static Result<std::unique_ptr<SiglipVisionEncoder>> load(const Checkpoint& checkpoint,
                                                             const Gemma3VisionConfig& config);

    const Gemma3VisionConfig& config() const { return config_; }

    // pixels: numChannels x imageSize x imageSize, planar, normalised as ingest's gemma3PixelValues
    // gives them. Returns [numPatches, hiddenSize], row-major, patches in raster order.
    Result<std::vector<float>> encode(const float* pixels) const;

private:
    using Linear = encoder::Linear;
    using Norm = encoder::Norm;
    using Layer = encoder::Layer;

    SiglipVisionEncoder() = default;

    Gemma3VisionConfig config_;
    Linear patchEmbedding_;            // the convolution as a product: [hidden, channels * patch * patch]
    std::vector<float> positions_;     // [numPatches, hidden]
    std::vector<Layer> layers_;
    Norm postNorm_;
};

}  // namespace strata
