#pragma once
// Process-wide write faults for tests: a disk that fills up after a given number of bytes. Writers
// of saved state (KV block files) ask admitWrite() before each write, so a test, or a child
// process started with STRATA_FAULT_ENOSPC_AFTER_BYTES=N, sees ENOSPC at a chosen point. When no
// fault is armed the check is one relaxed atomic load.
#include <cstddef>
#include <cstdint>

namespace strata::faults {

// From now on, `bytes` more bytes may be written; the write that crosses that point is cut short
// and fails with errnoValue, and so does every write after it until clear().
void failWritesAfter(uint64_t bytes, int errnoValue);
void clear();

struct WriteAdmission {
    size_t bytes = 0;  // how many of the requested bytes the caller may really write
    int error = 0;     // when bytes < requested: the errno to report after writing those
};

// Called before a write of `bytes` bytes.
WriteAdmission admitWrite(size_t bytes);

}  // namespace strata::faults
