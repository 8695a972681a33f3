#include "CudaOps.h"

#include <new>
#include <string>

#include "CudaDevice.h"
#include "CudaKernels.h"
#include "DeviceWeightStreamer.h"
#include "format/Mxfp4.h"

namespace strata {

Result<std::unique_ptr<CudaOps>> CudaOps::create(uint64_t vramBudget, int device) {
    std::unique_ptr<CudaOps> ops(new CudaOps());
    auto pool = DevicePool::create(vramBudget, device);
    STRATA_TRY(pool);
    ops->pool_ = std::move(pool.value());
    STRATA_CUDA_TRY(cudaStreamCreateWithFlags(&ops->stream_, cudaStreamNonBlocking));
    // Attention takes its scratch from the stream-ordered pool on every call. By default the pool
    // hands its memory back to the driver at each synchronisation, so every token would map it
    // again; keep a little.
    cudaMemPool_t scratchPool = nullptr;
    STRATA_CUDA_TRY(cudaDeviceGetDefaultMemPool(&scratchPool, device));
    uint64_t keep = uint64_t(64) << 20;
    STRATA_CUDA_TRY(cudaMemPoolSetAttribute(scratchPool, cudaMemPoolAttrReleaseThreshold, &keep));
    auto gemm = CudaGemm::create(*ops->pool_, ops->stream_);
    STRATA_TRY(gemm);
    ops->gemm_ = std::move(gemm.value());
    return ops;
}

CudaOps::~CudaOps() {
    if (stream_) cudaStreamSynchronize(stream_);
    gemm_.reset();
    if (pool_)
        for (void* p : staging_)
            if (p) (void)pool_->release(p);
    if (stream_) cudaStreamDestroy(stream_);
}

Result<std::unique_ptr<WeightSource>> CudaOps::makeWeightSource(const Checkpoint& checkpoint,
                                                                const WeightLayout& layout, const ResidencyPlan& plan) {
    auto source = DeviceWeightStreamer::create(checkpoint, layout, plan, *pool_, stream_);
    STRATA_TRY(source);
    return std::unique_ptr<WeightSource>(std::move(source.value()));
}

void CudaOps::record(Status s) {
    if (!s.ok() && error_.ok()) error_ = std::move(s);
}

Status CudaOps::takeError() {
    record(cudaStatus(cudaStreamSynchronize(stream_), "running the CUDA ops"));
    Status out = std::move(error_);
    error_ = Status();
    return out;
}

float* CudaOps::allocate(size_t floats) {
    auto p = pool_->allocate(uint64_t(floats) * sizeof(float), "activations or KV cache");
    if (!p.ok()) {
        record(p.error());
        throw std::bad_alloc();
    }
    return static_cast<float*>(p.value());
}

void CudaOps::release(float* p) {
    // Work queued on the stream may still use the block.
    record(cudaStatus(cudaStreamSynchronize(stream_), "waiting before a release"));
    record(pool_->release(p));
}

void CudaOps::upload(float* dst, const float* hostSrc, size_t floats) {
    record(cudaStatus(cudaMemcpyAsync(dst, hostSrc, floats * sizeof(float), cudaMemcpyHostToDevice, stream_),
                      "copying activations to the device"));
    // The host buffer may be reused as soon as we return.
    record(cudaStatus(cudaStreamSynchronize(stream_), "copying activations to the device"));
}

void CudaOps::download(float* hostDst, const float* src, size_t floats) {
    record(cudaStatus(cudaMemcpyAsync(hostDst, src, floats * sizeof(float), cudaMemcpyDeviceToHost, stream_),
                      "copying results to the host"));
    record(cudaStatus(cudaStreamSynchronize(stream_), "copying results to the host"));
}

void CudaOps::copy(float* dst, const float* src, size_t floats) {
    record(cudaStatus(cudaMemcpyAsync(dst, src, floats * sizeof(float), cudaMemcpyDeviceToDevice, stream_),
                      "copying on the device"));
}

void* CudaOps::stage(int slot, const void* host, size_t bytes) {
    if (stagingBytes_[slot] < bytes) {
        record(cudaStatus(cudaStreamSynchronize(stream_), "waiting before a staging buffer grows"));
        if (staging_[slot]) record(pool_->release(staging_[slot]));
        staging_[slot] = nullptr;
        stagingBytes_[slot] = 0;
        auto p = pool_->allocate(bytes, "staging of weights and positions");
        if (!p.ok()) {
            record(p.error());
            return nullptr;
        }
        staging_[slot] = p.value();
        stagingBytes_[slot] = bytes;
    }
    // Pageable host memory: the call returns once the data has left the host buffer.
    record(cudaStatus(cudaMemcpyAsync(staging_[slot], host, bytes, cudaMemcpyHostToDevice, stream_),
                      "copying to a staging buffer"));
    return staging_[slot];
}

WeightRef CudaOps::deviceWeight(const WeightRef& w, int slot) {
    WeightRef d = w;
    // Packed types by whole blocks (MXFP4: 16 bytes a 32-element group), as they are stored.
    if (!pool_->contains(w.data)) d.data = stage(slot, w.data, size_t(dtypeBytes(w.dtype, w.rows * w.cols)));
    if (w.dtype == DType::MXFP4 && w.scales && !pool_->contains(w.scales)) {
        const size_t scaleBytes = size_t(w.rows * (w.cols / kMxfp4BlockElements));
        d.scales = static_cast<const uint8_t*>(stage(ScaleSlot, w.scales, scaleBytes));
        if (!d.scales) d.data = nullptr;
    }
    return d;
}

void CudaOps::matmul(const float* x, int64_t n, const WeightRef& w, float* y) {
    const WeightRef d = deviceWeight(w, WeightSlot);
    if (d.data) record(gemm_->matmul(x, n, d, y));
}

void CudaOps::clampedSwiGlu(const float* gateUp, int64_t n, int64_t width, float alpha, float limit, float* out) {
    record(cudaClampedSwiGlu(gateUp, n, width, alpha, limit, out, stream_));
}

void CudaOps::gatherRows(const float* src, int64_t width, std::span<const int32_t> rows, float* dst) {
    record(cudaGatherRows(src, width, rows, dst, stream_));
}

void CudaOps::addScaledRows(float* y, int64_t width, const float* src, std::span<const int32_t> rows,
                            std::span<const float> weights) {
    record(cudaAddScaledRows(y, width, src, rows, weights, stream_));
}

void CudaOps::attentionSinks(const AttentionState& state, int64_t n, int64_t numHeads, int64_t headDim,
                             const WeightRef& sinks) {
    // The sinks are a weight: device memory from the weight source, or host memory (staged) in tests.
    if (sinks.rows * sinks.cols != numHeads) {
        record(badInput("attentionSinks: " + std::to_string(sinks.rows * sinks.cols) + " sinks for " +
                        std::to_string(numHeads) + " heads"));
        return;
    }
    const WeightRef d = deviceWeight(sinks, WeightSlot);
    if (d.data) record(cudaAttentionSinks(state, n, numHeads, headDim, d.data, d.dtype, stream_));
}

void CudaOps::rmsNorm(const float* x, int64_t rows, const WeightRef& w, float eps, bool addOne, float* y) {
    const WeightRef d = deviceWeight(w, WeightSlot);
    if (d.data) record(cudaRmsNorm(x, rows, w.cols, d.data, w.dtype, eps, addOne, y, stream_));
}

void CudaOps::rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions,
                   const float* invFreq, RopeStyle style) {
    auto* dPos = static_cast<const int32_t*>(stage(PositionSlot, positions, size_t(n) * sizeof(int32_t)));
    auto* dFreq = static_cast<const float*>(stage(InvFreqSlot, invFreq, size_t(headDim / 2) * sizeof(float)));
    if (dPos && dFreq) record(cudaRope(x, n, numHeads, headDim, dPos, dFreq, style, stream_));
}

void CudaOps::gatedActivation(const float* gate, const float* up, int64_t count, Activation act, float* out) {
    record(cudaGatedActivation(gate, up, count, act, out, stream_));
}

void CudaOps::layerNorm(const float* x, int64_t rows, const WeightRef& w, const WeightRef& b, float eps, float* y) {
    if (b.dtype != w.dtype) {
        record(badInput("layerNorm: the weight and bias are stored as different types"));
        return;
    }
    const WeightRef dW = deviceWeight(w, WeightSlot), dB = deviceWeight(b, BiasSlot);
    if (dW.data && dB.data) record(cudaLayerNorm(x, rows, w.cols, dW.data, dB.data, w.dtype, eps, y, stream_));
}

void CudaOps::addWeightRows(float* y, int64_t rows, const WeightRef& w) {
    const WeightRef d = deviceWeight(w, WeightSlot);
    if (d.data) record(cudaAddWeightRows(y, rows, d.data, w.dtype, w.rows, w.cols, stream_));
}

void CudaOps::activate(float* x, int64_t count, Activation act) { record(cudaActivate(x, count, act, stream_)); }

void CudaOps::add(float* y, const float* x, int64_t count) { record(cudaAdd(y, x, count, stream_)); }

void CudaOps::scale(float* x, int64_t count, float factor) { record(cudaScale(x, count, factor, stream_)); }

void CudaOps::softcap(float* x, int64_t count, float cap) { record(cudaSoftcap(x, count, cap, stream_)); }

void CudaOps::attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim) {
    record(cudaAttentionBegin(state, rows, headDim, stream_));
}

void CudaOps::attentionAccumulate(const float* q, int64_t n, const int32_t* positions,
                                  std::span<const KvSegment> segments, const AttentionShape& shape,
                                  const AttentionState& state) {
    record(cudaAttentionAccumulate(q, n, positions, segments, shape, state, stream_));
}

void CudaOps::attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out) {
    record(cudaAttentionFinish(state, rows, headDim, out, stream_));
}

HostMemory CudaOps::hostMemory() const { return pinnedHostMemory(); }

}  // namespace strata
