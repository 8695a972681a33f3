#pragma once
// Bookkeeping of one contiguous address range handed out in aligned pieces: the part of the
// device memory pool that needs no device, so that it can be tested anywhere. It never touches
// the memory it manages (the range may be device memory, or a made-up address in a test).
//
// First fit over a list of blocks kept in address order; a released block merges with free
// neighbours at once, so the list stays as short as the number of live allocations. The list is
// a vector whose capacity only grows: once a workload has run one step, later steps of the same
// shape allocate no host memory either. Not thread-safe; the owner serialises calls.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace strata {

class PoolAllocator {
public:
    // Every address handed out is a multiple of this, and every size is rounded up to it: enough
    // for any vector load and for cuBLAS and the CUDA runtime's own alignment expectations.
    static constexpr uint64_t kAlignment = 256;

    // Manages [base, base + size). A misaligned base loses its first bytes up to the next
    // multiple of kAlignment, and the tail past the last whole multiple is unused. `budgetName`
    // ("VRAM") and `hint` ("raise --vram-budget ...") make up the exhaustion message.
    PoolAllocator(uintptr_t base, uint64_t size, std::string budgetName = "VRAM",
                  std::string hint = "raise --vram-budget or lower --chunk");

    // An aligned address of at least `bytes` (0 counts as 1, so every live allocation has its own
    // address). `what` names the request in the error text ("KV cache", "layer 3 weights").
    // Fails with "the VRAM budget of X is exhausted: ..." when no free block is large enough.
    Result<uintptr_t> allocate(uint64_t bytes, std::string_view what = {});

    // Gives back an address returned by allocate(). A null or unknown address, or one released
    // twice, is an error and changes nothing.
    Status release(uintptr_t address);

    // Frees every allocation at once (scratch memory between steps). The peak is kept.
    void reset();

    uint64_t capacity() const { return capacity_; }       // usable bytes after alignment
    uint64_t usedBytes() const { return used_; }          // sum of live (rounded) allocations
    uint64_t freeBytes() const { return capacity_ - used_; }
    uint64_t peakBytes() const { return peak_; }          // highest usedBytes() so far
    uint64_t largestFreeBlock() const;
    size_t allocationCount() const { return live_; }
    uintptr_t base() const { return base_; }
    bool contains(uintptr_t address) const { return address >= base_ && address - base_ < capacity_; }
    void resetPeak() { peak_ = used_; }

    // Bytes that allocate(bytes) takes from the pool.
    static uint64_t roundedSize(uint64_t bytes);

private:
    struct Block {
        uint64_t offset = 0;
        uint64_t size = 0;
        bool free = true;
    };

    std::string exhaustedMessage(uint64_t requested, uint64_t rounded, std::string_view what) const;

    uintptr_t base_ = 0;
    uint64_t budget_ = 0;    // the size asked for, as the user set it
    uint64_t capacity_ = 0;
    uint64_t used_ = 0;
    uint64_t peak_ = 0;
    size_t live_ = 0;
    std::string budgetName_;
    std::string hint_;
    std::vector<Block> blocks_;  // covers [0, capacity_) in address order, no two free neighbours
};

}  // namespace strata
