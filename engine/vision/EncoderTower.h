#pragma once
// The part the image tower (SigLIP) and the audio tower (Voxtral's Whisper-style encoder) share,
// run on a backend with its weights streamed unit by unit as a decoder's are: a stem that turns
// each input into rows (the caller's, per model), pre-norm transformer layers with bidirectional
// attention (x += o(attention(q, k, v of LN(x))); x += fc2(act(fc1(LN(x))))), then a final
// LayerNorm. The units are the stem's tensors, one per layer, and the final norm.
//
// Each run plans where the weights go from what is free at that moment: on the CPU, all in RAM;
// on a device, as many units in VRAM as the device memory left after the run's activations
// holds, the rest streamed through device slots from pinned RAM. The plan and its memory last for
// the run only, so the decoder gets its device memory back for the KV cache.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "format/Checkpoint.h"
#include "runtime/WeightLayout.h"
#include "runtime/ResidencyPlan.h"
#include "runtime/WeightSource.h"

namespace strata {

struct EncoderShape {
    int64_t rows = 0;  // rows per input: an image's patches, an audio chunk's frames
    int64_t hidden = 0;
    int64_t heads = 0;
    int64_t intermediate = 0;
    float eps = 1e-6f;
    Activation activation = Activation::GeluTanh;
    int64_t headDim() const { return hidden / heads; }
};

// Tensor names within one layer; each has ".weight" and ".bias", except the key projection
// without keyBias (Whisper's: it would shift every score of a row equally).
struct EncoderLayerNames {
    std::string attnNorm, q, k, v, o, mlpNorm, fc1, fc2;
    bool keyBias = true;
};

class EncoderTower {
public:
    // Checks every tensor: the stem's, layerPrefix + i + "." + names for each layer, and
    // finalNorm (.weight and .bias); and that the checkpoint has no other tensor under `scope`,
    // the tower's own prefix.
    static Result<std::unique_ptr<EncoderTower>> create(Ops& ops, std::unique_ptr<Checkpoint> checkpoint,
                                                        const EncoderShape& shape, std::vector<TensorSpec> stem,
                                                        const std::string& layerPrefix, int64_t layers,
                                                        const EncoderLayerNames& names, const std::string& finalNorm,
                                                        const std::string& scope);

    Ops& ops() const { return ops_; }
    const EncoderShape& shape() const { return shape_; }
    const WeightLayout& layout() const { return layout_; }
    const Checkpoint& checkpoint() const { return *checkpoint_; }

    // Plans every run with these options instead of from the free memory (tests, benchmarks).
    void setResidency(const ResidencyOptions& options) { residency_ = options; }
    // The plan and the weight traffic of the last run.
    const ResidencyPlan& lastPlan() const { return lastPlan_; }
    const StreamerStats& lastStats() const { return lastStats_; }

    // Writes input i's rows ([shape.rows, hidden], backend memory) into x from the stem's weights.
    using Stem = std::function<Status(int64_t input, const UnitWeights& stem, float* x)>;
    // Runs `inputs` inputs: each through the stem, then all of them through each layer in turn
    // (a streamed layer is read once for all), then the final norm. Returns
    // [inputs * shape.rows, hidden] on the host.
    Result<std::vector<float>> run(int64_t inputs, const Stem& stem);

private:
    EncoderTower(Ops& ops, std::unique_ptr<Checkpoint> checkpoint, const EncoderShape& shape)
        : ops_(ops), checkpoint_(std::move(checkpoint)), shape_(shape) {}
    Result<ResidencyPlan> plan() const;

    Ops& ops_;
    std::unique_ptr<Checkpoint> checkpoint_;
    EncoderShape shape_;
    WeightLayout layout_;
    std::optional<ResidencyOptions> residency_;
    ResidencyPlan lastPlan_;
    StreamerStats lastStats_;
};

// Backend memory for the length of a scope; allocation throws std::bad_alloc as Ops::allocate.
class BackendBuffer {
public:
    BackendBuffer(Ops& ops, size_t floats) : ops_(ops), data_(ops.allocate(floats)) {}
    ~BackendBuffer() { ops_.release(data_); }
    BackendBuffer(const BackendBuffer&) = delete;
    BackendBuffer& operator=(const BackendBuffer&) = delete;
    float* get() const { return data_; }

private:
    Ops& ops_;
    float* data_;
};

}  // namespace strata
