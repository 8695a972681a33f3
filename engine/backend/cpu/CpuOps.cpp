#include "backend/cpu/CpuOps.h"

#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "backend/cpu/CpuKernels.h"

namespace strata {

int CpuOps::threadCount(int requested) {
    return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

CpuOps::CpuOps(int threads) {
    threads_ = threadCount(threads);
    omp_set_num_threads(threads_);
    openblas_set_num_threads(threads_);
}

float* CpuOps::allocate(size_t floats) {
    const size_t bytes = ((std::max<size_t>(floats, 1) * sizeof(float) + 63) / 64) * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<float*>(p);
}

void CpuOps::release(float* p) { std::free(p); }
void CpuOps::upload(float* dst, const float* src, size_t floats) { std::memcpy(dst, src, floats * sizeof(float)); }
void CpuOps::download(float* dst, const float* src, size_t floats) { std::memcpy(dst, src, floats * sizeof(float)); }
void CpuOps::copy(float* dst, const float* src, size_t floats) { std::memmove(dst, src, floats * sizeof(float)); }

void CpuOps::matmul(const float* x, int64_t n, const WeightRef& w, float* y) { cpu::matmul(x, n, w, y); }

namespace {

// Norm weights and biases are tiny: they are widened once per call.
const float* widened(const WeightRef& w, std::vector<float>& into) {
    into.resize(size_t(w.rows * w.cols));
    widenToFloat(w.data, w.dtype, into.size(), into.data());
    return into.data();
}

}  // namespace

void CpuOps::rmsNorm(const float* x, int64_t rows, const WeightRef& w, float eps, bool addOne, float* y) {
    thread_local std::vector<float> weight;
    cpu::rmsNorm(x, rows, w.cols, widened(w, weight), eps, addOne, y);
}

void CpuOps::layerNorm(const float* x, int64_t rows, const WeightRef& w, const WeightRef& b, float eps, float* y) {
    thread_local std::vector<float> weight, bias;
    cpu::layerNorm(x, rows, w.cols, widened(w, weight), widened(b, bias), eps, y);
}

void CpuOps::addWeightRows(float* y, int64_t rows, const WeightRef& w) {
    thread_local std::vector<float> values;
    const float* add = widened(w, values);
    const int64_t cols = w.cols;
#pragma omp parallel for schedule(static) if (rows > 16)
    for (int64_t r = 0; r < rows; ++r) {
        const float* src = add + (r % w.rows) * cols;
        for (int64_t c = 0; c < cols; ++c) y[r * cols + c] += src[c];
    }
}

void CpuOps::activate(float* x, int64_t count, Activation act) {
#pragma omp parallel for schedule(static) if (count > 65536)
    for (int64_t i = 0; i < count; ++i) x[i] = cpu::activation(x[i], act);
}

void CpuOps::bidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads,
                                    int64_t headDim, float* out) {
    cpu::bidirectionalAttention(q, k, v, n, heads, headDim, out);
}

void CpuOps::rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions,
                  const float* invFreq, RopeStyle style) {
    cpu::rope(x, n, numHeads, headDim, positions, invFreq, style);
}

void CpuOps::gatedActivation(const float* gate, const float* up, int64_t count, Activation act, float* out) {
#pragma omp parallel for schedule(static) if (count > 65536)
    for (int64_t i = 0; i < count; ++i) {
        out[i] = cpu::activation(gate[i], act) * up[i];
    }
}

void CpuOps::add(float* y, const float* x, int64_t count) {
    for (int64_t i = 0; i < count; ++i) y[i] += x[i];
}

void CpuOps::scale(float* x, int64_t count, float factor) {
    for (int64_t i = 0; i < count; ++i) x[i] *= factor;
}

void CpuOps::softcap(float* x, int64_t count, float cap) {
    for (int64_t i = 0; i < count; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void CpuOps::attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim) {
    cpu::attentionBegin(state, rows, headDim);
}

void CpuOps::attentionAccumulate(const float* q, int64_t n, const int32_t* positions,
                                 std::span<const KvSegment> segments, const AttentionShape& shape,
                                 const AttentionState& state) {
    cpu::attentionAccumulate(q, n, positions, segments, shape, state);
}

void CpuOps::attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out) {
    cpu::attentionFinish(state, rows, headDim, out);
}

}  // namespace strata
