#pragma once
// Reading the image side's tensors, which are small enough to hold in RAM as fp32 whatever they
// are stored as, under whichever naming the checkpoint's writer used.
#include <cstdint>
#include <string>
#include <vector>

#include "core/Result.h"

namespace strata {

class Checkpoint;

// The first of `prefixes` under which `probe` exists; the error names every name tried.
Result<std::string> findTensorPrefix(const Checkpoint& checkpoint, const std::vector<std::string>& prefixes,
                                     const std::string& probe, const std::string& what);

// The tensor widened to fp32, after checking that it exists and has `shape`.
Result<std::vector<float>> readTensorAsFloat(const Checkpoint& checkpoint, const std::string& name,
                                             const std::vector<int64_t>& shape);

}  // namespace strata
