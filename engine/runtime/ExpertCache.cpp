#include "runtime/ExpertCache.h"

#include <algorithm>
#include <limits>

#include "core/Clock.h"
#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"

namespace strata {

uint64_t ExpertCache::minimumBytes(const WeightLayout& layout) {
    uint64_t layers = 0;
    for (const auto& parts : layout.experts) layers += parts.empty() ? 0 : 1;
    return layers * layout.expertBytes();
}

ExpertCache::ExpertCache(const WeightLayout& layout, uint64_t capacity, HostMemory memory, Reader read)
    : layout_(layout), memory_(std::move(memory)), read_(std::move(read)) {
    const uint64_t layers = std::max<uint64_t>(1, minimumBytes(layout) / std::max<uint64_t>(1, layout.expertBytes()));
    const uint64_t perLayer = capacity / layers / std::max<uint64_t>(1, layout.expertBytes());
    int64_t experts = 0;
    for (const auto& parts : layout.experts) experts = std::max<int64_t>(experts, int64_t(parts.size()));
    slotsPerLayer_ = int(std::clamp<uint64_t>(perLayer, 1, uint64_t(std::max<int64_t>(experts, 1))));
    slots_.resize(layout.experts.size());
    for (size_t l = 0; l < layout.experts.size(); ++l)
        if (!layout.experts[l].empty()) slots_[l].resize(size_t(slotsPerLayer_));
}

ExpertCache::~ExpertCache() {
    for (auto& layer : slots_)
        for (Slot& s : layer)
            if (s.data) memory_.free(s.data);
}

Result<UnitWeights> ExpertCache::acquire(int layer, int expert) {
    if (layer < 0 || size_t(layer) >= slots_.size() || slots_[size_t(layer)].empty() || expert < 0 ||
        size_t(expert) >= layout_.experts[size_t(layer)].size())
        return internalError("no expert " + std::to_string(expert) + " in layer " + std::to_string(layer));
    const WeightUnit& part = layout_.experts[size_t(layer)][size_t(expert)];
    std::lock_guard lock(mutex_);
    ++stats_.acquired;
    std::vector<Slot>& slots = slots_[size_t(layer)];
    for (Slot& s : slots) {
        if (s.expert != expert) continue;
        ++s.users;
        s.lastUse = ++clock_;
        ++stats_.hits;
        return UnitWeights(&part, s.data);
    }
    // A miss: the least recently used slot that no one is reading from (an empty one first).
    Slot* victim = nullptr;
    for (Slot& s : slots)
        if (s.users == 0 && (!victim || s.lastUse < victim->lastUse)) victim = &s;
    if (!victim)
        return internalError("every expert slot of layer " + std::to_string(layer) + " is in use; raise --ram-budget");
    if (!victim->data) {
        victim->data = static_cast<char*>(memory_.allocate(layout_.expertBytes()));
        if (!victim->data)
            return internalError("out of memory allocating " + formatBytes(layout_.expertBytes()) +
                                 " of RAM for an expert; lower --ram-budget");
    }
    victim->expert = -1;
    const auto t0 = SteadyClock::now();
    STRATA_TRY(read_(part, victim->data));
    stats_.readSeconds += secondsSince(t0);
    stats_.bytesRead += part.bytes;
    ++stats_.misses;
    victim->expert = expert;
    victim->users = 1;
    victim->lastUse = ++clock_;
    return UnitWeights(&part, victim->data);
}

void ExpertCache::release(int layer, int expert) {
    std::lock_guard lock(mutex_);
    for (Slot& s : slots_[size_t(layer)])
        if (s.expert == expert && s.users > 0) --s.users;
}

ExpertCacheStats ExpertCache::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace strata
