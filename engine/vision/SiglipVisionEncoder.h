#pragma once
// The SigLIP vision tower of Gemma 3 on the CPU, in fp32: a convolutional patch embedding with
// learned positions, pre-norm transformer layers with bidirectional attention, a final LayerNorm.
#include <filesystem>
#include <memory>
#include <vector>

#include "core/Result.h"
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
    struct Linear {
        std::vector<float> weight;  // [out, in]
        std::vector<float> bias;    // [out]
        int64_t out = 0;
        int64_t in = 0;
    };
    struct Norm {
        std::vector<float> weight;
        std::vector<float> bias;
    };
    struct Layer {
        Norm norm1, norm2;
        Linear q, k, v, o, fc1, fc2;
    };

    SiglipVisionEncoder() = default;
    static Result<Linear> readLinear(const Checkpoint& checkpoint, const std::string& name, int64_t out, int64_t in);
    static Result<Norm> readNorm(const Checkpoint& checkpoint, const std::string& name, int64_t dim);
    // y[n, out] = x[n, in] * W^T + b
    static void apply(const Linear& l, const float* x, int64_t n, float* y);
    void layerNorm(const Norm& norm, const float* x, int64_t n, float* y) const;
    void attention(const float* q, const float* k, const float* v, int64_t n, float* out) const;

    Gemma3VisionConfig config_;
    Linear patchEmbedding_;            // the convolution as a product: [hidden, channels * patch * patch]
    std::vector<float> positions_;     // [numPatches, hidden]
    std::vector<Layer> layers_;
    Norm postNorm_;
};

}  // namespace strata
