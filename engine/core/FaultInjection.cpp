#include "core/FaultInjection.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace strata::faults {

namespace {

std::atomic<bool> armed{false};
std::mutex mutex;
uint64_t budget = 0;  // guarded by mutex
int failErrno = 0;    // guarded by mutex

// Read once at start-up: a child process cannot be reached by failWritesAfter().
[[maybe_unused]] const bool fromEnvironment = [] {
    const char* text = std::getenv("STRATA_FAULT_ENOSPC_AFTER_BYTES");
    if (!text || !*text) return false;
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text, text + std::strlen(text), n);
    if (ec != std::errc() || *end != '\0') return false;
    failWritesAfter(n, ENOSPC);
    return true;
}();

}  // namespace

void failWritesAfter(uint64_t bytes, int errnoValue) {
    std::lock_guard lock(mutex);
    budget = bytes;
    failErrno = errnoValue;
    armed.store(true, std::memory_order_relaxed);
}

void clear() {
    std::lock_guard lock(mutex);
    armed.store(false, std::memory_order_relaxed);
}

WriteAdmission admitWrite(size_t bytes) {
    if (!armed.load(std::memory_order_relaxed)) return {bytes, 0};
    std::lock_guard lock(mutex);
    if (!armed.load(std::memory_order_relaxed)) return {bytes, 0};
    const uint64_t granted = std::min<uint64_t>(bytes, budget);
    budget -= granted;
    return {size_t(granted), granted < bytes ? failErrno : 0};
}

}  // namespace strata::faults
