#pragma once
// The SigLIP vision tower of Gemma 3 on a backend: a convolutional patch embedding with learned
// positions, pre-norm transformer layers with bidirectional attention, a final LayerNorm (see
// EncoderTower for how its weights are placed and streamed).
#include <filesystem>
#include <memory>
#include <vector>

#include "core/Result.h"
#include "vision/EncoderTower.h"
#include "vision/Gemma3VisionConfig.h"

namespace strata {

class SiglipVisionEncoder {
public:
    // Reads config.json and checks the vision tower's tensors of a checkpoint folder; their
    // weights are read by each encode.
    static Result<std::unique_ptr<SiglipVisionEncoder>> load(Ops& ops, const std::filesystem::path& modelDir);
    static Result<std::unique_ptr<SiglipVisionEncoder>> load(Ops& ops, const std::filesystem::path& modelDir,
                                                             const Gemma3VisionConfig& config);

    const Gemma3VisionConfig& config() const { return config_; }
    EncoderTower& tower() { return *tower_; }

    // pixels: numChannels x imageSize x imageSize, planar, normalised as ingest's gemma3PixelValues
    // gives them. Returns [numPatches, hiddenSize], row-major, patches in raster order.
    Result<std::vector<float>> encode(const float* pixels);

private:
    SiglipVisionEncoder() = default;

    Gemma3VisionConfig config_;
    std::unique_ptr<EncoderTower> tower_;
};

}  // namespace strata
