#include "runtime/WeightSource.h"

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
        ref.rows = shape.size() == 2 ? shape[0] : 1;
        ref.cols = shape.back();
        return ref;
    }
    return {};
}

}  // namespace strata
