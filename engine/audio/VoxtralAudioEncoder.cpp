#include "audio/VoxtralAudioEncoder.h"

#include <algorithm>
#include <cmath>

#include "format/Checkpoint.h"
#include "vision/VisionTensors.h"

namespace strata {

using encoder::apply;
using encoder::readLinear;
using encoder::readNorm;

namespace {

constexpr int64_t kKernel = 3;

}  // namespace

Result<std::unique_ptr<VoxtralAudioEncoder>> VoxtralAudioEncoder::load(const std::filesystem::path& modelDir) {
    VoxtralAudioConfig config;
    STRATA_ASSIGN(config, loadVoxtralAudioConfig(modelDir));
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    return load(*checkpoint, config);
}

Result<VoxtralAudioEncoder::Linear> VoxtralAudioEncoder::readConv(const Checkpoint& checkpoint,
                                                                  const std::string& name, int64_t out, int64_t in) {
    Linear l;
    l.out = out;
    l.in = in * kKernel;
    STRATA_ASSIGN(l.weight, readTensorAsFloat(checkpoint, name + ".weight", {out, in, kKernel}));
    STRATA_ASSIGN(l.bias, readTensorAsFloat(checkpoint, name + ".bias", {out}));
    return l;
}

Result<std::unique_ptr<VoxtralAudioEncoder>> VoxtralAudioEncoder::load(const Checkpoint& checkpoint,
                                                                       const VoxtralAudioConfig& config) {
    // Hub checkpoints and transformers 5 write "audio_tower.*"; some tools save transformers'
    // in-memory names, which add "model.".
    std::string prefix;
    STRATA_ASSIGN(prefix, findTensorPrefix(checkpoint, {"audio_tower.", "model.audio_tower."}, "conv1.weight",
                                           "audio tower"));
    auto encoder = std::unique_ptr<VoxtralAudioEncoder>(new VoxtralAudioEncoder());
    encoder->config_ = config;
    const int64_t h = config.hiddenSize, ff = config.intermediateSize;

    STRATA_ASSIGN(encoder->conv1_, readConv(checkpoint, prefix + "conv1", h, config.numMelBins));
    STRATA_ASSIGN(encoder->conv2_, readConv(checkpoint, prefix + "conv2", h, h));
    STRATA_ASSIGN(encoder->positions_,
                  readTensorAsFloat(checkpoint, prefix + "embed_positions.weight", {config.maxSourcePositions, h}));
    for (int64_t i = 0; i < config.numLayers; ++i) {
        const std::string l = prefix + "layers." + std::to_string(i) + ".";
        Layer layer;
        STRATA_ASSIGN(layer.attnNorm, readNorm(checkpoint, l + "self_attn_layer_norm", h));
        STRATA_ASSIGN(layer.mlpNorm, readNorm(checkpoint, l + "final_layer_norm", h));
        STRATA_ASSIGN(layer.q, readLinear(checkpoint, l + "self_attn.q_proj", h, h, true));
        // Whisper's key projection has no bias: it would shift every score of a row equally.
        STRATA_ASSIGN(layer.k, readLinear(checkpoint, l + "self_attn.k_proj", h, h, false));
        STRATA_ASSIGN(layer.v, readLinear(checkpoint, l + "self_attn.v_proj", h, h, true));
        STRATA_ASSIGN(layer.o, readLinear(checkpoint, l + "self_attn.out_proj", h, h, true));
        STRATA_ASSIGN(layer.fc1, readLinear(checkpoint, l + "fc1", ff, h, true));
        STRATA_ASSIGN(layer.fc2, readLinear(checkpoint, l + "fc2", h, ff, true));
        encoder->layers_.push_back(std::move(layer));
    }
    STRATA_ASSIGN(encoder->finalNorm_, readNorm(checkpoint, prefix + "layer_norm", h));
    return encoder;
}

void VoxtralAudioEncoder::convolve(const Linear& conv, const float* x, int64_t inFrames, int64_t stride,
                                   bool channelMajorInput, int64_t outFrames, float* y) {
    const int64_t channels = conv.in / kKernel;
    std::vector<float> windows(size_t(outFrames * conv.in), 0.0f);
    for (int64_t t = 0; t < outFrames; ++t) {
        float* dst = windows.data() + t * conv.in;
        for (int64_t k = 0; k < kKernel; ++k) {
            const int64_t src = t * stride - 1 + k;  // padding 1 on each side
            if (src < 0 || src >= inFrames) continue;
            for (int64_t c = 0; c < channels; ++c)
                dst[c * kKernel + k] = channelMajorInput ? x[c * inFrames + src] : x[src * channels + c];
        }
    }
    apply(conv, windows.data(), outFrames, y);
    for (int64_t i = 0; i < outFrames * conv.out; ++i) y[i] = encoder::geluErf(y[i]);
}

Result<std::vector<float>> VoxtralAudioEncoder::encode(const float* melChunk) const {
    if (!melChunk) return badInput("no mel features to encode");
    const VoxtralAudioConfig& c = config_;
    const int64_t frames = c.chunkFrames(), n = c.maxSourcePositions, h = c.hiddenSize, ff = c.intermediateSize;

    std::vector<float> conv1(size_t(frames * h));
    convolve(conv1_, melChunk, frames, 1, true, frames, conv1.data());
    std::vector<float> x(size_t(n * h));
    convolve(conv2_, conv1.data(), frames, 2, false, n, x.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += positions_[i];

    const encoder::LayerShape shape{c.numHeads, c.headDim(), ff, float(c.layerNormEps), encoder::Activation::GeluErf};
    encoder::runPreNormLayers(layers_, shape, n, x);
    std::vector<float> out(x.size());
    encoder::layerNorm(finalNorm_, x.data(), n, h, float(c.layerNormEps), out.data());
    return out;
}

}  // namespace strata
