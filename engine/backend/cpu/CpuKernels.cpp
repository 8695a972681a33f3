#include "backend/cpu/CpuKernels.h"

#include <cpuid.h>

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "format/Mxfp4.h"
#include "format/StoredTypes.h"

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
    case DType::U8:
    case DType::MXFP4:
        // Never a row of a product: MXFP4 goes through widenWeightRow, U8 is raw bytes.
        acc = std::numeric_limits<float>::quiet_NaN();
        break;
    case DType::Q8_0: {
        // Each block's int8 values against x, then its scale: one multiply per 32 weights.
        const auto* block = static_cast<const uint8_t*>(row);
        for (int64_t b = 0; b < cols / kQ8_0BlockElements; ++b, block += kQ8_0BlockBytes) {
            uint16_t scale;
            std::memcpy(&scale, block, 2);
            const auto* q = reinterpret_cast<const int8_t*>(block + 2);
            const float* xb = x + b * kQ8_0BlockElements;
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (int64_t j = 0; j < kQ8_0BlockElements; ++j) sum += xb[j] * float(q[j]);
            acc += f16ToFloat(scale) * sum;
        }
        break;
    }
    }
    return acc;
}

#if defined(__x86_64__)
// The same product with AVX2: eight weights widened per instruction (vcvtph2ps for float16, a
// shift for bfloat16) and applied to every token's row at once, so each weight is read and
// widened once per decode step whatever the number of tokens. Chosen at run time: the library
// itself is built for x86-64-v2.
template <DType T>
__attribute__((target("avx2,fma,f16c"))) inline __m256 loadWidened8(const void* row, int64_t i) {
    if constexpr (T == DType::F32) {
        return _mm256_loadu_ps(static_cast<const float*>(row) + i);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(row) + i));
        if constexpr (T == DType::F16) return _mm256_cvtph_ps(h);
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
}

template <DType T, int N>
__attribute__((target("avx2,fma,f16c"))) void dotRowsAvx2(const float* x, int64_t cols, const void* row, float* y,
                                                          int64_t yStride) {
    __m256 acc[N][2];
    for (int t = 0; t < N; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= cols; i += 16) {
        const __m256 w0 = loadWidened8<T>(row, i), w1 = loadWidened8<T>(row, i + 8);
        for (int t = 0; t < N; ++t) {
            acc[t][0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + t * cols + i), w0, acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(_mm256_loadu_ps(x + t * cols + i + 8), w1, acc[t][1]);
        }
    }
    for (int t = 0; t < N; ++t) {
        const __m256 sum8 = _mm256_add_ps(acc[t][0], acc[t][1]);
        __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(sum8), _mm256_extractf128_ps(sum8, 1));
        sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
        sum4 = _mm_add_ss(sum4, _mm_shuffle_ps(sum4, sum4, 1));
        float total = _mm_cvtss_f32(sum4);
        if (i < cols) total += dotStored(x + t * cols + i, static_cast<const char*>(row) + i * int64_t(dtypeSize(T)), T,
                                         cols - i);
        y[t * yStride] = total;
    }
}

// Q8_0 rows: per block, the 32 int8 values widened to float (four sign extensions and
// conversions) and multiplied into each token's block sum, which the block's scale then scales
// into the total.
template <int N>
__attribute__((target("avx2,fma,f16c"))) void dotRowsQ8_0Avx2(const float* x, int64_t cols, const void* row,
                                                              float* y, int64_t yStride) {
    __m256 acc[N];
    for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_ps();
    const auto* block = static_cast<const uint8_t*>(row);
    for (int64_t i = 0; i < cols; i += kQ8_0BlockElements, block += kQ8_0BlockBytes) {
        uint16_t scale;
        std::memcpy(&scale, block, 2);
        const __m256 d = _mm256_set1_ps(f16ToFloat(scale));
        __m256 w[4];
        for (int k = 0; k < 4; ++k) {
            const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + 8 * k));
            w[k] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
        }
        for (int t = 0; t < N; ++t) {
            const float* xb = x + t * cols + i;
            __m256 sum = _mm256_mul_ps(_mm256_loadu_ps(xb), w[0]);
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(xb + 8), w[1], sum);
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(xb + 16), w[2], sum);
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(xb + 24), w[3], sum);
            acc[t] = _mm256_fmadd_ps(sum, d, acc[t]);
        }
    }
    for (int t = 0; t < N; ++t) {
        __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(acc[t]), _mm256_extractf128_ps(acc[t], 1));
        sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
        sum4 = _mm_add_ss(sum4, _mm_shuffle_ps(sum4, sum4, 1));
        y[t * yStride] = _mm_cvtss_f32(sum4);
    }
}

void dotRowsQ8_0Avx2(const float* x, int64_t n, int64_t cols, const void* row, float* y, int64_t yStride) {
    switch (n) {
    case 1: return dotRowsQ8_0Avx2<1>(x, cols, row, y, yStride);
    case 2: return dotRowsQ8_0Avx2<2>(x, cols, row, y, yStride);
    case 3: return dotRowsQ8_0Avx2<3>(x, cols, row, y, yStride);
    default: return dotRowsQ8_0Avx2<4>(x, cols, row, y, yStride);
    }
}

// MXFP4 rows: per group of 32, the 16 bytes of nibbles looked up (pshufb) in the E2M1 table
// doubled to int8, widened to float, multiplied into each token's group sum, which half the
// group's power-of-two scale then scales into the total. A group scaled by 255 (2^128, past
// float32) takes the exact reference path.
template <int N>
__attribute__((target("avx2,fma,f16c"))) void dotRowsMxfp4Avx2(const float* x, int64_t cols, const uint8_t* blocks,
                                                               const uint8_t* scales, float* y, int64_t yStride) {
    const __m128i table = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
    const __m128i low = _mm_set1_epi8(0x0f);
    float total[N] = {};
    for (int64_t g = 0; g < cols / kMxfp4BlockElements; ++g) {
        const float* xg = x + g * kMxfp4BlockElements;
        if (scales[g] == 255) {
            float values[kMxfp4BlockElements];
            dequantizeMxfp4Groups(blocks + g * 16, scales + g, 1, values);
            for (int t = 0; t < N; ++t)
                for (int64_t j = 0; j < kMxfp4BlockElements; ++j) total[t] += xg[t * cols + j] * values[j];
            continue;
        }
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks + g * 16));
        const __m128i even = _mm_shuffle_epi8(table, _mm_and_si128(q, low));
        const __m128i odd = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), low));
        const __m128i first = _mm_unpacklo_epi8(even, odd), second = _mm_unpackhi_epi8(even, odd);
        const __m256 w[4] = {_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(first)),
                             _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(first, 8))),
                             _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(second)),
                             _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(second, 8)))};
        const float half = std::ldexp(1.0f, int(scales[g]) - 128);
        for (int t = 0; t < N; ++t) {
            const float* xt = xg + t * cols;
            __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(xt), w[0]);
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(xt + 8), w[1], acc);
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(xt + 16), w[2], acc);
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(xt + 24), w[3], acc);
            __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
            sum4 = _mm_add_ss(sum4, _mm_shuffle_ps(sum4, sum4, 1));
            total[t] += half * _mm_cvtss_f32(sum4);
        }
    }
    for (int t = 0; t < N; ++t) y[t * yStride] = total[t];
}

void dotRowsMxfp4Avx2(const float* x, int64_t n, int64_t cols, const uint8_t* blocks, const uint8_t* scales, float* y,
                      int64_t yStride) {
    switch (n) {
    case 1: return dotRowsMxfp4Avx2<1>(x, cols, blocks, scales, y, yStride);
    case 2: return dotRowsMxfp4Avx2<2>(x, cols, blocks, scales, y, yStride);
    case 3: return dotRowsMxfp4Avx2<3>(x, cols, blocks, scales, y, yStride);
    default: return dotRowsMxfp4Avx2<4>(x, cols, blocks, scales, y, yStride);
    }
}

template <DType T>
void dotRowsAvx2(const float* x, int64_t n, int64_t cols, const void* row, float* y, int64_t yStride) {
    switch (n) {
    case 1: dotRowsAvx2<T, 1>(x, cols, row, y, yStride); break;
    case 2: dotRowsAvx2<T, 2>(x, cols, row, y, yStride); break;
    case 3: dotRowsAvx2<T, 3>(x, cols, row, y, yStride); break;
    default: dotRowsAvx2<T, 4>(x, cols, row, y, yStride); break;
    }
}

bool haveAvx2() {
    // F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports does not know "f16c".
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    static const bool have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                             __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
    return have;
}
#endif

// y[t * yStride] = x_t . row for the n <= 4 token rows of x.
void dotRows(const float* x, int64_t n, int64_t cols, const void* row, DType t, float* y, int64_t yStride) {
#if defined(__x86_64__)
    if (haveAvx2()) {
        switch (t) {
        case DType::F32: return dotRowsAvx2<DType::F32>(x, n, cols, row, y, yStride);
        case DType::BF16: return dotRowsAvx2<DType::BF16>(x, n, cols, row, y, yStride);
        case DType::F16: return dotRowsAvx2<DType::F16>(x, n, cols, row, y, yStride);
        case DType::Q8_0: return dotRowsQ8_0Avx2(x, n, cols, row, y, yStride);
        case DType::U8:
        case DType::MXFP4: break;
        }
    }
#endif
    for (int64_t k = 0; k < n; ++k) y[k * yStride] = dotStored(x + k * cols, row, t, cols);
}

// Rows of a few tokens at most go through the fused product; more go through sgemm.
constexpr int64_t kGemvMaxRows = 4;
// Weight rows widened per sgemm call: bounds the scratch to 16 MiB whatever the matrix size.
constexpr int64_t kWidenBlockFloats = int64_t(4) << 20;

}  // namespace

void widenWeightRow(const WeightRef& w, int64_t r, float* dst) {
    const uint64_t rowBytes = dtypeBytes(w.dtype, w.cols);
    const uint8_t* scales = w.scales ? w.scales + r * (w.cols / kMxfp4BlockElements) : nullptr;
    rowReader(w.dtype)(static_cast<const char*>(w.data) + r * rowBytes, scales, w.cols, dst);
}

namespace {

// y[n, w.rows] = x[n, w.cols] * W for W stored [w.cols, w.rows]: blocks of its rows (input
// features) widened and multiplied in, y accumulating over the blocks.
void matmulInputMajor(const float* x, int64_t n, const WeightRef& w, float* y) {
    const int64_t in = w.cols, out = w.rows;
    if (w.dtype == DType::F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(out), int(in), 1.0f, x, int(in),
                    static_cast<const float*>(w.data), int(out), 0.0f, y, int(out));
        return;
    }
    thread_local std::vector<float> widened;
    const int64_t blockRows = std::clamp<int64_t>(kWidenBlockFloats / out, 1, in);
    widened.resize(size_t(blockRows * out));
    const size_t rowBytes = size_t(dtypeBytes(w.dtype, out));
    const char* base = static_cast<const char*>(w.data);
    for (int64_t r0 = 0; r0 < in; r0 += blockRows) {
        const int64_t nr = std::min(blockRows, in - r0);
        float* dst = widened.data();
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < nr; ++r)
            widenToFloat(base + size_t(r0 + r) * rowBytes, w.dtype, size_t(out), dst + r * out);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(out), int(nr), 1.0f, x + r0, int(in), dst,
                    int(out), r0 == 0 ? 0.0f : 1.0f, y, int(out));
    }
}

}  // namespace

void matmul(const float* x, int64_t n, const WeightRef& w, float* y) {
    if (w.inputMajor) return matmulInputMajor(x, n, w, y);
    const int64_t rows = w.rows, cols = w.cols;
    const size_t rowBytes = size_t(dtypeBytes(w.dtype, cols));
    const char* base = static_cast<const char*>(w.data);
    if (w.dtype == DType::F32 && n > kGemvMaxRows) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(rows), int(cols), 1.0f, x, int(cols),
                    static_cast<const float*>(w.data), int(cols), 0.0f, y, int(rows));
        return;
    }
    if (n <= kGemvMaxRows && w.dtype == DType::MXFP4) {
        // Each row dequantised once (4.25 bits a weight read) and applied to every token.
        const int64_t groups = cols / kMxfp4BlockElements;
#if defined(__x86_64__)
        if (haveAvx2()) {
            const auto* blocks = static_cast<const uint8_t*>(w.data);
#pragma omp parallel for schedule(static)
            for (int64_t o = 0; o < rows; ++o)
                dotRowsMxfp4Avx2(x, n, cols, blocks + o * groups * 16, w.scales + o * groups, y + o, rows);
            return;
        }
#endif
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < rows; ++o) {
            thread_local std::vector<float> row;
            row.resize(size_t(cols));
            widenWeightRow(w, o, row.data());
            dotRows(x, n, cols, row.data(), DType::F32, y + o, rows);
        }
        return;
    }
    if (n <= kGemvMaxRows) {
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < rows; ++o) dotRows(x, n, cols, base + size_t(o) * rowBytes, w.dtype, y + o, rows);
        return;
    }
    thread_local std::vector<float> widened;
    const int64_t blockRows = std::clamp<int64_t>(kWidenBlockFloats / cols, 1, rows);
    widened.resize(size_t(blockRows * cols));
    for (int64_t r0 = 0; r0 < rows; r0 += blockRows) {
        const int64_t nr = std::min(blockRows, rows - r0);
        float* dst = widened.data();
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < nr; ++r) widenWeightRow(w, r0 + r, dst + r * cols);
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

void attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim) {
    std::fill(state.acc, state.acc + rows * headDim, 0.0f);
    std::fill(state.max, state.max + rows, -std::numeric_limits<float>::infinity());
    std::fill(state.sum, state.sum + rows, 0.0f);
}

void attentionAccumulate(const float* q, int64_t n, const int32_t* positions, std::span<const KvSegment> segments,
                         const AttentionShape& shape, const AttentionState& state) {
    const int64_t hd = shape.headDim;
    const int64_t group = shape.numHeads / shape.numKvHeads;
    const int64_t kvRow = shape.numKvHeads * hd;
    constexpr int64_t kBlock = 64;  // keys scored at once before the running max is updated
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (int64_t t = 0; t < n; ++t) {
        for (int64_t h = 0; h < shape.numHeads; ++h) {
            const int64_t row = t * shape.numHeads + h;
            const float* qv = q + row * hd;
            float* o = state.acc + row * hd;
            const int64_t kvh = h / group;
            const int64_t qPos = positions[t];
            const int64_t first = shape.window > 0 ? std::max<int64_t>(0, qPos - shape.window + 1) : 0;
            const int64_t lastKey = shape.lastKey ? shape.lastKey[t] : qPos;
            float scores[kBlock];
            float runningMax = state.max[row];
            float denom = state.sum[row];
            for (const KvSegment& seg : segments) {
                // The keys of this segment the query sees, as offsets into it.
                const int64_t lo = std::max<int64_t>(first, seg.firstPos) - seg.firstPos;
                const int64_t hi = std::min<int64_t>(lastKey + 1, seg.firstPos + seg.tokens) - seg.firstPos;
                for (int64_t j0 = lo; j0 < hi; j0 += kBlock) {
                    const int64_t nb = std::min(kBlock, hi - j0);
                    float blockMax = -std::numeric_limits<float>::infinity();
                    for (int64_t j = 0; j < nb; ++j) {
                        const float* k = seg.k + (j0 + j) * kvRow + kvh * hd;
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
                        const float* v = seg.v + (j0 + j) * kvRow + kvh * hd;
#pragma omp simd
                        for (int64_t d = 0; d < hd; ++d) o[d] += p * v[d];
                    }
                    runningMax = newMax;
                }
            }
            state.max[row] = runningMax;
            state.sum[row] = denom;
        }
    }
}

void attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out) {
    for (int64_t r = 0; r < rows; ++r) {
        const float inv = state.sum[r] > 0.0f ? 1.0f / state.sum[r] : 0.0f;
        for (int64_t d = 0; d < headDim; ++d) out[r * headDim + d] = state.acc[r * headDim + d] * inv;
    }
}

void attentionSinks(const AttentionState& state, int64_t n, int64_t numHeads, int64_t headDim, const float* sinks) {
    for (int64_t r = 0; r < n * numHeads; ++r) {
        const float sink = sinks[r % numHeads];
        const float oldMax = state.max[r];
        const float newMax = std::max(oldMax, sink);
        // A row that saw no key keeps a zero accumulator: its output stays zero.
        const float correction = oldMax == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(oldMax - newMax);
        for (int64_t d = 0; d < headDim; ++d) state.acc[r * headDim + d] *= correction;
        state.sum[r] = state.sum[r] * correction + std::exp(sink - newMax);
        state.max[r] = newMax;
    }
}

void clampedSwiGlu(const float* gateUp, int64_t n, int64_t width, float alpha, float limit, float* out) {
#pragma omp parallel for schedule(static) if (n * width > 65536)
    for (int64_t t = 0; t < n; ++t) {
        const float* in = gateUp + t * 2 * width;
        for (int64_t i = 0; i < width; ++i) {
            const float gate = std::min(in[2 * i], limit);
            const float up = std::clamp(in[2 * i + 1], -limit, limit);
            const float glu = gate / (1.0f + std::exp(-alpha * gate));
            out[t * width + i] = (up + 1.0f) * glu;
        }
    }
}

void gatherRows(const float* src, int64_t width, std::span<const int32_t> rows, float* dst) {
    for (size_t i = 0; i < rows.size(); ++i) std::copy_n(src + int64_t(rows[i]) * width, width, dst + int64_t(i) * width);
}

void addScaledRows(float* y, int64_t width, const float* src, std::span<const int32_t> rows,
                   std::span<const float> weights) {
    for (size_t i = 0; i < rows.size(); ++i) {
        float* yr = y + int64_t(rows[i]) * width;
        const float* sr = src + int64_t(i) * width;
        const float wt = weights[i];
        for (int64_t c = 0; c < width; ++c) yr[c] += wt * sr[c];
    }
}

float geluTanh(float x) {
    const float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

float geluErf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

float silu(float x) { return x / (1.0f + std::exp(-x)); }

float activation(float x, Activation act) {
    switch (act) {
    case Activation::SiLU: return silu(x);
    case Activation::GeluTanh: return geluTanh(x);
    case Activation::GeluErf: return geluErf(x);
    }
    return x;
}

void layerNorm(const float* x, int64_t rows, int64_t dim, const float* w, const float* b, float eps, float* y) {
#pragma omp parallel for schedule(static) if (rows > 16)
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = x + r * dim;
        double mean = 0;
        for (int64_t i = 0; i < dim; ++i) mean += row[i];
        mean /= double(dim);
        double var = 0;
        for (int64_t i = 0; i < dim; ++i) var += (row[i] - mean) * (row[i] - mean);
        var /= double(dim);
        const float inv = float(1.0 / std::sqrt(var + eps)), m = float(mean);
        for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = (row[i] - m) * inv * w[i] + b[i];
    }
}

void bidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads,
                            int64_t headDim, float* out) {
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
        matmul(qh.data(), n, WeightRef{kh.data(), DType::F32, n, d}, scores.data());
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
        matmul(scores.data(), n, WeightRef{vt.data(), DType::F32, d, n}, oh.data());
        for (int64_t t = 0; t < n; ++t) std::copy_n(oh.data() + t * d, d, out + t * h + head * d);
    }
}

}  // namespace strata::cpu
