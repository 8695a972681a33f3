#pragma once
#include <vector>

#include "arch/ModelConfig.h"

namespace strata {

// Inverse frequencies (headDim/2 entries) for a rope base and scaling, in fp32 as transformers
// computes them, so that angles match it exactly.
std::vector<float> ropeInvFreq(int64_t headDim, double theta, const RopeScaling& scaling);

}  // namespace strata
