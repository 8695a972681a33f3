#pragma once
// The weight layout of a decoder: the embedding table, one unit per layer with the tensors its
// family names, and the head (final norm and output projection).
#include "arch/ModelConfig.h"
#include "core/Result.h"
#include "format/Checkpoint.h"
#include "runtime/WeightLayout.h"

namespace strata {

// Checks every tensor the architecture needs exists with the expected shape, and that the
// checkpoint holds no tensor the decoder would leave unused (see refuseUnusedTensors); tensors of
// the encoders a multimodal wrapper declares (vision and audio towers, projectors) are theirs to
// check.
Result<WeightLayout> buildWeightLayout(const ModelConfig& config, const Checkpoint& checkpoint);

}  // namespace strata
