#include "runtime/PoolAllocator.h"

#include <algorithm>

#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"

namespace strata {

PoolAllocator::PoolAllocator(uintptr_t base, uint64_t size, std::string budgetName, std::string hint)
    : budgetName_(std::move(budgetName)), hint_(std::move(hint)) {
    const uint64_t skip = (kAlignment - base % kAlignment) % kAlignment;
    base_ = base + skip;
    capacity_ = size > skip ? (size - skip) / kAlignment * kAlignment : 0;
    budget_ = size;
    if (capacity_ > 0) blocks_.push_back({0, capacity_, true});
}

uint64_t PoolAllocator::roundedSize(uint64_t bytes) {
    if (bytes == 0) return kAlignment;
    if (bytes > UINT64_MAX - (kAlignment - 1)) return UINT64_MAX / kAlignment * kAlignment;
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

Result<uintptr_t> PoolAllocator::allocate(uint64_t bytes, std::string_view what) {
    const uint64_t need = roundedSize(bytes);
    auto it = std::find_if(blocks_.begin(), blocks_.end(), [&](const Block& b) { return b.free && b.size >= need; });
    if (it == blocks_.end()) return badInput(exhaustedMessage(bytes, need, what));

    const uint64_t offset = it->offset;
    if (it->size > need) {
        const Block rest{offset + need, it->size - need, true};
        it->size = need;
        it->free = false;
        blocks_.insert(it + 1, rest);
    } else {
        it->free = false;
    }
    used_ += need;
    peak_ = std::max(peak_, used_);
    ++live_;
    return base_ + offset;
}

Status PoolAllocator::release(uintptr_t address) {
    if (!contains(address))
        return internalError("release of address " + std::to_string(address) + " that the " + budgetName_ +
                             " pool did not hand out");
    const uint64_t offset = address - base_;
    auto it = std::lower_bound(blocks_.begin(), blocks_.end(), offset,
                               [](const Block& b, uint64_t o) { return b.offset < o; });
    if (it == blocks_.end() || it->offset != offset || it->free)
        return internalError("release of " + budgetName_ + " pool address " + std::to_string(address) +
                             (it != blocks_.end() && it->offset == offset ? ", which is already free"
                                                                          : ", which is not the start of an allocation"));

    used_ -= it->size;
    --live_;
    it->free = true;
    // Merge with the following block first so that `it` stays valid for the merge with the preceding one.
    if (it + 1 != blocks_.end() && (it + 1)->free) {
        it->size += (it + 1)->size;
        blocks_.erase(it + 1);
    }
    if (it != blocks_.begin() && (it - 1)->free) {
        (it - 1)->size += it->size;
        blocks_.erase(it);
    }
    return Status::success();
}

void PoolAllocator::reset() {
    blocks_.clear();
    if (capacity_ > 0) blocks_.push_back({0, capacity_, true});
    used_ = 0;
    live_ = 0;
}

uint64_t PoolAllocator::largestFreeBlock() const {
    uint64_t largest = 0;
    for (const Block& b : blocks_)
        if (b.free) largest = std::max(largest, b.size);
    return largest;
}

std::string PoolAllocator::exhaustedMessage(uint64_t requested, uint64_t rounded, std::string_view what) const {
    std::string m = "the " + budgetName_ + " budget of " + formatBytes(budget_) + " is exhausted: " +
                    std::to_string(requested) + " bytes requested";
    if (!what.empty()) {
        m += " for ";
        m += what;
    }
    m += ", " + std::to_string(freeBytes()) + " free";
    // Enough free bytes in total but no block that large: say so, or the numbers look contradictory.
    if (freeBytes() >= rounded)
        m += " but fragmented (largest free block " + std::to_string(largestFreeBlock()) + " bytes)";
    m += " of " + std::to_string(capacity_) + " usable; " + hint_;
    return m;
}

}  // namespace strata
