#pragma once
// The shape of the attention state a model keeps per sequence: how many layers, the width of
// their keys and values, and which layers attend within a sliding window. ModelConfig extends it
// with the rest of the architecture.
#include <cstdint>
#include <vector>

namespace strata {

enum class LayerAttention { Full, Sliding };

struct KvShape {
    int64_t numLayers = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0;
    int64_t slidingWindow = 0;               // keys visible iff kv > q - slidingWindow
    std::vector<LayerAttention> layerTypes;  // size numLayers; empty: every layer full
    bool isSlidingLayer(int64_t layer) const {
        return !layerTypes.empty() && layerTypes[static_cast<size_t>(layer)] == LayerAttention::Sliding;
    }
};

}  // namespace strata
