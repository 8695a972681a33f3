#include "vision/SiglipVisionEncoder.h"

#include "format/Checkpoint.h"
#include "vision/VisionTensors.h"

namespace strata {

Result<std::unique_ptr<SiglipVisionEncoder>> SiglipVisionEncoder::load(Ops& ops,
                                                                       const std::filesystem::path& modelDir) {
    Gemma3VisionConfig config;
    STRATA_ASSIGN(config, loadGemma3VisionConfig(modelDir));
    return load(ops, modelDir, config);
}

Result<std::unique_ptr<SiglipVisionEncoder>> SiglipVisionEncoder::load(Ops& ops,
                                                                       const std::filesystem::path& modelDir,
                                                                       const Gemma3VisionConfig& config) {
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    // Hub checkpoints and transformers 4 write "vision_tower.vision_model.*"; transformers 4.5x's
    // in-memory names add "model."; transformers 5 saves "vision_tower.*".
    std::string prefix;
    STRATA_ASSIGN(prefix, findTensorPrefix(*checkpoint,
                                           {"vision_tower.vision_model.", "model.vision_tower.vision_model.",
                                            "vision_tower.", "model.vision_tower."},
                                           "embeddings.patch_embedding.weight", "vision tower"));
    const std::string tower = prefix.rfind("model.", 0) == 0 ? "model.vision_tower." : "vision_tower.";
    const int64_t h = config.hiddenSize, p = config.patchSize, c = config.numChannels;
    const EncoderShape shape{config.numPatches(), h, config.numHeads, config.intermediateSize,
                             float(config.layerNormEps), Activation::GeluTanh};
    // The convolution's [hidden, channels, p, p] weight is already the [out, in] matrix of a
    // product with patches flattened channel-major.
    std::vector<TensorSpec> stem = {
        {WeightRole::InputConv, prefix + "embeddings.patch_embedding.weight", {h, c, p, p}},
        {WeightRole::InputConvBias, prefix + "embeddings.patch_embedding.bias", {h}},
        {WeightRole::PositionEmbedding, prefix + "embeddings.position_embedding.weight", {config.numPatches(), h}},
    };
    const EncoderLayerNames names{"layer_norm1",       "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                  "self_attn.out_proj", "layer_norm2",      "mlp.fc1",          "mlp.fc2"};
    auto encoder = std::unique_ptr<SiglipVisionEncoder>(new SiglipVisionEncoder());
    encoder->config_ = config;
    STRATA_ASSIGN(encoder->tower_, EncoderTower::create(ops, std::move(checkpoint), shape, std::move(stem),
                                                        prefix + "encoder.layers.", config.numLayers, names,
                                                        prefix + "post_layernorm", tower));
    return encoder;
}

Result<std::vector<float>> SiglipVisionEncoder::encode(const float* pixels) {
    if (!pixels) return badInput("no pixels to encode");
    const Gemma3VisionConfig& c = config_;
    const int64_t n = c.numPatches(), p = c.patchSize, side = c.patchesPerSide(), s = c.imageSize,
                  patchValues = c.numChannels * p * p;

    // Each patch gathered channel-major, as the convolution weight is laid out.
    std::vector<float> patches(size_t(n * patchValues));
    for (int64_t py = 0; py < side; ++py)
        for (int64_t px = 0; px < side; ++px) {
            float* dst = patches.data() + (py * side + px) * patchValues;
            for (int64_t ch = 0; ch < c.numChannels; ++ch)
                for (int64_t ky = 0; ky < p; ++ky)
                    for (int64_t kx = 0; kx < p; ++kx) *dst++ = pixels[(ch * s + py * p + ky) * s + px * p + kx];
        }
    Ops& ops = tower_->ops();
    return tower_->run(1, [&](int64_t, const UnitWeights& w, float* x) -> Status {
        BackendBuffer input(ops, patches.size());
        ops.upload(input.get(), patches.data(), patches.size());
        linear(ops, w, WeightRole::InputConv, WeightRole::InputConvBias, input.get(), n, x);
        ops.addWeightRows(x, n, w.get(WeightRole::PositionEmbedding));
        return {};
    });
}

}  // namespace strata
