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
    STRATA_TRY(allocateExpertSlots(plan));
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
    for (auto& layer : expertSlots_)
        for (ExpertSlot& s : layer) {
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

Status DeviceWeightStreamer::allocateExpertSlots(const ResidencyPlan& plan) {
    if (!layout_.expertsSplit()) return {};
    const uint64_t part = layout_.expertBytes();
    int64_t layers = 0, experts = 0;
    for (const auto& parts : layout_.experts) {
        layers += parts.empty() ? 0 : 1;
        experts = std::max<int64_t>(experts, int64_t(parts.size()));
    }
    // An equal share of whole experts per layer, at least one (the plan kept room for that).
    const uint64_t perLayer = plan.vramExpertCacheBytes / uint64_t(std::max<int64_t>(layers, 1)) / std::max<uint64_t>(part, 1);
    const size_t slots = size_t(std::clamp<uint64_t>(perLayer, 1, uint64_t(std::max<int64_t>(experts, 1))));
    expertSlots_.resize(layout_.experts.size());
    for (size_t l = 0; l < layout_.experts.size(); ++l) {
        if (layout_.experts[l].empty()) continue;
        expertSlots_[l].resize(slots);
        for (size_t i = 0; i < slots; ++i) {
            ExpertSlot& s = expertSlots_[l][i];
            auto memory = pool_.allocateBuffer(part, "the VRAM expert cache of layer " + std::to_string(l));
            STRATA_TRY(memory);
            s.memory = std::move(memory.value());
            STRATA_CUDA_TRY(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming));
            STRATA_CUDA_TRY(cudaEventCreateWithFlags(&s.consumed, cudaEventDisableTiming));
        }
    }
    return {};
}

DeviceWeightStreamer::ExpertSlot* DeviceWeightStreamer::expertSlot(int layer, int expert) {
    if (layer < 0 || size_t(layer) >= expertSlots_.size()) return nullptr;
    for (ExpertSlot& s : expertSlots_[size_t(layer)])
        if (s.expert == expert) return &s;
    return nullptr;
}

Result<UnitWeights> DeviceWeightStreamer::acquireExpert(int layer, int expert) {
    if (!layout_.expertsSplit()) return WeightSource::acquireExpert(layer, expert);
    if (layer < 0 || size_t(layer) >= layout_.experts.size() || expert < 0 ||
        size_t(expert) >= layout_.experts[size_t(layer)].size())
        return internalError("no expert " + std::to_string(expert) + " in layer " + std::to_string(layer));
    const WeightUnit* part = &layout_.experts[size_t(layer)][size_t(expert)];
    ++deviceExperts_.acquired;
    if (ExpertSlot* hit = expertSlot(layer, expert)) {
        ++hit->users;
        hit->lastUse = ++expertClock_;
        ++deviceExperts_.deviceHits;
        STRATA_CUDA_TRY(cudaStreamWaitEvent(compute_, hit->copied, 0));
        return UnitWeights(part, hit->memory.as<const char>());
    }
    ExpertSlot* victim = nullptr;
    for (ExpertSlot& s : expertSlots_[size_t(layer)])
        if (s.users == 0 && (!victim || s.lastUse < victim->lastUse)) victim = &s;
    if (!victim)
        return internalError("every VRAM expert slot of layer " + std::to_string(layer) + " is in use");
    // The copy may overwrite the slot once the kernels that read its last expert are done; the
    // host's copy of the expert (from its RAM cache, or just read from disk) stays put until the
    // device has it.
    victim->expert = -1;
    STRATA_CUDA_TRY(cudaStreamWaitEvent(copy_, victim->consumed, 0));
    auto host = host_->acquireExpert(layer, expert);
    STRATA_TRY(host);
    Status copied = cudaStatus(cudaMemcpyAsync(victim->memory.get(), host->base(), part->bytes,
                                               cudaMemcpyHostToDevice, copy_),
                               "copying " + part->label + " to the device");
    if (copied.ok()) copied = cudaStatus(cudaEventRecord(victim->copied, copy_), "recording an expert copy");
    if (copied.ok()) copied = cudaStatus(cudaEventSynchronize(victim->copied), "copying " + part->label);
    host_->releaseExpert(layer, expert);
    STRATA_TRY(copied);
    victim->expert = expert;
    victim->users = 1;
    victim->lastUse = ++expertClock_;
    deviceExperts_.bytesToDevice += part->bytes;
    STRATA_CUDA_TRY(cudaStreamWaitEvent(compute_, victim->copied, 0));
    return UnitWeights(part, victim->memory.as<const char>());
}

void DeviceWeightStreamer::releaseExpert(int layer, int expert) {
    ExpertSlot* s = expertSlot(layer, expert);
    if (!s || s->users == 0) return;
    --s->users;
    const Status recorded = cudaStatus(cudaEventRecord(s->consumed, compute_), "recording an expert's use");
    if (!recorded.ok() && pending_.ok()) pending_ = recorded;
}

ExpertCacheStats DeviceWeightStreamer::expertStats() const {
    // A VRAM miss goes to the RAM cache, which counts its own hits and its reads from disk.
    ExpertCacheStats s = host_->expertStats();
    s.acquired = deviceExperts_.acquired;
    s.deviceHits = deviceExperts_.deviceHits;
    s.hits += deviceExperts_.deviceHits;
    s.bytesToDevice = deviceExperts_.bytesToDevice;
    return s;
}

StreamerStats DeviceWeightStreamer::stats() const {
    StreamerStats s = host_->stats();
    s.residentBytes += vramBytes_;
    s.bytesToDevice = bytesToDevice_ + deviceExperts_.bytesToDevice;
    return s;
}

}  // namespace strata
