#pragma once
// Which checkpoint tensors make up each streaming unit (one per decoder layer, then the output
// head), where they go in the unit's buffer, and the shapes the architecture expects of them.
#include <cstdint>
#include <string>
#include <vector>

#include "core/Result.h"
#include "format/Checkpoint.h"
#include "model/ModelConfig.h"

namespace strata {

enum class WeightRole {
    InputNorm, QProj, KProj, VProj, OProj, QNorm, KNorm,
    PostAttentionNorm, PreFeedforwardNorm, PostFeedforwardNorm,
    GateProj, UpProj, DownProj,
    FinalNorm, LmHead,
    Count
};

struct UnitTensor {
    WeightRole role;
    const TensorInfo* info;
    uint64_t bufferOffset;  // 64-byte aligned offset in the unit's buffer
};

struct WeightUnit {
    std::string label;  // "layer 3", "head"
    std::vector<UnitTensor> tensors;
    uint64_t bytes = 0;  // buffer size, with alignment padding
};

struct WeightLayout {
    std::vector<WeightUnit> units;  // numLayers layers, then the head
    const TensorInfo* embedding = nullptr;

    int headUnit() const { return int(units.size()) - 1; }
    uint64_t totalBytes() const;
};

// Checks every tensor the architecture needs exists with the expected shape.
Result<WeightLayout> buildWeightLayout(const ModelConfig& config, const Checkpoint& checkpoint);

}  // namespace strata
