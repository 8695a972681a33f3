#pragma once
// Keeps RAM-tier weight units in RAM and streams the disk tier from the checkpoint files through a
// ring of RAM slots: a reader thread fills the next slot while the caller computes with the
// current one. Units are used in a fixed cyclic order (layers, then the head, then again), which
// is the order the reader prefetches in. VRAM-tier units are not its business: the device
// streamer reads them once with readUnit().
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/Ops.h"
#include "format/Checkpoint.h"
#include "runtime/UnitReader.h"
#include "runtime/ExpertCache.h"
#include "runtime/WeightSource.h"

namespace strata {

class WeightStreamer final : public WeightSource {
public:
    WeightStreamer(const Checkpoint& checkpoint, const WeightLayout& layout, ResidencyPlan plan,
                   HostMemory memory = HostMemory::aligned(), int readerThreads = 4);
    ~WeightStreamer() override;
    WeightStreamer(const WeightStreamer&) = delete;
    WeightStreamer& operator=(const WeightStreamer&) = delete;

    // Reads the RAM-tier units and starts the reader for the disk tier.
    Status start();
    // Blocks until the unit is in RAM. Must be paired with release().
    Result<UnitWeights> acquire(int unit) override;
    void release(int unit) override { release(unit, {}); }
    // beforeReuse runs on the reader thread before the unit's slot is filled again: a device copy
    // still reading from the slot is waited for there, not on the caller's thread.
    void release(int unit, std::function<void()> beforeReuse);
    // Reads any unit into dst (UnitExtent::kAlignment-aligned); for units held elsewhere.
    Status readUnit(int unit, char* dst) const;
    bool directReads() const { return reader_ && reader_->direct(); }

    // Experts of a split layout, through the expert cache (plan().expertCacheBytes of RAM), whose
    // reader thread reads the declared experts ahead of their acquire.
    Result<UnitWeights> acquireExpert(int layer, int expert) override;
    void releaseExpert(int layer, int expert) override;
    void prefetchExperts(int layer, std::span<const int> experts) override;
    ExpertCacheStats expertStats() const override;

    const ResidencyPlan& plan() const override { return plan_; }
    StreamerStats stats() const override;

private:
    struct Buffer {
        const HostMemory* memory = nullptr;
        char* data = nullptr;
        uint64_t bytes = 0;
        ~Buffer();
    };
    enum class SlotState { Free, Loading, Ready, InUse };
    struct Slot {
        SlotState state = SlotState::Free;
        int unit = -1;
        Status error;
        std::function<void()> beforeReuse;
        std::unique_ptr<Buffer> buffer;
    };

    Result<std::unique_ptr<Buffer>> allocate(uint64_t bytes) const;
    void readerLoop();
    void startReader(size_t from);
    void stopReader();

    const Checkpoint& checkpoint_;
    const WeightLayout& layout_;
    ResidencyPlan plan_;
    HostMemory memory_;
    int readerThreads_;
    std::unique_ptr<UnitReader> reader_;
    std::unique_ptr<ExpertCache> experts_;
    mutable std::mutex readMutex_;  // the UnitReader takes one unit at a time
    std::vector<std::unique_ptr<Buffer>> resident_;  // per unit; null unless RAM tier
    std::vector<int> streamed_;                      // disk-tier unit ids in use order
    std::vector<int> streamedIndex_;                 // unit id -> index in streamed_, or -1

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Slot> slots_;
    std::thread readerThread_;
    bool stopping_ = false;
    size_t readerNext_ = 0;
    size_t consumerNext_ = 0;
    StreamerStats stats_;
};

}  // namespace strata
