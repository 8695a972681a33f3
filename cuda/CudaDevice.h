#pragma once
// Device discovery and CUDA error handling for the CUDA backend. Every call here is safe on a
// machine without a GPU or without a driver: failures come back as values, never as crashes.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/Result.h"

namespace strata {

struct CudaDeviceInfo {
    int index = 0;
    std::string name;
    int computeMajor = 0;
    int computeMinor = 0;
    int64_t totalMemoryBytes = 0;
    int multiprocessors = 0;
};

// True when the runtime finds at least one usable device. Otherwise false, and *reason (when not
// null) says why, with the runtime's own error text (no driver, no device, driver too old...).
bool cudaDeviceAvailable(std::string* reason = nullptr);

// Properties of device `index`, or an error naming the device and the runtime's complaint.
Result<CudaDeviceInfo> cudaDeviceInfo(int index = 0);

// Devices the runtime sees (0 where it sees none or has no driver).
int cudaDeviceCount();
// Device memory not yet taken by anyone on device `index` (other processes included).
Result<int64_t> cudaDeviceFreeBytes(int index);

// The CUDA version this build's runtime is (as 13000 for 13.0), and the newest the installed
// driver supports (0 when there is no driver).
struct CudaVersions {
    int runtime = 0;
    int driver = 0;
};
CudaVersions cudaVersions();
// "13.0" for 13000.
std::string cudaVersionText(int version);

// Ok for cudaSuccess; otherwise an internal error "<what>: <cudaErrorName>: <description>".
// Also clears the runtime's sticky last-error slot so the next check does not report it again.
Status cudaStatus(cudaError_t err, std::string_view what);

}  // namespace strata

// Return the failure of a CUDA runtime call as a Status naming the call.
#define STRATA_CUDA_TRY(call) STRATA_TRY(::strata::cudaStatus((call), #call))
