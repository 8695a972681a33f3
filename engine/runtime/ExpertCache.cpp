#include "runtime/ExpertCache.h"

#include <algorithm>
#include <limits>
#include <string>

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
    layers_.resize(layout.experts.size());
    for (size_t l = 0; l < layout.experts.size(); ++l) {
        if (layout.experts[l].empty()) continue;
        layers_[l].held.resize(size_t(slotsPerLayer_));
        layers_[l].declared.reserve(layout.experts[l].size());
        layers_[l].pending.assign(layout.experts[l].size(), 0);
    }
    declaredLayers_.reserve(layers_.size());
    if (minimumBytes(layout) > 0) reader_ = std::thread([this] { readerLoop(); });
}

ExpertCache::~ExpertCache() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    if (reader_.joinable()) reader_.join();
    for (Layer& layer : layers_)
        for (Slot& s : layer.held)
            if (s.data) memory_.free(s.data);
}

ExpertCache::Slot* ExpertCache::find(Layer& layer, int expert) {
    for (Slot& s : layer.held)
        if (s.expert == expert) return &s;
    return nullptr;
}

ExpertCache::Slot* ExpertCache::victim(Layer& layer, bool spareDeclared) {
    Slot* best = nullptr;
    for (Slot& s : layer.held) {
        if (s.users > 0 || s.loading) continue;
        if (spareDeclared && s.expert >= 0 && layer.pending[size_t(s.expert)]) continue;
        if (!best || s.lastUse < best->lastUse) best = &s;
    }
    return best;
}

void ExpertCache::empty(Slot& slot) {
    slot.expert = -1;
    slot.readAhead = false;
    slot.error = {};
    slot.lastUse = 0;
}

// Runs without the lock: the slot is marked loading, which keeps everyone else off its data.
Status ExpertCache::load(int layer, int expert, Slot& slot) {
    if (!slot.data) {
        slot.data = static_cast<char*>(memory_.allocate(layout_.expertBytes()));
        if (!slot.data)
            return internalError("out of memory allocating " + formatBytes(layout_.expertBytes()) +
                                 " of RAM for expert " + std::to_string(expert) + " of layer " +
                                 std::to_string(layer) + "; lower --ram-budget");
    }
    Status status = read_(layout_.experts[size_t(layer)][size_t(expert)], slot.data);
    if (!status.ok())
        return Error{status.error().kind, "reading expert " + std::to_string(expert) + " of layer " +
                                              std::to_string(layer) + ": " + status.error().message};
    return {};
}

Result<UnitWeights> ExpertCache::acquire(int layer, int expert) {
    if (layer < 0 || size_t(layer) >= layers_.size() || layers_[size_t(layer)].held.empty() || expert < 0 ||
        size_t(expert) >= layout_.experts[size_t(layer)].size())
        return internalError("no expert " + std::to_string(expert) + " in layer " + std::to_string(layer));
    const WeightUnit& part = layout_.experts[size_t(layer)][size_t(expert)];
    Layer& l = layers_[size_t(layer)];
    const auto t0 = SteadyClock::now();
    std::unique_lock lock(mutex_);
    ++stats_.acquired;
    while (true) {
        if (Slot* s = find(l, expert)) {
            // In the cache, or being read ahead: a user from now on keeps the slot for this call.
            ++s->users;
            if (s->loading) {
                done_.wait(lock, [&] { return !s->loading; });
                stats_.stallSeconds += secondsSince(t0);
            }
            l.pending[size_t(expert)] = 0;
            s->lastUse = ++clock_;
            if (!s->error.ok()) {
                Error e = s->error.error();
                if (--s->users == 0) empty(*s);
                lock.unlock();
                work_.notify_one();
                return e;
            }
            if (s->readAhead) {
                s->readAhead = false;
                ++stats_.misses;
                ++stats_.prefetched;
            } else {
                ++stats_.hits;
            }
            return UnitWeights(&part, s->data);
        }
        // A miss not read ahead: read here, into a slot no declared expert still needs if there is
        // one (else one that is needed later, which will be read again then).
        Slot* slot = victim(l, true);
        if (!slot) slot = victim(l, false);
        if (!slot) {
            const bool reading = std::any_of(l.held.begin(), l.held.end(), [](const Slot& s) { return s.loading; });
            if (!reading)
                return internalError("every expert slot of layer " + std::to_string(layer) +
                                     " is in use; raise --ram-budget");
            done_.wait(lock);  // for a read ahead to finish, then look again
            continue;
        }
        empty(*slot);
        slot->expert = expert;
        slot->users = 1;
        slot->loading = true;
        slot->lastUse = ++clock_;
        l.pending[size_t(expert)] = 0;
        lock.unlock();
        const auto r0 = SteadyClock::now();
        Status status = load(layer, expert, *slot);
        const double seconds = secondsSince(r0);
        lock.lock();
        slot->loading = false;
        stats_.readSeconds += seconds;
        stats_.stallSeconds += secondsSince(t0);
        done_.notify_all();
        if (!status.ok()) {
            slot->users = 0;
            empty(*slot);
            lock.unlock();
            work_.notify_one();
            return status.error();
        }
        stats_.bytesRead += part.bytes;
        ++stats_.misses;
        return UnitWeights(&part, slot->data);
    }
}

void ExpertCache::release(int layer, int expert) {
    bool freed = false;
    {
        std::lock_guard lock(mutex_);
        Layer& l = layers_[size_t(layer)];
        for (Slot& s : l.held) {
            if (s.expert != expert || s.users == 0) continue;
            // The reader waits for a slot only while declared experts are left to read.
            freed = --s.users == 0 && l.nextDeclared < l.declared.size();
            break;
        }
    }
    if (freed) work_.notify_one();
}

void ExpertCache::prefetch(int layer, std::span<const int> experts) {
    if (layer < 0 || size_t(layer) >= layers_.size() || layers_[size_t(layer)].held.empty()) return;
    {
        std::lock_guard lock(mutex_);
        Layer& l = layers_[size_t(layer)];
        // A new pass of the layer: what the last declaration left unused is no longer protected.
        for (int e : l.declared) l.pending[size_t(e)] = 0;
        l.declared.clear();
        l.nextDeclared = 0;
        for (int e : experts) {
            if (e < 0 || size_t(e) >= l.pending.size() || l.pending[size_t(e)]) continue;
            l.pending[size_t(e)] = 1;
            l.declared.push_back(e);
        }
        // A read ahead that failed for an earlier pass, and was never acquired, is tried again.
        for (Slot& s : l.held)
            if (!s.error.ok() && s.users == 0) empty(s);
        if (l.declared.empty()) return;
        if (std::find(declaredLayers_.begin(), declaredLayers_.end(), layer) == declaredLayers_.end())
            declaredLayers_.push_back(layer);
    }
    work_.notify_one();
}

// Under the lock: the first declared expert, of the oldest declaration, that is neither acquired
// nor in a slot already, with the slot it goes into. Declarations with nothing left to read are
// dropped; one whose next expert finds no slot waits for a release.
bool ExpertCache::takeDeclaredRead(DeclaredRead& read) {
    for (size_t i = 0; i < declaredLayers_.size();) {
        const int layer = declaredLayers_[i];
        Layer& l = layers_[size_t(layer)];
        while (l.nextDeclared < l.declared.size()) {
            const int expert = l.declared[l.nextDeclared];
            if (!l.pending[size_t(expert)] || find(l, expert)) {
                ++l.nextDeclared;
                continue;
            }
            Slot* slot = victim(l, true);
            if (!slot) break;
            empty(*slot);
            slot->expert = expert;
            slot->loading = true;
            slot->readAhead = true;
            slot->lastUse = ++clock_;
            ++l.nextDeclared;
            read = {layer, expert, slot};
            return true;
        }
        if (l.nextDeclared < l.declared.size())
            ++i;
        else
            declaredLayers_.erase(declaredLayers_.begin() + std::ptrdiff_t(i));
    }
    return false;
}

void ExpertCache::readerLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
        DeclaredRead read;
        work_.wait(lock, [&] { return stopping_ || takeDeclaredRead(read); });
        if (stopping_) return;  // declared reads not yet taken are dropped
        lock.unlock();
        const auto t0 = SteadyClock::now();
        Status status = load(read.layer, read.expert, *read.slot);
        const double seconds = secondsSince(t0);
        lock.lock();
        stats_.readSeconds += seconds;
        if (status.ok()) stats_.bytesRead += layout_.experts[size_t(read.layer)][size_t(read.expert)].bytes;
        read.slot->error = std::move(status);
        read.slot->loading = false;
        done_.notify_all();
    }
}

ExpertCacheStats ExpertCache::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace strata
