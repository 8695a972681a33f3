#pragma once
// The op set that model code is written against. The CPU backend is the reference; the CUDA
// backend implements the same calls on device memory. Pointers to activations are backend
// memory (host memory on the CPU, device memory on CUDA); model code never dereferences them.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/DType.h"
#include "core/Result.h"
#include "model/ModelConfig.h"

namespace strata {

class Checkpoint;
struct WeightLayout;
struct ResidencyPlan;
class WeightSource;

// A stored weight matrix [rows, cols] in row-major order, as in the checkpoint: rows are output
// features, cols are input features. A norm weight is a single row.
struct WeightRef {
    const void* data = nullptr;
    DType dtype = DType::BF16;
    int64_t rows = 0;
    int64_t cols = 0;
};

enum class RopeStyle {
    NeoX,         // rotate-half pairs (i, i + d/2), as Hugging Face checkpoints
    Interleaved,  // adjacent pairs (2i, 2i+1), as llama.cpp's permuted Llama weights
};

struct AttentionShape {
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0;
    float scale = 1.0f;
    float softcap = 0.0f;  // 0: off
    int64_t window = 0;    // 0: full causal; else key visible iff kvPos > qPos - window
};

// K and V of one layer: kvCapacity positions of numKvHeads * headDim floats each.
struct KvLayerView {
    float* k = nullptr;
    float* v = nullptr;
    int64_t capacity = 0;
};

class Ops {
public:
    virtual ~Ops() = default;
    virtual const char* name() const = 0;
    // Ops return nothing, so a backend whose calls can fail (a device) keeps the first failure;
    // this returns it and clears it. The model checks it at the end of each forward pass.
    virtual Status takeError() { return {}; }

    // Where this backend's model weights come from, started: on the CPU, RAM and the checkpoint
    // files (a plan with a VRAM tier is refused); on a device, VRAM, pinned RAM and the files.
    virtual Result<std::unique_ptr<WeightSource>> makeWeightSource(const Checkpoint& checkpoint,
                                                                   const WeightLayout& layout,
                                                                   const ResidencyPlan& plan);

    virtual float* allocate(size_t floats) = 0;
    virtual void release(float* p) = 0;
    virtual void upload(float* dst, const float* hostSrc, size_t floats) = 0;
    virtual void download(float* hostDst, const float* src, size_t floats) = 0;
    virtual void copy(float* dst, const float* src, size_t floats) = 0;

    // y[n, w.rows] = x[n, w.cols] * w^T
    virtual void matmul(const float* x, int64_t n, const WeightRef& w, float* y) = 0;
    // Row-wise RMSNorm over dim = w.cols; (1 + w) when addOne. y may alias x.
    virtual void rmsNorm(const float* x, int64_t rows, const WeightRef& w, float eps, bool addOne, float* y) = 0;
    // Rotates each head of x [n, numHeads, headDim] at its position; invFreq has headDim/2 entries (host).
    virtual void rope(float* x, int64_t n, int64_t numHeads, int64_t headDim, const int32_t* positions,
                      const float* invFreq, RopeStyle style) = 0;
    // out[i] = act(gate[i]) * up[i]
    virtual void gatedActivation(const float* gate, const float* up, int64_t count, Activation act, float* out) = 0;
    virtual void add(float* y, const float* x, int64_t count) = 0;
    virtual void scale(float* x, int64_t count, float factor) = 0;
    // x = cap * tanh(x / cap)
    virtual void softcap(float* x, int64_t count, float cap) = 0;
    // Stores k, v [n, numKvHeads * headDim] at the given positions of the layer's cache.
    virtual void writeKv(const KvLayerView& kv, const float* k, const float* v, int64_t n, int64_t rowFloats,
                         const int32_t* positions) = 0;
    // Causal attention of q [n, numHeads, headDim] at positions against the cache holding every
    // position <= each query's own; out [n, numHeads, headDim]. Online softmax: no score matrix.
    virtual void attention(const float* q, int64_t n, const int32_t* positions, const KvLayerView& kv,
                           const AttentionShape& shape, float* out) = 0;
};

}  // namespace strata
