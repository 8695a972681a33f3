#include "runtime/WeightSource.h"

#include <string>

namespace strata {

bool UnitWeights::has(WeightRole role) const {
    for (const UnitTensor& t : unit_->tensors)
        if (t.role == role) return true;
    return false;
}

WeightRef UnitWeights::get(WeightRole role) const {
    for (const UnitTensor& t : unit_->tensors) {
        if (t.role != role) continue;
        const auto& shape = t.info->shape;
        WeightRef ref;
        ref.data = base_ + t.bufferOffset;
        ref.dtype = t.info->dtype;
        // A matrix of its first dimension by the rest: a convolution's [out, in, kernel...] is the
        // [out, in * kernel...] of the product it is computed as; a vector is one row.
        ref.rows = shape.size() >= 2 ? shape[0] : 1;
        ref.cols = 1;
        for (size_t d = shape.size() >= 2 ? 1 : 0; d < shape.size(); ++d) ref.cols *= shape[d];
        return ref;
    }
    return {};
}

Result<UnitWeights> WeightSource::acquireExpert(int layer, int expert) {
    return internalError("this weight source keeps experts in their layers' units (layer " + std::to_string(layer) +
                         ", expert " + std::to_string(expert) + ")");
}

void linear(Ops& ops, const UnitWeights& unit, WeightRole weight, WeightRole bias, const float* x, int64_t n,
            float* y) {
    ops.matmul(x, n, unit.get(weight), y);
    if (unit.has(bias)) ops.addWeightRows(y, n, unit.get(bias));
}

}  // namespace strata
