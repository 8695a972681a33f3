#include "vision/Gemma3Projector.h"

#include "backend/cpu/CpuKernels.h"
#include "format/Checkpoint.h"
#include "runtime/WeightLayout.h"
#include "vision/VisionTensors.h"

namespace strata {

Result<Gemma3Projector> Gemma3Projector::load(const std::filesystem::path& modelDir) {
    Gemma3VisionConfig config;
    STRATA_ASSIGN(config, loadGemma3VisionConfig(modelDir));
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    return load(*checkpoint, config);
}

Result<Gemma3Projector> Gemma3Projector::load(const Checkpoint& checkpoint, const Gemma3VisionConfig& config) {
    std::string prefix;
    STRATA_ASSIGN(prefix, findTensorPrefix(checkpoint, {"multi_modal_projector.", "model.multi_modal_projector."},
                                           "mm_input_projection_weight", "multimodal projector"));
    Gemma3Projector projector;
    projector.config_ = config;
    const int64_t vh = config.hiddenSize, th = config.textHiddenSize;
    STRATA_ASSIGN(projector.normWeight_, readTensorAsFloat(checkpoint, prefix + "mm_soft_emb_norm.weight", {vh}));
    std::vector<float> stored;
    STRATA_ASSIGN(stored, readTensorAsFloat(checkpoint, prefix + "mm_input_projection_weight", {vh, th}));
    projector.projection_.resize(stored.size());
    for (int64_t i = 0; i < vh; ++i)
        for (int64_t o = 0; o < th; ++o) projector.projection_[size_t(o * vh + i)] = stored[size_t(i * th + o)];
    STRATA_TRY(refuseUnusedTensors(
        checkpoint, [&](const std::string& name) { return name.rfind(prefix, 0) == 0; },
        {prefix + "mm_soft_emb_norm.weight", prefix + "mm_input_projection_weight"}, "image projector"));
    return projector;
}

Result<std::vector<float>> Gemma3Projector::project(std::span<const float> encoderOutput) const {
    const Gemma3VisionConfig& c = config_;
    const int64_t h = c.hiddenSize, side = c.patchesPerSide(), tokensSide = c.tokensPerSide(),
                  kernel = side / tokensSide, tokens = c.mmTokensPerImage;
    if (int64_t(encoderOutput.size()) != c.numPatches() * h)
        return badInput("the projector expects " + std::to_string(c.numPatches()) + " x " + std::to_string(h) +
                        " encoder values, not " + std::to_string(encoderOutput.size()));

    // Non-overlapping kernel x kernel windows of the patch grid, each averaged into one token.
    std::vector<float> pooled(size_t(tokens * h), 0.0f);
    const float inv = 1.0f / float(kernel * kernel);
    for (int64_t ty = 0; ty < tokensSide; ++ty)
        for (int64_t tx = 0; tx < tokensSide; ++tx) {
            float* dst = pooled.data() + (ty * tokensSide + tx) * h;
            for (int64_t ky = 0; ky < kernel; ++ky)
                for (int64_t kx = 0; kx < kernel; ++kx) {
                    const float* src = encoderOutput.data() + ((ty * kernel + ky) * side + tx * kernel + kx) * h;
                    for (int64_t i = 0; i < h; ++i) dst[i] += src[i];
                }
            for (int64_t i = 0; i < h; ++i) dst[i] *= inv;
        }
    cpu::rmsNorm(pooled.data(), tokens, h, normWeight_.data(), float(c.layerNormEps), true, pooled.data());
    std::vector<float> out(size_t(tokens * c.textHiddenSize));
    cpu::matmul(pooled.data(), tokens, WeightRef{projection_.data(), DType::F32, c.textHiddenSize, h}, out.data());
    return out;
}

}  // namespace strata
