#pragma once
// The matrix product of the CUDA backend: y[n, rows] (fp32) = x[n, cols] (fp32) * W^T, with W a
// device-resident weight [rows, cols], row-major, stored as BF16, F16 or F32, or input-major
// ([cols, rows], WeightRef::inputMajor: the other transpose flag, nothing else).
//
// Why x is converted: cuBLAS multiplies two 16-bit operands on tensor cores, but has no product
// of a 16-bit matrix with an fp32 one (neither cublasGemmEx nor cuBLASLt offers that pair). For
// BF16 and F16 weights, x is therefore rounded to W's type (round to nearest even, as torch
// casts) into pool scratch, and cublasGemmEx multiplies with fp32 accumulation
// (CUBLAS_COMPUTE_32F) and an fp32 output. That is exactly what bf16 / fp16 inference in torch
// does; widening W to fp32 instead would double the weight bytes read, and decode is bound by
// those bytes. F32 weights use cublasSgemm in plain fp32 (no TF32).
//
// Expected rounding, per output element, against the fp32 product of the same stored weights:
//   |y - y_fp32| <= u * sum_k |x_k| |w_k|  + fp32 accumulation error,
// with u = 2^-9 for BF16 (8 significant bits) and 2^-11 for F16 (11 bits), 0 for F32. For F16,
// |x| below 2^-14 becomes subnormal (absolute error up to 2^-25) and |x| >= 65520 becomes
// infinity, as in fp16 inference. The tests use these bounds plus 2 k 2^-24 for the two
// accumulations (device and reference) over k = cols terms.
//
// One CudaGemm per stream: it owns a cuBLAS handle bound to that stream, whose workspace, like
// the conversion scratch, comes from the DevicePool, so that no call allocates device memory.
// Not thread-safe: one thread issues the calls of a stream.
#include "CublasLibrary.h"
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/DType.h"
#include "core/Result.h"

namespace strata {

class DevicePool;
struct WeightRef;

// Ok for CUBLAS_STATUS_SUCCESS, else an internal error "<what>: CUBLAS_STATUS_...: <description>".
Status cublasStatus(cublasStatus_t status, std::string_view what);

// dDst[i] = dSrc[i] rounded to nearest even as `to` (BF16 or F16), asynchronously on `stream`.
// BF16 rounding matches floatToBf16 in core/DType.h bit for bit, NaN included.
Status cudaConvertFromF32(const float* dSrc, int64_t count, DType to, void* dDst, cudaStream_t stream);

class CudaGemm {
public:
    // cuBLAS recommends a 32 MiB workspace on Hopper and 4 MiB on earlier GPUs.
    static constexpr uint64_t kAutoWorkspace = UINT64_MAX;

    // Creates the cuBLAS handle on the pool's device, binds it to `stream` (null: the legacy
    // default stream) and gives it `workspaceBytes` from the pool. 0 leaves the workspace to
    // cuBLAS's own management, outside the budget: for tests and tiny pools only.
    static Result<std::unique_ptr<CudaGemm>> create(DevicePool& pool, cudaStream_t stream,
                                                    uint64_t workspaceBytes = kAutoWorkspace);
    ~CudaGemm();
    CudaGemm(const CudaGemm&) = delete;
    CudaGemm& operator=(const CudaGemm&) = delete;

    // dY[n, w.rows] = dX[n, w.cols] * W^T, asynchronously on the stream. w.data is device memory;
    // dY must not overlap dX or W. n == 0 does nothing. For BF16 / F16 weights the scratch for
    // the converted x grows to n * cols elements on first need (see reserveScratch).
    Status matmul(const float* dX, int64_t n, const WeightRef& w, float* dY);

    // Takes scratch for `elements` 16-bit activations now, so that later products up to that size
    // never touch the pool. Growing synchronises the stream once: the old block may still be read
    // by queued work when it goes back to the pool, where another stream could take it.
    Status reserveScratch(uint64_t elements);

    cudaStream_t stream() const { return stream_; }
    cublasHandle_t handle() const { return handle_; }
    uint64_t workspaceBytes() const { return workspaceBytes_; }
    uint64_t scratchElements() const { return scratchElements_; }

private:
    CudaGemm(DevicePool& pool, cudaStream_t stream) : pool_(pool), stream_(stream) {}

    DevicePool& pool_;
    cudaStream_t stream_ = nullptr;
    const CublasApi* api_ = nullptr;
    cublasHandle_t handle_ = nullptr;
    void* workspace_ = nullptr;
    uint64_t workspaceBytes_ = 0;
    void* scratch_ = nullptr;
    uint64_t scratchElements_ = 0;
};

}  // namespace strata
