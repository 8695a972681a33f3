#include "audio/VoxtralAudioEncoder.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/CpuKernels.h"
#include "format/Checkpoint.h"
#include "vision/VisionTensors.h"

namespace strata {

namespace {

WeightRef f32Matrix(const float* data, int64_t rows, int64_t cols) {
    return WeightRef{data, DType::F32, rows, cols};
}

// Whisper and Voxtral use the exact, erf-based GELU, not the tanh approximation.
float geluErf(float x) {
    return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}

constexpr int64_t kKernel = 3;

}  // namespace

Result<std::unique_ptr<VoxtralAudioEncoder>> VoxtralAudioEncoder::load(const std::filesystem::path& modelDir) {
    VoxtralAudioConfig config;
    STRATA_ASSIGN(config, loadVoxtralAudioConfig(modelDir));
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    return load(*checkpoint, config);
}

Result<VoxtralAudioEncoder::Linear> VoxtralAudioEncoder::readLinear(const Checkpoint& checkpoint,
                                                                    const std::string& name, int64_t out, int64_t in,
                                                                    bool hasBias) {
    Linear l;
    l.out = out;
    l.in = in;
    STRATA_ASSIGN(l.weight, readTensorAsFloat(checkpoint, name + ".weight", {out, in}));
    if (hasBias) STRATA_ASSIGN(l.bias, readTensorAsFloat(checkpoint, name + ".bias", {out}));
    return l;
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

Result<VoxtralAudioEncoder::Norm> VoxtralAudioEncoder::readNorm(const Checkpoint& checkpoint, const std::string& name,
                                                                int64_t dim) {
    Norm n;
    STRATA_ASSIGN(n.weight, readTensorAsFloat(checkpoint, name + ".weight", {dim}));
    STRATA_ASSIGN(n.bias, readTensorAsFloat(checkpoint, name + ".bias", {dim}));
    return n;
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

void VoxtralAudioEncoder::apply(const Linear& l, const float* x, int64_t n, float* y) {
    cpu::matmul(x, n, f32Matrix(l.weight.data(), l.out, l.in), y);
    if (l.bias.empty()) return;
    for (int64_t r = 0; r < n; ++r)
        for (int64_t o = 0; o < l.out; ++o) y[r * l.out + o] += l.bias[size_t(o)];
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
    for (int64_t i = 0; i < outFrames * conv.out; ++i) y[i] = geluErf(y[i]);
}

void VoxtralAudioEncoder::layerNorm(const Norm& norm, const float* x, int64_t n, float* y) const {
    const int64_t h = config_.hiddenSize;
    for (int64_t r = 0; r < n; ++r) {
        const float* row = x + r * h;
        double mean = 0;
        for (int64_t i = 0; i < h; ++i) mean += row[i];
        mean /= double(h);
        double var = 0;
        for (int64_t i = 0; i < h; ++i) var += (row[i] - mean) * (row[i] - mean);
        var /= double(h);
        const float inv = float(1.0 / std::sqrt(var + config_.layerNormEps));
        for (int64_t i = 0; i < h; ++i)
            y[r * h + i] = (row[i] - float(mean)) * inv * norm.weight[size_t(i)] + norm.bias[size_t(i)];
    }
}

// Audio frames attend to every frame of their chunk: no mask. Each head is two products, Q K^T
// and P V, with V transposed so that both go through the same kernel.
void VoxtralAudioEncoder::attention(const float* q, const float* k, const float* v, int64_t n, float* out) const {
    const int64_t h = config_.hiddenSize, d = config_.headDim();
    const float scale = 1.0f / std::sqrt(float(d));
    std::vector<float> qh(size_t(n * d)), kh(size_t(n * d)), vt(size_t(d * n)), scores(size_t(n * n)),
        oh(size_t(n * d));
    for (int64_t head = 0; head < config_.numHeads; ++head) {
        for (int64_t t = 0; t < n; ++t)
            for (int64_t j = 0; j < d; ++j) {
                const size_t src = size_t(t * h + head * d + j);
                qh[size_t(t * d + j)] = q[src] * scale;
                kh[size_t(t * d + j)] = k[src];
                vt[size_t(j * n + t)] = v[src];
            }
        cpu::matmul(qh.data(), n, f32Matrix(kh.data(), n, d), scores.data());
        for (int64_t t = 0; t < n; ++t) {
            float* row = scores.data() + t * n;
            const float mx = *std::max_element(row, row + n);
            double sum = 0;
            for (int64_t j = 0; j < n; ++j) {
                row[j] = std::exp(row[j] - mx);
                sum += row[j];
            }
            const float inv = float(1.0 / sum);
            for (int64_t j = 0; j < n; ++j) row[j] *= inv;
        }
        cpu::matmul(scores.data(), n, f32Matrix(vt.data(), d, n), oh.data());
        for (int64_t t = 0; t < n; ++t) std::copy_n(oh.data() + t * d, d, out + t * h + head * d);
    }
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

    std::vector<float> normed(x.size()), q(x.size()), k(x.size()), v(x.size()), attn(x.size()), proj(x.size()),
        up(size_t(n * ff));
    for (const Layer& layer : layers_) {
        layerNorm(layer.attnNorm, x.data(), n, normed.data());
        apply(layer.q, normed.data(), n, q.data());
        apply(layer.k, normed.data(), n, k.data());
        apply(layer.v, normed.data(), n, v.data());
        attention(q.data(), k.data(), v.data(), n, attn.data());
        apply(layer.o, attn.data(), n, proj.data());
        for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];

        layerNorm(layer.mlpNorm, x.data(), n, normed.data());
        apply(layer.fc1, normed.data(), n, up.data());
        for (float& u : up) u = geluErf(u);
        apply(layer.fc2, up.data(), n, proj.data());
        for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    }
    std::vector<float> out(x.size());
    layerNorm(finalNorm_, x.data(), n, out.data());
    return out;
}

}  // namespace strata
