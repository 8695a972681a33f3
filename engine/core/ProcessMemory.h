#pragma once
#include <cstdint>

namespace strata {

// This process's resident set now and at its peak (VmRSS and VmHWM of /proc/self/status), in
// bytes; 0 where the system does not say.
uint64_t currentResidentBytes();
uint64_t peakResidentBytes();

}  // namespace strata
