#include "vision/EncoderBlocks.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/CpuKernels.h"
#include "vision/VisionTensors.h"

namespace strata::encoder {

namespace {

WeightRef f32Matrix(const float* data, int64_t rows, int64_t cols) { return WeightRef{data, DType::F32, rows, cols}; }

}  // namespace

Result<Linear> readLinear(const Checkpoint& checkpoint, const std::string& name, int64_t out, int64_t in,
                          bool hasBias) {
    Linear l;
    l.out = out;
    l.in = in;
    STRATA_ASSIGN(l.weight, readTensorAsFloat(checkpoint, name + ".weight", {out, in}));
    if (hasBias) STRATA_ASSIGN(l.bias, readTensorAsFloat(checkpoint, name + ".bias", {out}));
    return l;
}

Result<Norm> readNorm(const Checkpoint& checkpoint, const std::string& name, int64_t dim) {
    Norm n;
    STRATA_ASSIGN(n.weight, readTensorAsFloat(checkpoint, name + ".weight", {dim}));
    STRATA_ASSIGN(n.bias, readTensorAsFloat(checkpoint, name + ".bias", {dim}));
    return n;
}

void apply(const Linear& l, const float* x, int64_t n, float* y) {
    cpu::matmul(x, n, f32Matrix(l.weight.data(), l.out, l.in), y);
    if (l.bias.empty()) return;
    for (int64_t r = 0; r < n; ++r)
        for (int64_t o = 0; o < l.out; ++o) y[r * l.out + o] += l.bias[size_t(o)];
}

void layerNorm(const Norm& norm, const float* x, int64_t n, int64_t dim, float eps, float* y) {
    for (int64_t r = 0; r < n; ++r) {
        const float* row = x + r * dim;
        double mean = 0;
        for (int64_t i = 0; i < dim; ++i) mean += row[i];
        mean /= double(dim);
        double var = 0;
        for (int64_t i = 0; i < dim; ++i) var += (row[i] - mean) * (row[i] - mean);
        var /= double(dim);
        const float inv = float(1.0 / std::sqrt(var + eps));
        for (int64_t i = 0; i < dim; ++i)
            y[r * dim + i] = (row[i] - float(mean)) * inv * norm.weight[size_t(i)] + norm.bias[size_t(i)];
    }
}

void fullAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads, int64_t headDim,
                   float* out) {
    const int64_t h = heads * headDim, d = headDim;
    const float scale = 1.0f / std::sqrt(float(d));
    std::vector<float> qh(size_t(n * d)), kh(size_t(n * d)), vt(size_t(d * n)), scores(size_t(n * n)),
        oh(size_t(n * d));
    for (int64_t head = 0; head < heads; ++head) {
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

float geluErf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

void runPreNormLayers(const std::vector<Layer>& layers, const LayerShape& shape, int64_t n, std::vector<float>& x) {
    const int64_t h = shape.heads * shape.headDim;
    std::vector<float> normed(x.size()), q(x.size()), k(x.size()), v(x.size()), attn(x.size()), proj(x.size()),
        up(size_t(n * shape.intermediate));
    for (const Layer& layer : layers) {
        layerNorm(layer.attnNorm, x.data(), n, h, shape.eps, normed.data());
        apply(layer.q, normed.data(), n, q.data());
        apply(layer.k, normed.data(), n, k.data());
        apply(layer.v, normed.data(), n, v.data());
        fullAttention(q.data(), k.data(), v.data(), n, shape.heads, shape.headDim, attn.data());
        apply(layer.o, attn.data(), n, proj.data());
        for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];

        layerNorm(layer.mlpNorm, x.data(), n, h, shape.eps, normed.data());
        apply(layer.fc1, normed.data(), n, up.data());
        if (shape.activation == Activation::GeluErf)
            for (float& u : up) u = geluErf(u);
        else
            for (float& u : up) u = cpu::geluTanh(u);
        apply(layer.fc2, up.data(), n, proj.data());
        for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    }
}

}  // namespace strata::encoder
