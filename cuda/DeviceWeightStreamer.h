#pragma once
// The CUDA backend's weight source. VRAM-tier units are copied to the device once at load; the
// rest pass through a few device slots: RAM-tier units from pinned RAM, disk-tier units from the
// ring of pinned staging buffers that the WeightStreamer's reader threads fill with direct reads.
//
// Host-to-device copies run on their own stream. The compute stream waits for a slot's copy on an
// event, and a copy into a slot waits on an event recorded after the slot's last use: neither
// stream waits on the host. A unit's copy is issued as soon as a slot is free, so with two slots
// layer N+1 is in flight while layer N computes (N+2 as well with three).
//
// Units are copied byte for byte as the host streamer read them from the checkpoint: packed types
// and raw U8 tensors (MXFP4's blocks and scale bytes) arrive on the device as they are stored,
// never converted, and kernels dequantise them in the product.
#include <cuda_runtime_api.h>

#include <deque>
#include <memory>
#include <vector>

#include "DevicePool.h"
#include "runtime/WeightStreamer.h"

namespace strata {

// Pinned host memory (cudaHostAlloc): what CudaOps::hostMemory() hands out.
HostMemory pinnedHostMemory();

class DeviceWeightStreamer final : public WeightSource {
public:
    // Work that uses the weights runs on `compute`. Loads the VRAM tier and starts prefetching.
    static Result<std::unique_ptr<DeviceWeightStreamer>> create(const Checkpoint& checkpoint,
                                                                const WeightLayout& layout, const ResidencyPlan& plan,
                                                                DevicePool& pool, cudaStream_t compute);
    ~DeviceWeightStreamer() override;
    DeviceWeightStreamer(const DeviceWeightStreamer&) = delete;
    DeviceWeightStreamer& operator=(const DeviceWeightStreamer&) = delete;

    Result<UnitWeights> acquire(int unit) override;
    void release(int unit) override;
    // Experts of a split layout, through the VRAM expert cache (plan().vramExpertCacheBytes), which
    // fills its misses from the host streamer's RAM expert cache.
    Result<UnitWeights> acquireExpert(int layer, int expert) override;
    void releaseExpert(int layer, int expert) override;
    ExpertCacheStats expertStats() const override;
    const ResidencyPlan& plan() const override { return host_->plan(); }
    StreamerStats stats() const override;

private:
    struct Slot {
        PoolBuffer memory;
        cudaEvent_t copied = nullptr;    // recorded on the copy stream after the unit arrived
        cudaEvent_t consumed = nullptr;  // recorded on the compute stream after the unit's last use
    };
    struct InFlight {
        int unit;
        size_t slot;
    };
    // One expert's place in the VRAM expert cache of a layer, reused least recently used first.
    struct ExpertSlot {
        int expert = -1;
        int users = 0;
        uint64_t lastUse = 0;
        PoolBuffer memory;
        cudaEvent_t copied = nullptr;
        cudaEvent_t consumed = nullptr;
    };

    DeviceWeightStreamer(const WeightLayout& layout, DevicePool& pool, cudaStream_t compute)
        : layout_(layout), pool_(pool), compute_(compute) {}
    Status load(const Checkpoint& checkpoint, const ResidencyPlan& plan);
    // Issues the copy of the next unit in use order into a free slot.
    Status issueNext();
    Status refill();  // issues copies until every slot is busy
    // Drops queued copies and starts the order again at `unit` (a pass was abandoned).
    Status restartAt(int unit);
    Status allocateExpertSlots(const ResidencyPlan& plan);
    ExpertSlot* expertSlot(int layer, int expert);

    const WeightLayout& layout_;
    DevicePool& pool_;
    cudaStream_t compute_;
    cudaStream_t copy_ = nullptr;
    std::unique_ptr<WeightStreamer> host_;
    std::vector<PoolBuffer> resident_;  // per unit; empty unless VRAM tier
    std::vector<int> outside_;          // units outside VRAM, in use order
    std::vector<int> outsideIndex_;     // unit -> index in outside_, or -1
    std::vector<Slot> slots_;
    std::deque<InFlight> inFlight_;     // copies issued, in use order; the front may be acquired
    size_t nextIssue_ = 0;              // index in outside_ of the next copy to issue
    bool frontAcquired_ = false;
    Status pending_;                    // a failed prefetch, reported by the next acquire
    uint64_t bytesToDevice_ = 0;
    uint64_t vramBytes_ = 0;
    std::vector<std::vector<ExpertSlot>> expertSlots_;  // [layer][slot]
    uint64_t expertClock_ = 0;
    ExpertCacheStats deviceExperts_;  // acquired, deviceHits and bytesToDevice
};

}  // namespace strata
