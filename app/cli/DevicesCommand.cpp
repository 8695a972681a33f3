// strata-cli devices: the CUDA devices this build can run on, the runtime and driver versions, and
// where cuBLAS was found. It fails, with the reason, when no device is usable, so that a script
// (tests/gpu/run-checks.sh) can ask whether the GPU steps can run.
#include <cstdio>

#include "CommandSpec.h"
#include "Commands.h"
#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"
#ifdef STRATA_HAVE_CUDA
#include "CublasLibrary.h"
#include "CudaDevice.h"
#endif

namespace strata::cli {

Status devicesCommand(const std::vector<std::string>& argv) {
    STRATA_TRY(parseCommand("devices", argv));
#ifdef STRATA_HAVE_CUDA
    const CudaVersions versions = cudaVersions();
    std::printf("CUDA runtime   %s (built in); driver %s\n", cudaVersionText(versions.runtime).c_str(),
                versions.driver ? ("supports CUDA " + cudaVersionText(versions.driver)).c_str() : "none found");
    std::string reason;
    if (!cudaDeviceAvailable(&reason)) return internalError("no usable CUDA device: " + reason);
    for (int i = 0, n = cudaDeviceCount(); i < n; ++i) {
        auto info = cudaDeviceInfo(i);
        STRATA_TRY(info);
        auto freeBytes = cudaDeviceFreeBytes(i);
        STRATA_TRY(freeBytes);
        std::printf("device %-7d %s, compute %d.%d, %d SMs, %s, %s free\n", i, info->name.c_str(), info->computeMajor,
                    info->computeMinor, info->multiprocessors, formatBytes(uint64_t(info->totalMemoryBytes)).c_str(),
                    formatBytes(uint64_t(freeBytes.value())).c_str());
    }
    auto cublas = cublasApi();
    STRATA_TRY(cublas);
    std::printf("cuBLAS         %s from %s\n", cublas.value()->version.empty() ? "?" : cublas.value()->version.c_str(),
                cublas.value()->path.c_str());
    return {};
#else
    return internalError("this build of Strata has no CUDA backend (nvcc was not found when it was built)");
#endif
}

}  // namespace strata::cli
