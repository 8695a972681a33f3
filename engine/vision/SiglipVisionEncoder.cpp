#include "vision/SiglipVisionEncoder.h"

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

}  // namespace

Result<std::unique_ptr<SiglipVisionEncoder>> SiglipVisionEncoder::load(const std::filesystem::path& modelDir) {
    Gemma3VisionConfig config;
    STRATA_ASSIGN(config, loadGemma3VisionConfig(modelDir));
    std::unique_ptr<Checkpoint> checkpoint;
    STRATA_ASSIGN(checkpoint, Checkpoint::open(modelDir));
    return load(*checkpoint, config);
}

Result<SiglipVisionEncoder::Linear> SiglipVisionEncoder::readLinear(const Checkpoint& checkpoint,
                                                                    const std::string& name, int64_t out, int64_t in) {
    Linear l;
    l.out = out;
    l.in = in;
    STRATA_ASSIGN(l.weight, readTensorAsFloat(checkpoint, name + ".weight", {out, in}));
    STRATA_ASSIGN(l.bias, readTensorAsFloat(checkpoint, name + ".bias", {out}));
    return l;
}

Result<SiglipVisionEncoder::Norm> SiglipVisionEncoder::readNorm(const Checkpoint& checkpoint, const std::string& name,
                                                                int64_t dim) {
    Norm n;
    STRATA_ASSIGN(n.weight, readTensorAsFloat(checkpoint, name + ".weight", {dim}));
    STRATA_ASSIGN(n.bias, readTensorAsFloat(checkpoint, name + ".bias", {dim}));
    return n;
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
        STRATA_ASSIGN(layer.norm1, readNorm(checkpoint, l + "layer_norm1", h));
        STRATA_ASSIGN(layer.norm2, readNorm(checkpoint, l + "layer_norm2", h));
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

void SiglipVisionEncoder::apply(const Linear& l, const float* x, int64_t n, float* y) {
    cpu::matmul(x, n, f32Matrix(l.weight.data(), l.out, l.in), y);
    for (int64_t r = 0; r < n; ++r)
        for (int64_t o = 0; o < l.out; ++o) y[r * l.out + o] += l.bias[size_t(o)];
}

void SiglipVisionEncoder::layerNorm(const Norm& norm, const float* x, int64_t n, float* y) const {
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

// Every patch sees every other: image attention has no mask. Each head is two products, Q K^T
// and P V, with V transposed so that both go through the same kernel.
void SiglipVisionEncoder::attention(const float* q, const float* k, const float* v, int64_t n, float* out) const {
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
        for (int64_t t = 0; t < n; ++t)
            std::copy_n(oh.data() + t * d, d, out + t * h + head * d);
    }
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

    std::vector<float> normed(x.size()), q(x.size()), k(x.size()), v(x.size()), attn(x.size()), proj(x.size()),
        up(size_t(n * ff));
    for (const Layer& layer : layers_) {
        layerNorm(layer.norm1, x.data(), n, normed.data());
        apply(layer.q, normed.data(), n, q.data());
        apply(layer.k, normed.data(), n, k.data());
        apply(layer.v, normed.data(), n, v.data());
        attention(q.data(), k.data(), v.data(), n, attn.data());
        apply(layer.o, attn.data(), n, proj.data());
        for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];

        layerNorm(layer.norm2, x.data(), n, normed.data());
        apply(layer.fc1, normed.data(), n, up.data());
        for (float& u : up) u = cpu::geluTanh(u);
        apply(layer.fc2, up.data(), n, proj.data());
        for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    }
    std::vector<float> out(x.size());
    layerNorm(postNorm_, x.data(), n, out.data());
    return out;
}

}  // namespace strata
