#pragma once
// Which checkpoint tensors make up each streaming unit (one per decoder layer, then the output
// head), where they go in the unit's buffer, and the shapes the architecture expects of them.
//
// Tensors stored as they are used (not GGUF-quantised) are placed in the buffer as they lie in
// their file: neighbours form an extent that starts at a 4096-aligned file offset and a
// 4096-aligned buffer offset, so that one large direct (O_DIRECT) read fills it with no copy.
#include <cstdint>
#include <functional>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/Result.h"
#include "format/Checkpoint.h"

namespace strata {

enum class WeightRole {
    InputNorm, QProj, KProj, VProj, OProj, QNorm, KNorm,
    PostAttentionNorm, PreFeedforwardNorm, PostFeedforwardNorm,
    GateProj, UpProj, DownProj,
    FinalNorm, LmHead,
    // Linear biases: of the decoders that have them (on q, k and v, on every attention
    // projection, on the MLP) and of the encoders.
    QProjBias, KProjBias, VProjBias, OProjBias, GateProjBias, UpProjBias, DownProjBias,
    // Encoders (image and audio towers): LayerNorm biases, and the stem in front of the layers:
    // the input convolution (SigLIP's patch embedding, Whisper's first conv), the downsampling
    // convolution (Whisper's second) and learned positions.
    InputNormBias, PostAttentionNormBias, FinalNormBias,
    InputConv, InputConvBias, DownsampleConv, DownsampleConvBias, PositionEmbedding,
    // Attention sinks: one logit per query head.
    AttentionSinks,
    // A mixture of experts: the router and its bias, then every expert's tensors stacked along a
    // first dimension of numExperts (expertWeight() takes one expert's slice). Gate and up share
    // one matrix, interleaved; MXFP4 experts keep their scale bytes in a tensor of their own.
    Router, RouterBias, ExpertGateUp, ExpertGateUpScales, ExpertGateUpBias, ExpertDown, ExpertDownScales,
    ExpertDownBias,
    Count
};

struct UnitTensor {
    WeightRole role;
    const TensorInfo* info;
    uint64_t bufferOffset = 0;  // in the unit's buffer
    bool inExtent = false;      // read as part of an extent; otherwise converted by Checkpoint::read
};

// A byte range of one checkpoint file read whole into the unit's buffer.
struct UnitExtent {
    static constexpr uint64_t kAlignment = 4096;  // file offset, size and buffer offset
    int fileIndex = 0;
    uint64_t fileOffset = 0;    // aligned down from the first tensor
    uint64_t bytes = 0;         // aligned up past the last tensor (may run past the end of the file)
    uint64_t dataBytes = 0;     // up to the end of the last tensor: what the file must supply
    uint64_t bufferOffset = 0;
};

struct WeightUnit {
    std::string label;  // "layer 3", "head"
    std::vector<UnitTensor> tensors;
    std::vector<UnitExtent> extents;
    uint64_t bytes = 0;  // buffer size, with alignment padding
};

struct WeightLayout {
    // A decoder's: numLayers layers, then the head. An encoder's: its stem, its layers, then its
    // final norm.
    std::vector<WeightUnit> units;
    const TensorInfo* embedding = nullptr;

    // Experts as parts of their own (splitExperts): per layer, one unit per expert holding its
    // slice of each stacked expert matrix, so that a token reads only the experts routed to it.
    // Empty while the experts stay in their layer's unit.
    std::vector<std::vector<WeightUnit>> experts;
    std::shared_ptr<std::deque<TensorInfo>> expertSlices;  // what the expert parts' tensors point at

    int headUnit() const { return int(units.size()) - 1; }
    bool expertsSplit() const { return !experts.empty(); }
    // Bytes of the largest expert part (experts have the same shape, but where each lies in its
    // file decides the alignment padding of its buffer); 0 unless split.
    uint64_t expertBytes() const { return largestExpertBytes; }
    uint64_t largestExpertBytes = 0;
    // The checkpoint names of every tensor of every unit (and expert part).
    std::set<std::string> tensorNames() const;
    uint64_t totalBytes() const;
};

// One of the stacked expert matrices (ExpertGateUp, ExpertDown) or their MXFP4 scales: what an
// expert part holds, as opposed to the router and biases that stay in the layer's unit.
inline bool isExpertMatrix(WeightRole r) {
    return r == WeightRole::ExpertGateUp || r == WeightRole::ExpertGateUpScales || r == WeightRole::ExpertDown ||
           r == WeightRole::ExpertDownScales;
}

// Moves each mixture-of-experts layer's expert matrices (the ExpertGateUp and ExpertDown roles and
// their MXFP4 scales) out of the layer's unit into one part per expert. The router and the
// experts' biases, which every token reads, stay in the layer's unit.
void splitExperts(WeightLayout& layout, int64_t numExperts);

// Gathers the tensors of one unit, each checked to exist with the shape the architecture expects,
// and places them for direct reads.
class WeightUnitBuilder {
public:
    WeightUnitBuilder(const Checkpoint& checkpoint, std::string label);
    // bytes: the tensor is packed data stored as U8 (MXFP4 blocks and scales); any other tensor
    // must be a floating-point type.
    Status add(WeightRole role, const std::string& name, const std::vector<int64_t>& expected, bool bytes = false);
    WeightUnit finish();

private:
    const Checkpoint& checkpoint_;
    WeightUnit unit_;
};

// "[2, 3]", for messages about shapes.
std::string shapeText(const std::vector<int64_t>& shape);

struct TensorSpec {
    WeightRole role;
    std::string name;
    std::vector<int64_t> shape;
};

// One unit of the given tensors, each checked to exist with its shape, placed for direct reads.
Result<WeightUnit> buildWeightUnit(const Checkpoint& checkpoint, std::string label,
                                   const std::vector<TensorSpec>& tensors);

// Strict loading: a tensor that the code reading a checkpoint does not use may be part of the
// arithmetic it does not implement (a bias, a norm, an adapter), and running without it would
// give wrong answers without a word. Refuses the checkpoint when a tensor that `inScope` claims
// is neither in `used` nor known to be unused (rotary_emb.inv_freq: positions recomputed from the
// config), naming it and counting the others.
Status refuseUnusedTensors(const Checkpoint& checkpoint, const std::function<bool(const std::string&)>& inScope,
                           const std::set<std::string>& used, const std::string& reader);

}  // namespace strata
