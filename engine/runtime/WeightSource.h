#pragma once
// Where model code gets a weight unit's tensors from, in the backend's memory: the CPU backend's
// WeightStreamer (RAM and the checkpoint files), or the CUDA backend's device streamer (VRAM,
// pinned RAM and the files). Units are acquired in a fixed cyclic order (layers, then the head,
// then again), which is the order sources prefetch in; each acquire is paired with a release.
#include <cstdint>
#include <span>

#include "backend/Ops.h"
#include "core/Result.h"
#include "runtime/WeightLayout.h"
#include "runtime/ResidencyPlan.h"

namespace strata {

// The tensors of one loaded unit.
class UnitWeights {
public:
    UnitWeights() = default;
    UnitWeights(const WeightUnit* unit, const char* base) : unit_(unit), base_(base) {}
    bool has(WeightRole role) const;
    WeightRef get(WeightRole role) const;  // an empty ref when absent
    const char* base() const { return base_; }

private:
    const WeightUnit* unit_ = nullptr;
    const char* base_ = nullptr;
};

// y[n, w.rows] = x[n, w.cols] * w^T + b: the unit's `weight` and, when it has one, `bias`.
void linear(Ops& ops, const UnitWeights& unit, WeightRole weight, WeightRole bias, const float* x, int64_t n,
            float* y);

struct StreamerStats {
    uint64_t bytesRead = 0;      // from the checkpoint files, for streamed units
    uint64_t residentBytes = 0;  // read once at load
    uint64_t bytesToDevice = 0;  // copied host to device for units outside VRAM
    double readSeconds = 0;      // reader time spent in reads
    double stallSeconds = 0;     // caller time spent waiting for a unit to be read
};

// Expert parts served since the source started (layouts whose experts are split into parts).
struct ExpertCacheStats {
    int64_t acquired = 0;    // acquire calls: one per expert per layer per forward pass
    int64_t hits = 0;        // served from a cache (VRAM or RAM)
    int64_t misses = 0;      // read from the checkpoint, on the caller's thread or ahead of it
    // Misses whose read was made ahead, after the expert was declared (prefetchExperts): still
    // misses, as the expert was not in the cache when its layer routed to it, but read while the
    // experts before it computed.
    int64_t prefetched = 0;
    uint64_t bytesRead = 0;  // by the misses, and by reads made ahead for experts a pass then left unused
    double readSeconds = 0;  // spent in reads, on whichever thread
    double stallSeconds = 0; // caller time in acquire spent waiting for an expert to be read
    // On the GPU: served from the VRAM expert cache, without a copy (counted in hits too), and
    // the bytes the others copied to the device.
    int64_t deviceHits = 0;
    uint64_t bytesToDevice = 0;
};

class WeightSource {
public:
    virtual ~WeightSource() = default;
    // Blocks until the unit can be used by work queued after this call.
    virtual Result<UnitWeights> acquire(int unit) = 0;
    // After the work that uses the unit has been queued.
    virtual void release(int unit) = 0;
    // One expert part of a layer (WeightLayout::experts), for layouts whose experts are split;
    // paired with releaseExpert. Sources that do not split experts refuse.
    virtual Result<UnitWeights> acquireExpert(int layer, int expert);
    virtual void releaseExpert(int layer, int expert) {}
    // The experts of a layer that the pass will acquire next, in the order it will acquire them,
    // declared once its router has picked them: a source may read them ahead, while the earlier
    // ones compute. A new declaration for the layer replaces the last one.
    virtual void prefetchExperts(int layer, std::span<const int> experts) {}
    virtual ExpertCacheStats expertStats() const { return {}; }
    virtual const ResidencyPlan& plan() const = 0;
    virtual StreamerStats stats() const = 0;
};

}  // namespace strata
