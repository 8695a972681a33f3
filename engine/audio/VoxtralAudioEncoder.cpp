#include "audio/VoxtralAudioEncoder.h"

#include "format/Checkpoint.h"
#include "vision/VisionTensors.h"

namespace strata {

namespace {

constexpr int64_t kKernel = 3;

// The inputs of a kernel-3, padding-1 convolution over time as the rows of one product: each
// output frame's window gathered channel-major, matching the [out, in, 3] weight.
std::vector<float> convWindows(const float* x, int64_t inFrames, int64_t channels, bool channelMajorInput,
                               int64_t stride, int64_t outFrames) {
    const int64_t width = channels * kKernel;
    std::vector<float> windows(size_t(outFrames * width), 0.0f);
    for (int64_t t = 0; t < outFrames; ++t) {
        float* dst = windows.data() + t * width;
        for (int64_t k = 0; k < kKernel; ++k) {
            const int64_t src = t * stride - 1 + k;  // padding 1 on each side
            if (src < 0 || src >= inFrames) continue;
            for (int64_t c = 0; c < channels; ++c)
                dst[c * kKernel + k] = channelMajorInput ? x[c * inFrames + src] : x[src * channels + c];
        }
    }
    return windows;
}

}  // namespace

Result<std::unique_ptr<VoxtralAudioEncoder>> VoxtralAudioEncoder::load(Ops& ops,
                                                                       const std::filesystem::path& modelDir) {
    VoxtralAudioConfig config;
    STRATA_ASSIGN(config, loadVoxtralAudioConfig(modelDir));
    return load(ops, modelDir, config);
}

Result<std::unique_ptr<VoxtralAudioEncoder>> VoxtralAudioEncoder::load(Ops& ops,
                                                                       const std::filesystem::path& modelDir,
                                                                       const VoxtralAudioConfig& config) {
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    // Hub checkpoints and transformers 5 write "audio_tower.*"; some tools save transformers'
    // in-memory names, which add "model.".
    std::string prefix;
    STRATA_ASSIGN(prefix, findTensorPrefix(*checkpoint, {"audio_tower.", "model.audio_tower."}, "conv1.weight",
                                           "audio tower"));
    const int64_t h = config.hiddenSize;
    const EncoderShape shape{config.maxSourcePositions, h, config.numHeads, config.intermediateSize,
                             float(config.layerNormEps), Activation::GeluErf};
    std::vector<TensorSpec> stem = {
        {WeightRole::InputConv, prefix + "conv1.weight", {h, config.numMelBins, kKernel}},
        {WeightRole::InputConvBias, prefix + "conv1.bias", {h}},
        {WeightRole::DownsampleConv, prefix + "conv2.weight", {h, h, kKernel}},
        {WeightRole::DownsampleConvBias, prefix + "conv2.bias", {h}},
        {WeightRole::PositionEmbedding, prefix + "embed_positions.weight", {config.maxSourcePositions, h}},
    };
    EncoderLayerNames names{"self_attn_layer_norm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                            "self_attn.out_proj",   "final_layer_norm", "fc1",              "fc2"};
    names.keyBias = false;
    auto encoder = std::unique_ptr<VoxtralAudioEncoder>(new VoxtralAudioEncoder());
    encoder->config_ = config;
    STRATA_ASSIGN(encoder->tower_, EncoderTower::create(ops, std::move(checkpoint), shape, std::move(stem),
                                                        prefix + "layers.", config.numLayers, names,
                                                        prefix + "layer_norm", prefix));
    return encoder;
}

Result<std::vector<float>> VoxtralAudioEncoder::encode(const float* melChunks, int64_t chunks) {
    if (!melChunks) return badInput("no mel features to encode");
    const VoxtralAudioConfig& c = config_;
    const int64_t frames = c.chunkFrames(), n = c.maxSourcePositions, h = c.hiddenSize,
                  chunkValues = c.numMelBins * frames;
    Ops& ops = tower_->ops();
    // One convolution: its windows gathered on the host, the product, the bias and the GELU.
    auto convolve = [&](const UnitWeights& w, WeightRole weight, WeightRole bias, const std::vector<float>& windows,
                        int64_t outFrames, float* y) {
        BackendBuffer input(ops, windows.size());
        ops.upload(input.get(), windows.data(), windows.size());
        linear(ops, w, weight, bias, input.get(), outFrames, y);
        ops.activate(y, outFrames * h, Activation::GeluErf);
    };
    return tower_->run(chunks, [&](int64_t chunk, const UnitWeights& w, float* x) -> Status {
        const float* mel = melChunks + chunk * chunkValues;
        std::vector<float> first(size_t(frames * h));
        {
            BackendBuffer y(ops, first.size());
            convolve(w, WeightRole::InputConv, WeightRole::InputConvBias,
                     convWindows(mel, frames, c.numMelBins, true, 1, frames), frames, y.get());
            ops.download(first.data(), y.get(), first.size());
        }
        convolve(w, WeightRole::DownsampleConv, WeightRole::DownsampleConvBias,
                 convWindows(first.data(), frames, h, false, 2, n), n, x);
        ops.addWeightRows(x, n, w.get(WeightRole::PositionEmbedding));
        return {};
    });
}

}  // namespace strata
