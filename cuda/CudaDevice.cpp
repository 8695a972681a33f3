#include "CudaDevice.h"

namespace strata {

Status cudaStatus(cudaError_t err, std::string_view what) {
    if (err == cudaSuccess) return Status::success();
    (void)cudaGetLastError();
    std::string message(what);
    message += ": ";
    message += cudaGetErrorName(err);
    message += ": ";
    message += cudaGetErrorString(err);
    return internalError(std::move(message));
}

bool cudaDeviceAvailable(std::string* reason) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        if (reason) *reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
        return false;
    }
    if (count == 0) {
        if (reason) *reason = "the CUDA runtime reports no devices";
        return false;
    }
    if (reason) reason->clear();
    return true;
}

Result<CudaDeviceInfo> cudaDeviceInfo(int index) {
    cudaDeviceProp prop{};
    STRATA_TRY(cudaStatus(cudaGetDeviceProperties(&prop, index),
                          "cudaGetDeviceProperties(device " + std::to_string(index) + ")"));
    CudaDeviceInfo info;
    info.index = index;
    info.name = prop.name;
    info.computeMajor = prop.major;
    info.computeMinor = prop.minor;
    info.totalMemoryBytes = int64_t(prop.totalGlobalMem);
    info.multiprocessors = prop.multiProcessorCount;
    return info;
}

int cudaDeviceCount() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count;
}

Result<int64_t> cudaDeviceFreeBytes(int index) {
    STRATA_TRY(cudaStatus(cudaSetDevice(index), "cudaSetDevice(" + std::to_string(index) + ")"));
    size_t freeBytes = 0, totalBytes = 0;
    STRATA_CUDA_TRY(cudaMemGetInfo(&freeBytes, &totalBytes));
    return int64_t(freeBytes);
}

CudaVersions cudaVersions() {
    CudaVersions v;
    if (cudaRuntimeGetVersion(&v.runtime) != cudaSuccess) v.runtime = 0;
    if (cudaDriverGetVersion(&v.driver) != cudaSuccess) v.driver = 0;
    (void)cudaGetLastError();
    return v;
}

std::string cudaVersionText(int version) {
    return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

}  // namespace strata
