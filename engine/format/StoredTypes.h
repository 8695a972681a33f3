#pragma once
// The dequantising row reader of each stored weight type, beside its block size and bytes
// (dtypeTraits, core/DType.h): plain floats are widened, Q8_0 blocks multiplied by their scale,
// MXFP4 groups by their power-of-two scale bytes. Products that cannot read a type in place
// (the CPU's sgemm, an input-major weight) widen rows through it.
#include <cstdint>

#include "core/DType.h"

namespace strata {

// Writes the `count` elements (whole blocks) of one stored row as fp32. `scales`: the row's MXFP4
// scale bytes (WeightRef::scales); other types ignore it.
using RowReader = void (*)(const void* row, const uint8_t* scales, int64_t count, float* dst);

// nullptr for U8, which holds bytes rather than values.
RowReader rowReader(DType t);

}  // namespace strata
