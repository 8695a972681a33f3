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

void CpuOps::rmsNorm(const float* x, int64_t rows, const WeightRef& w, float eps, bool addOne, float* y) {
    // Norm weights are tiny: widen them once per call.
    thread_local std::vector<float> weight;
    weight.resize(size_t(w.cols));
    widenToFloat(w.data, w.dtype, size_t(w.cols), weight.data());
    cpu::rmsNorm(x, rows, w.cols, weight.data(), eps, addOne, y);
}

void CpuOps::rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions,
                  const float* invFreq, RopeStyle style) {
    cpu::rope(x, n, numHeads, headDim, positions, invFreq, style);
}

void CpuOps::gatedActivation(const float* gate, const float* up, int64_t count, Activation act, float* out) {
#pragma omp parallel for schedule(static) if (count > 65536)
    for (int64_t i = 0; i < count; ++i) {
        const float g = act == Activation::SiLU ? cpu::silu(gate[i]) : cpu::geluTanh(gate[i]);
        out[i] = g * up[i];
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
