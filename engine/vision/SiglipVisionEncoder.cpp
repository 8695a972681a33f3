#include "vision/SiglipVisionEncoder.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/CpuKernels.h"
#include "format/Checkpoint.h"
#include "vision/VisionTensors.h"

namespace strata {

using encoder::apply;
using encoder::readLinear;
using encoder::readNorm;

Result<std::unique_ptr<SiglipVisionEncoder>> SiglipVisionEncoder::load(const std::filesystem::path& modelDir) {
    Gemma3VisionConfig config;
    STRATA_ASSIGN(config, loadGemma3VisionConfig(modelDir));
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    return load(*checkpoint, config);
}

Result<std::unique_ptr<SiglipVisionEncoder>> SiglipVisionEncoder::load(const Checkpoint& checkpoint,
                                                                       const Gemma3VisionConfig& config) {
    // Hub checkpoints and transformers 4 write "vision_tower.vision_model.*"; transformers 4.5x's
    // in-memory names add "model."; transformers 5 saves "vision_tower.*".
    std::string prefix;
    STRATA_ASSIGN(prefix, findTensorPrefix(checkpoint,
                                           {"vision_tower.vision_model.", "model.vision_tower.vision_model.",
                                            "vision_tower.", "model.vision_tower."},
                                           "embeddings.patch_embedding.weight", "vision tower"));
    auto encoder = std::unique_ptr<SiglipVisionEncoder>(new SiglipVisionEncoder());
    encoder->config_ = config;
    const int64_t h = config.hiddenSize, p = config.patchSize, c = config.numChannels;

    Linear& patch = encoder->patchEmbedding_;
    patch.out = h;
    patch.in = c * p * p;
    // The convolution's [hidden, channels, p, p] weight is already the [out, in] matrix of a
    // product with patches flattened channel-major.
    STRATA_ASSIGN(patch.weight, readTensorAsFloat(checkpoint, prefix + "embeddings.patch_embedding.weight", {h, c, p, p}));
    STRATA_ASSIGN(patch.bias, readTensorAsFloat(checkpoint, prefix + "embeddings.patch_embedding.bias", {h}));
    STRATA_ASSIGN(encoder->positions_, readTensorAsFloat(checkpoint, prefix + "embeddings.position_embedding.weight",
                                                         {config.numPatches(), h}));
    for (int64_t i = 0; i < config.numLayers; ++i) {
        const std::string l = prefix + "encoder.layers." + std::to_string(i) + ".";
        Layer layer;
        STRATA_ASSIGN(layer.attnNorm, readNorm(checkpoint, l + "layer_norm1", h));
        STRATA_ASSIGN(layer.mlpNorm, readNorm(checkpoint, l + "layer_norm2", h));
        STRATA_ASSIGN(layer.q, readLinear(checkpoint, l + "self_attn.q_proj", h, h));
        STRATA_ASSIGN(layer.k, readLinear(checkpoint, l + "self_attn.k_proj", h, h));
        STRATA_ASSIGN(layer.v, readLinear(checkpoint, l + "self_attn.v_proj", h, h));
        STRATA_ASSIGN(layer.o, readLinear(checkpoint, l + "self_attn.out_proj", h, h));
        STRATA_ASSIGN(layer.fc1, readLinear(checkpoint, l + "mlp.fc1", config.intermediateSize, h));
        STRATA_ASSIGN(layer.fc2, readLinear(checkpoint, l + "mlp.fc2", h, config.intermediateSize));
        encoder->layers_.push_back(std::move(layer));
    }
    STRATA_ASSIGN(encoder->postNorm_, readNorm(checkpoint, prefix + "post_layernorm", h));
    return encoder;
}

Result<std::vector<float>> SiglipVisionEncoder::encode(const float* pixels) const {
    if (!pixels) return badInput("no pixels to encode");
    const Gemma3VisionConfig& c = config_;
    const int64_t n = c.numPatches(), h = c.hiddenSize, p = c.patchSize, side = c.patchesPerSide(),
                  s = c.imageSize, ff = c.intermediateSize;

    // Gather each patch channel-major, as the convolution weight is laid out.
    std::vector<float> patches(size_t(n * patchEmbedding_.in));
    for (int64_t py = 0; py < side; ++py)
        for (int64_t px = 0; px < side; ++px) {
            float* dst = patches.data() + (py * side + px) * patchEmbedding_.in;
            for (int64_t ch = 0; ch < c.numChannels; ++ch)
                for (int64_t ky = 0; ky < p; ++ky)
                    for (int64_t kx = 0; kx < p; ++kx)
                        *dst++ = pixels[(ch * s + py * p + ky) * s + px * p + kx];
        }
    std::vector<float> x(size_t(n * h));
    apply(patchEmbedding_, patches.data(), n, x.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += positions_[i];

    const encoder::LayerShape shape{c.numHeads, c.headDim(), ff, float(c.layerNormEps), encoder::Activation::GeluTanh};
    encoder::runPreNormLayers(layers_, shape, n, x);
    std::vector<float> out(x.size());
    encoder::layerNorm(postNorm_, x.data(), n, h, float(c.layerNormEps), out.data());
    return out;
}

}  // namespace strata
