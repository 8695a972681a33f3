#pragma once
// The op set that model code is written against. The CPU backend is the reference; the CUDA
// backend implements the same calls on device memory. Pointers to activations are backend
// memory (host memory on the CPU, device memory on CUDA); model code never dereferences them.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "core/DType.h"
#include "core/Result.h"

namespace strata {

class Checkpoint;
struct WeightLayout;
struct ResidencyPlan;
class WeightSource;

// The activations the gated MLPs and the encoders apply. GeluErf is the exact GELU of the
// Whisper-style audio encoder; GeluTanh its approximation.
enum class Activation { SiLU, GeluTanh, GeluErf };

// A stored weight matrix [rows, cols] in row-major order, as in the checkpoint: rows are output
// features, cols are input features. A norm weight is a single row.
struct WeightRef {
    const void* data = nullptr;
    DType dtype = DType::BF16;
    int64_t rows = 0;
    int64_t cols = 0;
    // MXFP4: the scale bytes, one per block of 32 along each row ([rows, cols / 32]).
    const uint8_t* scales = nullptr;
    // Stored input-major, [cols, rows] (bf16 experts stored as x @ W applies them);
    // the product is the same. Plain types only.
    bool inputMajor = false;
};

enum class RopeStyle {
    NeoX,         // rotate-half pairs (i, i + d/2), as Hugging Face checkpoints
    Interleaved,  // adjacent pairs (2i, 2i+1), as llama.cpp's permuted q and k weights
};

struct AttentionShape {
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0;
    float scale = 1.0f;
    float softcap = 0.0f;  // 0: off
    int64_t window = 0;    // 0: full causal; else key visible iff kvPos > qPos - window
    // Per query, in host memory like the positions: the last key position it sees. nullptr: its
    // own position (causal). A query inside a span attended both ways (an image's rows) sees the
    // whole span; the window still bounds it from below.
    const int32_t* lastKey = nullptr;
};

// Positions [firstPos, firstPos + tokens) of one layer's K and V, in backend memory: rows of
// numKvHeads * headDim floats each.
struct KvSegment {
    const float* k = nullptr;
    const float* v = nullptr;
    int64_t firstPos = 0;
    int64_t tokens = 0;
};

// The running softmax of `rows` = n * numHeads query heads over the keys merged so far, in backend
// memory: acc [rows, headDim] (the unnormalised output), max and sum [rows].
struct AttentionState {
    float* acc = nullptr;
    float* max = nullptr;
    float* sum = nullptr;
};

// RAM for buffers the backend copies from and to: page-aligned memory on the CPU, pinned memory
// (which a device copies from at the bus's full speed) on a GPU. Buffers are 4096-aligned.
struct HostMemory {
    std::function<void*(uint64_t bytes)> allocate;  // nullptr when out of memory
    std::function<void(void*)> free;
    static HostMemory aligned();
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

    virtual HostMemory hostMemory() const { return HostMemory::aligned(); }

    // Whether matmul takes weights of this packed type as they are stored (DType::Q8_0, MXFP4). A
    // backend that does not gets Q8_0 widened to float16 when it is read, and refuses MXFP4.
    virtual bool multipliesPacked(DType) const { return false; }

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
    // Row-wise LayerNorm over dim = w.cols: (x - mean) / sqrt(var + eps) * w + b. y may alias x.
    virtual void layerNorm(const float* x, int64_t rows, const WeightRef& w, const WeightRef& b, float eps,
                           float* y) = 0;
    // y[r, c] += w[r % w.rows, c] over rows of w.cols: a bias (one row) or learned positions.
    virtual void addWeightRows(float* y, int64_t rows, const WeightRef& w) = 0;
    // x = act(x)
    virtual void activate(float* x, int64_t count, Activation act) = 0;

    // Mixture-of-experts blocks. The default of each goes through host memory and the CPU
    // reference; a device backend overrides them with kernels.
    // The clamped SwiGLU over gate/up pairs interleaved along each row of gateUp [n, 2 * width]
    // (gate at even columns, up at odd): g = min(gate, limit), u = clamp(up, -limit, limit),
    // out [n, width] = (u + 1) * g * sigmoid(alpha * g).
    virtual void clampedSwiGlu(const float* gateUp, int64_t n, int64_t width, float alpha, float limit, float* out);
    // dst[i, :] = src[rows[i], :] over rows of `width` floats; rows in host memory.
    virtual void gatherRows(const float* src, int64_t width, std::span<const int32_t> rows, float* dst);
    // y[rows[i], :] += weights[i] * src[i, :], in order of i; rows and weights in host memory.
    virtual void addScaledRows(float* y, int64_t width, const float* src, std::span<const int32_t> rows,
                               std::span<const float> weights);
    // Attention sinks: a per-head logit that joins each query's softmax as a key with a
    // zero value, so the weights of the real keys sum to less than one. Merges sinks (numHeads
    // values) into the state of n * numHeads query heads, between the accumulation and the finish.
    virtual void attentionSinks(const AttentionState& state, int64_t n, int64_t numHeads, int64_t headDim,
                                const WeightRef& sinks);
    // Attention of an encoder, with no cache: every query of q [n, heads, headDim] sees every key
    // of k and v (the same shape), scaled by 1/sqrt(headDim); out [n, heads, headDim]. The
    // default goes through the three attention steps below with every key visible.
    virtual void bidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int64_t heads,
                                        int64_t headDim, float* out);
    // Device memory not yet handed out, which an encoder's weights may take while it runs; 0 on
    // a backend whose memory is host memory.
    virtual uint64_t deviceBytesFree() const { return 0; }
    // Whether backend memory is host memory that the caller may read and write directly.
    virtual bool memoryIsHost() const = 0;

    // Attention over a KV cache held in segments (blocks that may sit anywhere, and may be brought
    // in a few at a time), in three steps with an online softmax and no score matrix:
    // attentionBegin empties the state of `rows` query heads; attentionAccumulate merges the keys
    // of the segments that each query of q [n, numHeads, headDim] at positions may see (key
    // position <= the query's and, with a window, > query - window); attentionFinish writes
    // out [rows, headDim] = acc / sum (zeros for a row that saw no key). The same segments merged
    // in the same order give bit-identical results however they are split between calls.
    virtual void attentionBegin(const AttentionState& state, int64_t rows, int64_t headDim) = 0;
    virtual void attentionAccumulate(const float* q, int64_t n, const int32_t* positions,
                                     std::span<const KvSegment> segments, const AttentionShape& shape,
                                     const AttentionState& state) = 0;
    virtual void attentionFinish(const AttentionState& state, int64_t rows, int64_t headDim, float* out) = 0;
};

}  // namespace strata
