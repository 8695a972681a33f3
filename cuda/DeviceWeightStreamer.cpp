#include "DeviceWeightStreamer.h"

#include <algorithm>

#include "CudaDevice.h"
#include "core/ByteSize.h"

namespace strata {

namespace {

// Direct reads keep several requests in flight so that an NVMe drive reaches its bandwidth.
constexpr int kReaderThreads = 4;

}  // namespace

// Pinned host memory: the device copies from it by DMA at the bus's full speed, and copies from it
// are truly asynchronous (from pageable memory the driver stages them through its own buffer).
HostMemory pinnedHostMemory() {
    return {[](uint64_t bytes) -> void* {
                void* p = nullptr;
                return cudaHostAlloc(&p, bytes, cudaHostAllocPortable) == cudaSuccess ? p : nullptr;
            },
            [](void* p) { cudaFreeHost(p); }};
}

Result<std::unique_ptr<DeviceWeightStreamer>> DeviceWeightStreamer::create(const Checkpoint& checkpoint,
                                                                           const WeightLayout& layout,
                                                                           const ResidencyPlan& plan, DevicePool& pool,
                                                                           cudaStream_t compute) {
    if (!plan.deviceTier)
        return badInput("the CUDA backend needs a VRAM budget (--vram-budget) to plan where the weights go");
    std::unique_ptr<DeviceWeightStreamer> s(new DeviceWeightStreamer(layout, pool, compute));
    STRATA_TRY(s->load(checkpoint, plan));
    return s;
}

Status DeviceWeightStreamer::load(const Checkpoint& checkpoint, const ResidencyPlan& plan) {
    STRATA_CUDA_TRY(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
    host_ = std::make_unique<WeightStreamer>(checkpoint, layout_, plan, pinnedHostMemory(), kReaderThreads);
    STRATA_TRY(host_->start());

    const size_t units = layout_.units.size();
    resident_.resize(units);
    outsideIndex_.assign(units, -1);
    uint64_t largestResident = 0;
    for (size_t u = 0; u < units; ++u) {
        if (plan.units[u] == Residency::Vram) {
            largestResident = std::max(largestResident, layout_.units[u].bytes);
        } else {
            outsideIndex_[u] = int(outside_.size());
            outside_.push_back(int(u));
        }
    }
    if (largestResident > 0) {
        // VRAM-tier units pass once through a pinned bounce buffer.
        const HostMemory pinned = pinnedHostMemory();
        std::unique_ptr<char, decltype(pinned.free)> bounce(static_cast<char*>(pinned.allocate(largestResident)),
                                                            pinned.free);
        if (!bounce)
            return internalError("out of pinned memory for a " + formatBytes(largestResident) +
                                 " buffer that carries weights to the device");
        for (size_t u = 0; u < units; ++u) {
            if (plan.units[u] != Residency::Vram) continue;
            const WeightUnit& unit = layout_.units[u];
            auto memory = pool_.allocateBuffer(unit.bytes, "weights of " + unit.label + " held in VRAM");
            STRATA_TRY(memory);
            STRATA_TRY(host_->readUnit(int(u), bounce.get()));
            STRATA_CUDA_TRY(cudaMemcpy(memory->get(), bounce.get(), unit.bytes, cudaMemcpyHostToDevice));
            resident_[u] = std::move(memory.value());
            vramBytes_ += unit.bytes;
        }
    }
    if (outside_.empty()) return {};
    if (plan.deviceSlots <= 0)
        return internalError("the memory plan streams weights to the device but gives them no device slots");
    slots_.resize(size_t(plan.deviceSlots));
    for (size_t i = 0; i < slots_.size(); ++i) {
        auto memory = pool_.allocateBuffer(plan.deviceSlotBytes, "device slot " + std::to_string(i) + " for streamed weights");
        STRATA_TRY(memory);
        slots_[i].memory = std::move(memory.value());
        STRATA_CUDA_TRY(cudaEventCreateWithFlags(&slots_[i].copied, cudaEventDisableTiming));
        STRATA_CUDA_TRY(cudaEventCreateWithFlags(&slots_[i].consumed, cudaEventDisableTiming));
    }
    return refill();
}

DeviceWeightStreamer::~DeviceWeightStreamer() {
    // Nothing queued may still read a slot or a pinned buffer when they are freed, and the reader
    // threads (whose release fences wait on the slot events) must stop before the events go.
    if (copy_) cudaStreamSynchronize(copy_);
    cudaStreamSynchronize(compute_);
    host_.reset();
    for (Slot& s : slots_) {
        if (s.copied) cudaEventDestroy(s.copied);
        if (s.consumed) cudaEventDestroy(s.consumed);
    }
    if (copy_) cudaStreamDestroy(copy_);
}

Status DeviceWeightStreamer::issueNext() {
    const int unit = outside_[nextIssue_];
    size_t slot = 0;
    while (std::any_of(inFlight_.begin(), inFlight_.end(), [&](const InFlight& f) { return f.slot == slot; })) ++slot;
    Slot& s = slots_[slot];
    // The copy may overwrite the slot only once the compute stream is done with its last unit.
    STRATA_CUDA_TRY(cudaStreamWaitEvent(copy_, s.consumed, 0));
    auto host = host_->acquire(unit);  // blocks only while a disk-tier unit is still being read
    STRATA_TRY(host);
    const uint64_t bytes = layout_.units[size_t(unit)].bytes;
    Status copied = cudaStatus(cudaMemcpyAsync(s.memory.get(), host->base(), bytes, cudaMemcpyHostToDevice, copy_),
                               "copying weights of " + layout_.units[size_t(unit)].label + " to the device");
    if (copied.ok()) copied = cudaStatus(cudaEventRecord(s.copied, copy_), "recording a weight copy");
    // The staging buffer is refilled by a reader thread, which first waits for this copy.
    int device = pool_.device();
    host_->release(unit, [event = s.copied, device] {
        cudaSetDevice(device);
        cudaEventSynchronize(event);
    });
    STRATA_TRY(copied);
    inFlight_.push_back({unit, slot});
    nextIssue_ = (nextIssue_ + 1) % outside_.size();
    bytesToDevice_ += bytes;
    return {};
}

Status DeviceWeightStreamer::refill() {
    while (inFlight_.size() < slots_.size()) STRATA_TRY(issueNext());
    return {};
}

Status DeviceWeightStreamer::restartAt(int unit) {
    STRATA_CUDA_TRY(cudaStreamSynchronize(copy_));
    STRATA_CUDA_TRY(cudaStreamSynchronize(compute_));
    inFlight_.clear();
    frontAcquired_ = false;
    nextIssue_ = size_t(outsideIndex_[size_t(unit)]);
    return refill();
}

Result<UnitWeights> DeviceWeightStreamer::acquire(int unit) {
    const WeightUnit* u = &layout_.units[size_t(unit)];
    if (resident_[size_t(unit)].get()) return UnitWeights(u, resident_[size_t(unit)].as<const char>());
    if (!pending_.ok()) {
        Error e = pending_.error();
        pending_ = Status();
        (void)restartAt(unit);
        return e;
    }
    if (inFlight_.empty() || inFlight_.front().unit != unit || frontAcquired_) STRATA_TRY(restartAt(unit));
    const Slot& s = slots_[inFlight_.front().slot];
    // Kernels queued from here on run after the copy, without the host waiting for it.
    STRATA_CUDA_TRY(cudaStreamWaitEvent(compute_, s.copied, 0));
    frontAcquired_ = true;
    return UnitWeights(u, s.memory.as<const char>());
}

void DeviceWeightStreamer::release(int unit) {
    if (resident_[size_t(unit)].get()) return;
    if (inFlight_.empty() || inFlight_.front().unit != unit || !frontAcquired_) return;
    Status s = cudaStatus(cudaEventRecord(slots_[inFlight_.front().slot].consumed, compute_), "recording a weight use");
    inFlight_.pop_front();
    frontAcquired_ = false;
    if (s.ok()) s = refill();
    if (!s.ok() && pending_.ok()) pending_ = std::move(s);
}

StreamerStats DeviceWeightStreamer::stats() const {
    StreamerStats s = host_->stats();
    s.residentBytes += vramBytes_;
    s.bytesToDevice = bytesToDevice_;
    return s;
}

}  // namespace strata
