#pragma once
// All device memory of a run comes from here: one cudaMalloc of the whole VRAM budget when the
// pool is made, carved up by a PoolAllocator. allocate() and release() never call cudaMalloc or
// cudaFree, so they neither synchronise the device nor fail halfway through a step because
// another process took memory; a budget that does not fit fails once, at start, with a message.
//
// release() does not wait for the device: the caller must know that no queued work still uses
// the block (work on one stream is ordered; across streams, synchronise or use events first).
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "core/Result.h"
#include "runtime/PoolAllocator.h"

namespace strata {

class PoolBuffer;

class DevicePool {
public:
    // Reserves `budgetBytes` on `device` (made the calling thread's current device). Fails with a
    // bad-input error that suggests a smaller --vram-budget when the device cannot supply it.
    static Result<std::unique_ptr<DevicePool>> create(uint64_t budgetBytes, int device = 0);
    ~DevicePool();
    DevicePool(const DevicePool&) = delete;
    DevicePool& operator=(const DevicePool&) = delete;

    // Device memory of at least `bytes`, aligned to PoolAllocator::kAlignment (256) bytes, or
    // "the VRAM budget of X is exhausted: ...". `what` names the request in that message.
    Result<void*> allocate(uint64_t bytes, std::string_view what = {});
    template <typename T>
    Result<T*> allocateArray(uint64_t count, std::string_view what = {}) {
        if (count > UINT64_MAX / sizeof(T)) return badInput("device array of " + std::to_string(count) + " elements is too large");
        auto p = allocate(count * sizeof(T), what);
        if (!p.ok()) return p.error();
        return static_cast<T*>(*p);
    }
    // The same, released when the returned owner is destroyed.
    Result<PoolBuffer> allocateBuffer(uint64_t bytes, std::string_view what = {});
    Status release(void* p);
    void reset();  // frees every block at once; nothing queued may still use any of them

    // Whether p points into the pool (device memory that kernels can use as it is).
    bool contains(const void* p) const {
        return p >= base_ && static_cast<const char*>(p) < static_cast<const char*>(base_) + budget_;
    }
    int device() const { return device_; }
    uint64_t budget() const { return budget_; }
    uint64_t capacity() const;
    uint64_t usedBytes() const;
    uint64_t freeBytes() const;
    uint64_t peakBytes() const;
    uint64_t largestFreeBlock() const;
    size_t allocationCount() const;
    void resetPeak();

private:
    DevicePool(void* base, uint64_t budget, int device);

    void* base_ = nullptr;
    uint64_t budget_ = 0;
    int device_ = 0;
    mutable std::mutex mutex_;  // the weight streamer and the compute thread both allocate
    PoolAllocator alloc_;
};

// A pool block released when the owner goes out of scope (for long-lived buffers and tests).
class PoolBuffer {
public:
    PoolBuffer() = default;
    PoolBuffer(DevicePool& pool, void* p) : pool_(&pool), p_(p) {}
    ~PoolBuffer() { reset(); }
    PoolBuffer(PoolBuffer&& o) noexcept : pool_(o.pool_), p_(o.p_) { o.p_ = nullptr; }
    PoolBuffer& operator=(PoolBuffer&& o) noexcept {
        if (this != &o) {
            reset();
            pool_ = o.pool_;
            p_ = o.p_;
            o.p_ = nullptr;
        }
        return *this;
    }
    PoolBuffer(const PoolBuffer&) = delete;
    PoolBuffer& operator=(const PoolBuffer&) = delete;

    void* get() const { return p_; }
    template <typename T>
    T* as() const { return static_cast<T*>(p_); }
    void reset() {
        if (p_) (void)pool_->release(p_);
        p_ = nullptr;
    }

private:
    DevicePool* pool_ = nullptr;
    void* p_ = nullptr;
};

}  // namespace strata
