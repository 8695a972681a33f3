#pragma once
// The RAM tier of mixture-of-experts weights: a least-recently-used cache of expert parts per
// layer. A token reads only the experts its router picks, so the experts that recent tokens used
// are kept and the others are read from the checkpoint files when a token needs them. The
// capacity is shared evenly by the layers.
//
// Once a layer's router has picked its experts, the pass declares them in the order it will use
// them (prefetch) and a reader thread of the cache reads the missing ones in that order, so that
// an expert's read overlaps the product of the experts before it rather than adding to it. The
// reader fills only slots that no one uses and that hold no declared expert still to be used; with
// fewer such slots than missing experts, it reads the next one each time a slot is released.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "runtime/WeightLayout.h"
#include "runtime/WeightSource.h"

namespace strata {

class ExpertCache {
public:
    // Called on the caller's thread for an expert that was not read ahead, and on the cache's
    // reader thread otherwise; never for two experts at once by the same thread.
    using Reader = std::function<Status(const WeightUnit& part, char* dst)>;
    // capacity: bytes of RAM for experts; each layer gets an equal share of whole parts, at least one.
    ExpertCache(const WeightLayout& layout, uint64_t capacity, HostMemory memory, Reader read);
    // Waits for the read in progress, if any; declared reads not yet started are dropped.
    ~ExpertCache();
    ExpertCache(const ExpertCache&) = delete;
    ExpertCache& operator=(const ExpertCache&) = delete;

    // Experts a layer holds at once.
    int slotsPerLayer() const { return slotsPerLayer_; }
    // The minimum capacity: one expert per layer.
    static uint64_t minimumBytes(const WeightLayout& layout);

    // Waits while the expert's read ahead is in progress; reads it here if it was not read ahead.
    // A failed read ahead is this call's error.
    Result<UnitWeights> acquire(int layer, int expert);
    void release(int layer, int expert);
    // The experts the layer's pass will acquire, in order (WeightSource::prefetchExperts).
    void prefetch(int layer, std::span<const int> experts);
    ExpertCacheStats stats() const;

private:
    struct Slot {
        int expert = -1;
        int users = 0;
        uint64_t lastUse = 0;
        char* data = nullptr;
        bool loading = false;     // a read into data is in progress (by the reader or a caller)
        bool readAhead = false;   // filled by the reader and not acquired since
        Status error;             // of the read ahead, handed to the expert's acquire
    };
    struct Layer {
        std::vector<Slot> held;  // the layer's slots
        // The last declaration: experts in the order the pass acquires them (capacity for every
        // expert, so that declaring allocates nothing), the first the reader has not yet taken up,
        // and per expert whether it is declared and not yet acquired.
        std::vector<int> declared;
        size_t nextDeclared = 0;
        std::vector<char> pending;
    };
    struct DeclaredRead {
        int layer = -1;
        int expert = -1;
        Slot* slot = nullptr;
    };

    static Slot* find(Layer& layer, int expert);
    // The least recently used slot that no one uses or reads into (an empty one first); with
    // spareDeclared, none holding an expert declared and not yet acquired.
    static Slot* victim(Layer& layer, bool spareDeclared);
    static void empty(Slot& slot);
    bool takeDeclaredRead(DeclaredRead& read);
    Status load(int layer, int expert, Slot& slot);
    void readerLoop();

    const WeightLayout& layout_;
    HostMemory memory_;
    Reader read_;
    int slotsPerLayer_ = 1;
    std::vector<Layer> layers_;
    std::vector<int> declaredLayers_;  // layers with declared experts left to read, oldest first
    uint64_t clock_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable work_;  // for the reader: a declaration, or a slot released
    std::condition_variable done_;  // for acquire: a read finished
    bool stopping_ = false;
    ExpertCacheStats stats_;
    std::thread reader_;
};

}  // namespace strata
