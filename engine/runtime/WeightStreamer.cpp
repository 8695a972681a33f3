#include "runtime/WeightStreamer.h"

#include "core/Clock.h"
#include "core/ByteSize.h"

#include <cstdlib>
#include <new>

namespace strata {

HostMemory HostMemory::aligned() {
    return {[](uint64_t bytes) -> void* {
                constexpr uint64_t A = UnitExtent::kAlignment;
                return std::aligned_alloc(A, (bytes + A - 1) / A * A);
            },
            [](void* p) { std::free(p); }};
}

WeightStreamer::Buffer::~Buffer() {
    if (data) memory->free(data);
}

WeightStreamer::WeightStreamer(const Checkpoint& checkpoint, const WeightLayout& layout, ResidencyPlan plan,
                               HostMemory memory, int readerThreads)
    : checkpoint_(checkpoint), layout_(layout), plan_(std::move(plan)), memory_(std::move(memory)),
      readerThreads_(readerThreads) {
    streamedIndex_.assign(layout_.units.size(), -1);
    for (size_t u = 0; u < layout_.units.size(); ++u) {
        if (plan_.units[u] == Residency::Disk) {
            streamedIndex_[u] = int(streamed_.size());
            streamed_.push_back(int(u));
        }
    }
}

WeightStreamer::~WeightStreamer() {
    stopReader();
    // The expert cache's reader thread reads under readMutex_, a member destroyed before experts_
    // would be: it stops first.
    experts_.reset();
}

Result<UnitWeights> WeightStreamer::acquireExpert(int layer, int expert) {
    if (!experts_) return WeightSource::acquireExpert(layer, expert);
    return experts_->acquire(layer, expert);
}

void WeightStreamer::releaseExpert(int layer, int expert) {
    if (experts_) experts_->release(layer, expert);
}

void WeightStreamer::prefetchExperts(int layer, std::span<const int> experts) {
    if (experts_) experts_->prefetch(layer, experts);
}

ExpertCacheStats WeightStreamer::expertStats() const { return experts_ ? experts_->stats() : ExpertCacheStats{}; }

Status WeightStreamer::readUnit(int unit, char* dst) const {
    std::lock_guard lock(readMutex_);
    return reader_->read(unit, dst);
}

Result<std::unique_ptr<WeightStreamer::Buffer>> WeightStreamer::allocate(uint64_t bytes) const {
    auto b = std::make_unique<Buffer>();
    b->memory = &memory_;
    b->bytes = bytes;
    b->data = static_cast<char*>(memory_.allocate(bytes));
    if (!b->data)
        return internalError("out of memory allocating " + formatBytes(bytes) +
                             " of RAM for weights; lower --ram-budget to stream more of the model from disk");
    if (reinterpret_cast<uintptr_t>(b->data) % UnitExtent::kAlignment != 0)
        return internalError("weight buffer is not aligned for direct reads");
    return b;
}

Status WeightStreamer::start() {
    auto reader = UnitReader::open(checkpoint_, layout_, readerThreads_);
    STRATA_TRY(reader);
    reader_ = std::move(reader.value());
    resident_.resize(layout_.units.size());
    const auto t0 = SteadyClock::now();
    for (size_t u = 0; u < layout_.units.size(); ++u) {
        if (plan_.units[u] != Residency::Ram) continue;
        auto buffer = allocate(layout_.units[u].bytes);
        STRATA_TRY(buffer);
        STRATA_TRY(readUnit(int(u), buffer.value()->data));
        stats_.residentBytes += layout_.units[u].bytes;
        resident_[u] = std::move(buffer.value());
    }
    stats_.readSeconds += secondsSince(t0);
    if (layout_.expertsSplit())
        experts_ = std::make_unique<ExpertCache>(layout_, plan_.expertCacheBytes, memory_,
                                                 [this](const WeightUnit& part, char* dst) {
                                                     std::lock_guard lock(readMutex_);
                                                     return reader_->read(part, dst);
                                                 });
    if (streamed_.empty()) return {};
    slots_.resize(size_t(plan_.streamSlots));
    for (Slot& s : slots_) {
        auto buffer = allocate(plan_.slotBytes);
        STRATA_TRY(buffer);
        s.buffer = std::move(buffer.value());
    }
    startReader(0);
    return {};
}

void WeightStreamer::startReader(size_t from) {
    readerNext_ = from;
    consumerNext_ = from;
    stopping_ = false;
    readerThread_ = std::thread([this] { readerLoop(); });
}

void WeightStreamer::stopReader() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (readerThread_.joinable()) readerThread_.join();
}

void WeightStreamer::readerLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
        Slot* free = nullptr;
        changed_.wait(lock, [&] {
            if (stopping_) return true;
            for (Slot& s : slots_)
                if (s.state == SlotState::Free) free = &s;
            return free != nullptr;
        });
        if (stopping_) return;
        const int unit = streamed_[readerNext_];
        readerNext_ = (readerNext_ + 1) % streamed_.size();
        free->state = SlotState::Loading;
        free->unit = unit;
        std::function<void()> beforeReuse = std::move(free->beforeReuse);
        free->beforeReuse = nullptr;
        lock.unlock();
        if (beforeReuse) beforeReuse();
        const auto t0 = SteadyClock::now();
        Status status = readUnit(unit, free->buffer->data);
        const double seconds = secondsSince(t0);
        lock.lock();
        stats_.readSeconds += seconds;
        if (status.ok()) stats_.bytesRead += layout_.units[size_t(unit)].bytes;
        free->error = std::move(status);
        free->state = SlotState::Ready;
        changed_.notify_all();
    }
}

Result<UnitWeights> WeightStreamer::acquire(int unit) {
    const WeightUnit* u = &layout_.units[size_t(unit)];
    if (resident_[size_t(unit)]) return UnitWeights(u, resident_[size_t(unit)]->data);
    if (streamedIndex_[size_t(unit)] < 0)
        return internalError(u->label + " is planned for VRAM, which the RAM weight streamer does not hold");
    const size_t index = size_t(streamedIndex_[size_t(unit)]);
    if (index != consumerNext_) {
        // Out of the cyclic order (a pass was abandoned): restart the reader at this unit.
        stopReader();
        for (Slot& s : slots_) s.state = SlotState::Free;
        startReader(index);
    }
    const auto t0 = SteadyClock::now();
    std::unique_lock lock(mutex_);
    Slot* ready = nullptr;
    changed_.wait(lock, [&] {
        for (Slot& s : slots_)
            if (s.state == SlotState::Ready && s.unit == unit) ready = &s;
        return ready != nullptr;
    });
    stats_.stallSeconds += secondsSince(t0);
    consumerNext_ = (index + 1) % streamed_.size();
    if (!ready->error.ok()) {
        Error e = ready->error.error();
        ready->state = SlotState::Free;
        ready->error = {};
        lock.unlock();
        changed_.notify_all();
        // The reader went on past the failed unit; put it back in order for a retry.
        stopReader();
        for (Slot& s : slots_) s.state = SlotState::Free;
        startReader(index);
        return e;
    }
    ready->state = SlotState::InUse;
    return UnitWeights(u, ready->buffer->data);
}

void WeightStreamer::release(int unit, std::function<void()> beforeReuse) {
    if (resident_[size_t(unit)]) return;
    {
        std::lock_guard lock(mutex_);
        for (Slot& s : slots_) {
            if (s.state == SlotState::InUse && s.unit == unit) {
                s.state = SlotState::Free;
                s.beforeReuse = std::move(beforeReuse);
                break;
            }
        }
    }
    changed_.notify_all();
}

StreamerStats WeightStreamer::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace strata
