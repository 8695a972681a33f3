#pragma once
#include "backend/Ops.h"

namespace strata {

// The reference backend: fp32 compute on host memory. Weights stay in their stored type and are
// widened block by block as they are used; larger products go through BLAS sgemm.
class CpuOps final : public Ops {
public:
    // threads <= 0: all hardware threads.
    explicit CpuOps(int threads = 0);
    // The threads a CpuOps made with `requested` uses: all cores for 0.
    static int threadCount(int requested);

    const char* name() const override { return "cpu"; }
    bool multipliesPacked(DType t) const override { return t == DType::Q8_0 || t == DType::MXFP4; }
    int threads() const { return threads_; }

    float* allocate(size_t floats) override;
    void release(float* p) override;
    void upload(float* dst, const float* hostSrc, size_t floats) override;
    void download(float* hostDst, const float* src, size_t floats) override;
    void copy(float* dst, const float* src, size_t floats) override;

    void matmul(const float* x, int64_t n, const WeightRef& w, float* y) override;
    void rmsNorm(const float* x, int64_t rows, const WeightRef& w, float eps, bool addOne, float* y) override;
    void rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions,
              const float* invFreq, RopeStyle style) override;
    void gatedActivation(const float* gate, const float* up, int64_t count, Activation act, float* out) override;
    void add(float* y, const float* x, int64_t count) override;
    void scale(float* x, int64_t count, float factor) override;
    void softcap(float* x, int64_t count, float cap) override;
    void layerNorm(const float* x, int64_t rows, const WeightRef& w, const WeightRef& b, float eps,
                   float* y) override;
    void addWeightRows(float* y, int64_t rows, const WeightRef& w) override;
    void activate(float* x, int64_t count, Activation act) override;
    void bidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads,
                                int64_t headDim, float* out) override;
    bool memoryIsHost() const override { return true; }
    void attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim) override;
    void attentionAccumulate(const float* q, int64_t n, const int32_t* positions, std::span<const KvSegment> segments,
                             const AttentionShape& shape, const AttentionState& state) override;
    void attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out) override;

private:
    int threads_;
};

}  // namespace strata
