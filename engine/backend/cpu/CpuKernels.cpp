#include "backend/cpu/CpuKernels.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace strata::cpu {

void rmsNorm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, bool addOne, float* y) {
#pragma omp parallel for schedule(static) if (rows > 4)
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * dim;
        float* yr = y + r * dim;
        double sum = 0;
        for (int64_t i = 0; i < dim; ++i) sum += double(xr[i]) * xr[i];
        const float inv = 1.0f / std::sqrt(float(sum / double(dim)) + eps);
        for (int64_t i = 0; i < dim; ++i) {
            const float scale = addOne ? 1.0f + w[i] : w[i];
            yr[i] = xr[i] * inv * scale;
        }
    }
}

namespace {

// Dot product of an fp32 vector with a stored row, widening as it goes: for decode, where the
// product is memory-bound and a widened copy of the matrix would triple the traffic.
float dotStored(const float* x, const void* row, DType t, int64_t cols) {
    float acc = 0.0f;
    switch (t) {
    case DType::F32: {
        const float* r = static_cast<const float*>(row);
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < cols; ++i) acc += x[i] * r[i];
        break;
    }
    case DType::BF16: {
        const uint16_t* r = static_cast<const uint16_t*>(row);
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < cols; ++i) acc += x[i] * bf16ToFloat(r[i]);
        break;
    }
    case DType::F16: {
        const uint16_t* r = static_cast<const uint16_t*>(row);
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < cols; ++i) acc += x[i] * f16ToFloat(r[i]);
        break;
    }
    }
    return acc;
}

// Rows of a few tokens at most go through the fused product; more go through sgemm.
constexpr int64_t kGemvMaxRows = 4;
// Weight rows widened per sgemm call: bounds the scratch to 16 MiB whatever the matrix size.
constexpr int64_t kWidenBlockFloats = int64_t(4) << 20;

}  // namespace

void matmul(const float* x, int64_t n, const WeightRef& w, float* y) {
    const int64_t rows = w.rows, cols = w.cols;
    const size_t elem = dtypeSize(w.dtype);
    const char* base = static_cast<const char*>(w.data);
    if (w.dtype == DType::F32 && n > kGemvMaxRows) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(rows), int(cols), 1.0f, x, int(cols),
                    static_cast<const float*>(w.data), int(cols), 0.0f, y, int(rows));
        return;
    }
    if (n <= kGemvMaxRows) {
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < rows; ++o) {
            const void* row = base + size_t(o) * size_t(cols) * elem;
            for (int64_t t = 0; t < n; ++t) y[t * rows + o] = dotStored(x + t * cols, row, w.dtype, cols);
        }
        return;
    }
    thread_local std::vector<float> widened;
    const int64_t blockRows = std::clamp<int64_t>(kWidenBlockFloats / cols, 1, rows);
    widened.resize(size_t(blockRows * cols));
    for (int64_t r0 = 0; r0 < rows; r0 += blockRows) {
        const int64_t nr = std::min(blockRows, rows - r0);
        float* dst = widened.data();
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < nr; ++r)
            widenToFloat(base + size_t(r0 + r) * size_t(cols) * elem, w.dtype, size_t(cols), dst + r * cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(nr), int(cols), 1.0f, x, int(cols), dst,
                    int(cols), 0.0f, y + r0, int(rows));
    }
}

void rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions, const float* invFreq,
          RopeStyle style) {
    const int64_t half = headDim / 2;
#pragma omp parallel for schedule(static) if (n > 4)
    for (int64_t t = 0; t < n; ++t) {
        // Angles in fp32 as Hugging Face computes them (position * inv_freq), then cos/sin.
        thread_local std::vector<float> c, s;
        c.resize(static_cast<size_t>(half));
        s.resize(static_cast<size_t>(half));
        for (int64_t i = 0; i < half; ++i) {
            const float angle = float(positions[t]) * invFreq[i];
            c[size_t(i)] = float(std::cos(double(angle)));
            s[size_t(i)] = float(std::sin(double(angle)));
        }
        for (int64_t h = 0; h < numHeads; ++h) {
            float* v = x + (t * numHeads + h) * headDim;
            for (int64_t i = 0; i < half; ++i) {
                const int64_t a = style == RopeStyle::NeoX ? i : 2 * i;
                const int64_t b = style == RopeStyle::NeoX ? i + half : 2 * i + 1;
                const float x1 = v[a], x2 = v[b];
                v[a] = x1 * c[size_t(i)] - x2 * s[size_t(i)];
                v[b] = x2 * c[size_t(i)] + x1 * s[size_t(i)];
            }
        }
    }
}

void attention(const float* q, int64_t n, const int32_t* positions, const KvLayerView& kv, const AttentionShape& shape,
               float* out) {
    const int64_t hd = shape.headDim;
    const int64_t group = shape.numHeads / shape.numKvHeads;
    const int64_t kvRow = shape.numKvHeads * hd;
    constexpr int64_t kBlock = 64;  // keys scored at once before the running max is updated
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (int64_t t = 0; t < n; ++t) {
        for (int64_t h = 0; h < shape.numHeads; ++h) {
            const float* qv = q + (t * shape.numHeads + h) * hd;
            float* o = out + (t * shape.numHeads + h) * hd;
            const int64_t kvh = h / group;
            const int64_t qPos = positions[t];
            const int64_t first = shape.window > 0 ? std::max<int64_t>(0, qPos - shape.window + 1) : 0;
            float scores[kBlock];
            float runningMax = -std::numeric_limits<float>::infinity();
            float denom = 0.0f;
            std::fill(o, o + hd, 0.0f);
            for (int64_t j0 = first; j0 <= qPos; j0 += kBlock) {
                const int64_t nb = std::min(kBlock, qPos + 1 - j0);
                float blockMax = -std::numeric_limits<float>::infinity();
                for (int64_t j = 0; j < nb; ++j) {
                    const float* k = kv.k + (j0 + j) * kvRow + kvh * hd;
                    float s = 0.0f;
#pragma omp simd reduction(+ : s)
                    for (int64_t d = 0; d < hd; ++d) s += qv[d] * k[d];
                    s *= shape.scale;
                    if (shape.softcap > 0.0f) s = shape.softcap * std::tanh(s / shape.softcap);
                    scores[j] = s;
                    blockMax = std::max(blockMax, s);
                }
                const float newMax = std::max(runningMax, blockMax);
                const float correction = std::exp(runningMax - newMax);
                denom *= correction;
                for (int64_t d = 0; d < hd; ++d) o[d] *= correction;
                for (int64_t j = 0; j < nb; ++j) {
                    const float p = std::exp(scores[j] - newMax);
                    denom += p;
                    const float* v = kv.v + (j0 + j) * kvRow + kvh * hd;
#pragma omp simd
                    for (int64_t d = 0; d < hd; ++d) o[d] += p * v[d];
                }
                runningMax = newMax;
            }
            const float inv = 1.0f / denom;
            for (int64_t d = 0; d < hd; ++d) o[d] *= inv;
        }
    }
}

float geluTanh(float x) {
    const float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace strata::cpu
