#include "DevicePool.h"

#include <cuda_runtime_api.h>

#include "CudaDevice.h"
#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"

namespace strata {

Result<std::unique_ptr<DevicePool>> DevicePool::create(uint64_t budgetBytes, int device) {
    if (budgetBytes == 0) return badInput("--vram-budget must be larger than 0");
    if (budgetBytes < PoolAllocator::kAlignment)
        return badInput("--vram-budget of " + std::to_string(budgetBytes) + " bytes is too small to hold anything");
    STRATA_TRY(cudaStatus(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")"));

    void* base = nullptr;
    const cudaError_t err = cudaMalloc(&base, budgetBytes);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        std::string m = "cannot reserve the VRAM budget of " + formatBytes(budgetBytes) + " on CUDA device " +
                        std::to_string(device) + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
        size_t freeMem = 0, totalMem = 0;
        if (cudaMemGetInfo(&freeMem, &totalMem) == cudaSuccess)
            m += " (" + formatBytes(freeMem) + " free of " + formatBytes(totalMem) + ")";
        else
            (void)cudaGetLastError();
        if (err == cudaErrorMemoryAllocation) {
            m += "; choose a smaller --vram-budget";
            return badInput(std::move(m));
        }
        return internalError(std::move(m));
    }
    return std::unique_ptr<DevicePool>(new DevicePool(base, budgetBytes, device));
}

DevicePool::DevicePool(void* base, uint64_t budget, int device)
    : base_(base), budget_(budget), device_(device), alloc_(reinterpret_cast<uintptr_t>(base), budget) {}

DevicePool::~DevicePool() {
    // cudaFree acts on the current device's context; the owner's thread may have moved on to another.
    int current = 0;
    const bool switched = cudaGetDevice(&current) == cudaSuccess && current != device_ &&
                          cudaSetDevice(device_) == cudaSuccess;
    (void)cudaFree(base_);
    if (switched) (void)cudaSetDevice(current);
    (void)cudaGetLastError();
}

Result<void*> DevicePool::allocate(uint64_t bytes, std::string_view what) {
    std::lock_guard lock(mutex_);
    auto a = alloc_.allocate(bytes, what);
    if (!a.ok()) return a.error();
    return reinterpret_cast<void*>(*a);
}

Result<PoolBuffer> DevicePool::allocateBuffer(uint64_t bytes, std::string_view what) {
    auto p = allocate(bytes, what);
    if (!p.ok()) return p.error();
    return PoolBuffer(*this, *p);
}

Status DevicePool::release(void* p) {
    std::lock_guard lock(mutex_);
    return alloc_.release(reinterpret_cast<uintptr_t>(p));
}

void DevicePool::reset() {
    std::lock_guard lock(mutex_);
    alloc_.reset();
}

uint64_t DevicePool::capacity() const {
    std::lock_guard lock(mutex_);
    return alloc_.capacity();
}
uint64_t DevicePool::usedBytes() const {
    std::lock_guard lock(mutex_);
    return alloc_.usedBytes();
}
uint64_t DevicePool::freeBytes() const {
    std::lock_guard lock(mutex_);
    return alloc_.freeBytes();
}
uint64_t DevicePool::peakBytes() const {
    std::lock_guard lock(mutex_);
    return alloc_.peakBytes();
}
uint64_t DevicePool::largestFreeBlock() const {
    std::lock_guard lock(mutex_);
    return alloc_.largestFreeBlock();
}
size_t DevicePool::allocationCount() const {
    std::lock_guard lock(mutex_);
    return alloc_.allocationCount();
}
void DevicePool::resetPeak() {
    std::lock_guard lock(mutex_);
    alloc_.resetPeak();
}

}  // namespace strata
