#pragma once
// The RAM tier of mixture-of-experts weights: a least-recently-used cache of expert parts per
// layer. A token reads only the experts its router picks, so the experts that recent tokens used
// are kept and the others are read from the checkpoint files when a token needs them. The
// capacity is shared evenly by the layers.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "runtime/WeightLayout.h"
#include "runtime/WeightSource.h"

namespace strata {

class ExpertCache {
public:
    using Reader = std::function<Status(const WeightUnit& part, char* dst)>;
    // capacity: bytes of RAM for experts; each layer gets an equal share of whole parts, at least one.
    ExpertCache(const WeightLayout& layout, uint64_t capacity, HostMemory memory, Reader read);
    ~ExpertCache();
    ExpertCache(const ExpertCache&) = delete;
    ExpertCache& operator=(const ExpertCache&) = delete;

    // Experts a layer holds at once.
    int slotsPerLayer() const { return slotsPerLayer_; }
    // The minimum capacity: one expert per layer.
    static uint64_t minimumBytes(const WeightLayout& layout);

    Result<UnitWeights> acquire(int layer, int expert);
    void release(int layer, int expert);
    ExpertCacheStats stats() const;

private:
    struct Slot {
        int expert = -1;
        int users = 0;
        uint64_t lastUse = 0;
        char* data = nullptr;
    };
    const WeightLayout& layout_;
    HostMemory memory_;
    Reader read_;
    int slotsPerLayer_ = 1;
    std::vector<std::vector<Slot>> slots_;  // [layer][slot]
    uint64_t clock_ = 0;
    mutable std::mutex mutex_;
    ExpertCacheStats stats_;
};

}  // namespace strata
