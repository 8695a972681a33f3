#include "CudaBench.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <memory>

#include "CublasLibrary.h"
#include "CudaDevice.h"
#include "CudaGemm.h"

namespace strata {

namespace {

struct DeviceMemory {
    void* p = nullptr;
    ~DeviceMemory() {
        if (p) cudaFree(p);
    }
};
struct PinnedMemory {
    void* p = nullptr;
    ~PinnedMemory() {
        if (p) cudaFreeHost(p);
    }
};
struct Events {
    cudaEvent_t start = nullptr, stop = nullptr;
    ~Events() {
        if (start) cudaEventDestroy(start);
        if (stop) cudaEventDestroy(stop);
    }
};

// Best seconds of `reps` runs of `work` (after one warm-up), timed with events on the null stream.
template <typename Work>
Result<double> bestSeconds(int reps, Work work) {
    Events e;
    STRATA_CUDA_TRY(cudaEventCreate(&e.start));
    STRATA_CUDA_TRY(cudaEventCreate(&e.stop));
    STRATA_TRY(work());
    STRATA_CUDA_TRY(cudaDeviceSynchronize());
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        STRATA_CUDA_TRY(cudaEventRecord(e.start));
        STRATA_TRY(work());
        STRATA_CUDA_TRY(cudaEventRecord(e.stop));
        STRATA_CUDA_TRY(cudaEventSynchronize(e.stop));
        float ms = 0;
        STRATA_CUDA_TRY(cudaEventElapsedTime(&ms, e.start, e.stop));
        best = std::min(best, double(ms) / 1000.0);
    }
    return best;
}

}  // namespace

Result<double> rawPinnedToDeviceGBps(int device) {
    STRATA_CUDA_TRY(cudaSetDevice(device));
    const size_t bytes = size_t(256) << 20;
    PinnedMemory host;
    DeviceMemory dev;
    STRATA_CUDA_TRY(cudaHostAlloc(&host.p, bytes, cudaHostAllocDefault));
    STRATA_CUDA_TRY(cudaMalloc(&dev.p, bytes));
    auto s = bestSeconds(10, [&]() -> Status {
        return cudaStatus(cudaMemcpyAsync(dev.p, host.p, bytes, cudaMemcpyHostToDevice), "pinned copy");
    });
    STRATA_TRY(s);
    return double(bytes) / s.value() / 1e9;
}

Result<double> rawDeviceMemoryGBps(int device) {
    STRATA_CUDA_TRY(cudaSetDevice(device));
    const size_t bytes = size_t(1) << 30;
    DeviceMemory a, b;
    STRATA_CUDA_TRY(cudaMalloc(&a.p, bytes));
    STRATA_CUDA_TRY(cudaMalloc(&b.p, bytes));
    STRATA_CUDA_TRY(cudaMemset(a.p, 1, bytes));
    auto s = bestSeconds(10, [&]() -> Status {
        return cudaStatus(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice), "device copy");
    });
    STRATA_TRY(s);
    return 2.0 * double(bytes) / s.value() / 1e9;
}

Result<double> rawBf16GemmTflops(int64_t m, int64_t k, int64_t n, int device) {
    STRATA_CUDA_TRY(cudaSetDevice(device));
    DeviceMemory x, w, y, workspace;
    STRATA_CUDA_TRY(cudaMalloc(&x.p, size_t(m * k) * 2));
    STRATA_CUDA_TRY(cudaMalloc(&w.p, size_t(n * k) * 2));
    STRATA_CUDA_TRY(cudaMalloc(&y.p, size_t(m * n) * 4));
    STRATA_CUDA_TRY(cudaMemset(x.p, 0, size_t(m * k) * 2));
    STRATA_CUDA_TRY(cudaMemset(w.p, 0, size_t(n * k) * 2));
    const size_t workspaceBytes = size_t(32) << 20;
    STRATA_CUDA_TRY(cudaMalloc(&workspace.p, workspaceBytes));
    const CublasApi* api = nullptr;
    STRATA_ASSIGN(api, cublasApi());
    cublasHandle_t handle = nullptr;
    STRATA_TRY(cublasStatus(api->create(&handle), "cublasCreate"));
    std::unique_ptr<cublasContext, decltype(api->destroy)> owner(handle, api->destroy);
    STRATA_TRY(cublasStatus(api->setWorkspace(handle, workspace.p, workspaceBytes), "cublasSetWorkspace"));
    const float one = 1.0f, zero = 0.0f;
    // Row-major y[m, n] = x[m, k] * w[n, k]^T is column-major y^T = w * x^T, as CudaGemm does it.
    auto s = bestSeconds(10, [&]() -> Status {
        return cublasStatus(api->gemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(n), int(m), int(k), &one, w.p,
                                         CUDA_R_16BF, int(k), x.p, CUDA_R_16BF, int(k), &zero, y.p, CUDA_R_32F, int(n),
                                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                            "cublasGemmEx bf16");
    });
    STRATA_TRY(s);
    return 2.0 * double(m) * double(k) * double(n) / s.value() / 1e12;
}

Result<uint64_t> deviceMemoryInUse(int device) {
    STRATA_CUDA_TRY(cudaSetDevice(device));
    size_t freeBytes = 0, totalBytes = 0;
    STRATA_CUDA_TRY(cudaMemGetInfo(&freeBytes, &totalBytes));
    return uint64_t(totalBytes - freeBytes);
}

}  // namespace strata
