#pragma once
// Keeps resident weight units in RAM and streams the others from the checkpoint files through a
// ring of RAM slots: a reader thread fills the next slot while the caller computes with the
// current one. Units are used in a fixed cyclic order (layers, then the head, then again), which
// is the order the reader prefetches in.
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "format/Checkpoint.h"
#include "model/WeightLayout.h"
#include "runtime/ResidencyPlan.h"

namespace strata {

// The tensors of one loaded unit.
class UnitWeights {
public:
    UnitWeights() = default;
    UnitWeights(const WeightUnit* unit, const char* base) : unit_(unit), base_(base) {}
    bool has(WeightRole role) const;
    WeightRef get(WeightRole role) const;  // an empty ref when absent

private:
    const WeightUnit* unit_ = nullptr;
    const char* base_ = nullptr;
};

struct StreamerStats {
    uint64_t bytesRead = 0;      // by the reader thread, for streamed units
    uint64_t residentBytes = 0;  // read once at load
    double readSeconds = 0;      // reader thread time spent in reads
    double stallSeconds = 0;     // caller time spent waiting for a unit
};

class WeightStreamer {
public:
    WeightStreamer(const Checkpoint& checkpoint, const WeightLayout& layout, ResidencyPlan plan);
    ~WeightStreamer();
    WeightStreamer(const WeightStreamer&) = delete;
    WeightStreamer& operator=(const WeightStreamer&) = delete;

    // Reads the resident units and starts the reader for the streamed ones.
    Status start();
    // Blocks until the unit is in RAM. Must be paired with release().
    Result<UnitWeights> acquire(int unit);
    void release(int unit);

    const ResidencyPlan& plan() const { return plan_; }
    StreamerStats stats() const;

private:
    struct Buffer {
        char* data = nullptr;
        uint64_t bytes = 0;
        ~Buffer();
    };
    enum class SlotState { Free, Loading, Ready, InUse };
    struct Slot {
        SlotState state = SlotState::Free;
        int unit = -1;
        Status error;
        std::unique_ptr<Buffer> buffer;
    };

    Status readUnit(int unit, char* dst) const;
    void readerLoop();
    void startReader(size_t from);
    void stopReader();

    const Checkpoint& checkpoint_;
    const WeightLayout& layout_;
    ResidencyPlan plan_;
    std::vector<std::unique_ptr<Buffer>> resident_;  // per unit; null when streamed
    std::vector<int> streamed_;                      // streamed unit ids in use order
    std::vector<int> streamedIndex_;                 // unit id -> index in streamed_, or -1

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Slot> slots_;
    std::thread reader_;
    bool stopping_ = false;
    size_t readerNext_ = 0;
    size_t consumerNext_ = 0;
    StreamerStats stats_;
};

}  // namespace strata
