#pragma once
// The engine's op set on a CUDA device. Weights, activations, the KV cache and scratch live in a
// pool that reserves the VRAM budget once; every op runs in order on one stream. Attention's small
// per-call scratch (split partials, segment descriptors) comes from the stream-ordered allocator
// instead, outside the budget.
//
// Model weights come from the DeviceWeightStreamer (makeWeightSource), already in the pool. A
// weight in host memory (as the op tests pass) is copied to a staging buffer before use.
#include <cuda_runtime_api.h>

#include <memory>

#include "CudaGemm.h"
#include "DevicePool.h"
#include "backend/Ops.h"

namespace strata {

class CudaOps final : public Ops {
public:
    static Result<std::unique_ptr<CudaOps>> create(uint64_t vramBudget, int device = 0);
    ~CudaOps() override;
    CudaOps(const CudaOps&) = delete;
    CudaOps& operator=(const CudaOps&) = delete;

    const char* name() const override { return "cuda"; }
    Status takeError() override;
    Result<std::unique_ptr<WeightSource>> makeWeightSource(const Checkpoint& checkpoint, const WeightLayout& layout,
                                                           const ResidencyPlan& plan) override;
    // MXFP4 is multiplied packed (CudaGemm); Q8_0 is not, and is widened to float16 when read.
    bool multipliesPacked(DType t) const override { return t == DType::MXFP4; }
    DevicePool& pool() { return *pool_; }
    uint64_t peakBytes() const { return pool_->peakBytes(); }

    // Throws std::bad_alloc when the budget is exhausted (the reason is kept for takeError).
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
    // Row indices and weights go to stream-ordered scratch inside the kernels' host functions.
    void clampedSwiGlu(const float* gateUp, int64_t n, int64_t width, float alpha, float limit, float* out) override;
    void gatherRows(const float* src, int64_t width, std::span<const int32_t> rows, float* dst) override;
    void addScaledRows(float* y, int64_t width, const float* src, std::span<const int32_t> rows,
                       std::span<const float> weights) override;
    void attentionSinks(const AttentionState& state, int64_t n, int64_t numHeads, int64_t headDim,
                        const WeightRef& sinks) override;
    uint64_t deviceBytesFree() const override { return pool_->freeBytes(); }
    bool memoryIsHost() const override { return false; }
    HostMemory hostMemory() const override;

    // Segment descriptors and positions go to stream-ordered scratch inside cudaAttentionAccumulate.
    void attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim) override;
    void attentionAccumulate(const float* q, int64_t n, const int32_t* positions, std::span<const KvSegment> segments,
                             const AttentionShape& shape, const AttentionState& state) override;
    void attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out) override;

private:
    CudaOps() = default;
    void record(Status s);
    // Device copies of host data, in staging buffers that grow (pool allocations) and are reused.
    void* stage(int slot, const void* host, size_t bytes);
    // The weight with its data (and an MXFP4 weight's scales, in ScaleSlot) in device memory:
    // as it is when already in the pool, else staged. Null data when staging failed.
    WeightRef deviceWeight(const WeightRef& w, int slot);

    enum Slot { WeightSlot, BiasSlot, ScaleSlot, PositionSlot, InvFreqSlot, SlotCount };
    std::unique_ptr<DevicePool> pool_;
    cudaStream_t stream_ = nullptr;
    std::unique_ptr<CudaGemm> gemm_;
    void* staging_[SlotCount] = {};
    size_t stagingBytes_[SlotCount] = {};
    Status error_;
};

}  // namespace strata
