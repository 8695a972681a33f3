#pragma once
// The matrix product of the CUDA backend: y[n, rows] (fp32) = x[n, cols] (fp32) * W^T, with W a
// device-resident weight [rows, cols], row-major, stored as BF16, F16 or F32, or input-major
// ([cols, rows], WeightRef::inputMajor: the other transpose flag, nothing else), or MXFP4.
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
// MXFP4 weights (experts; packed bytes and scale bytes, see kernels/mxfp4.cu):
//  - n <= kMxfp4GemvMaxTokens (decode): a GEMV kernel reads the packed bytes and the scales
//    directly, dequantises each weight exactly in registers and multiplies it with fp32 x in fp32.
//    Against the CPU's fp32 product of the same (exactly dequantised) weights only the order of
//    the fp32 accumulation differs, each side within about k 2^-24 sum_k |x_k| |w_k|.
//  - larger n: the weight is widened to bf16 in row chunks of at most
//    kMxfp4ChunkBytes in pool scratch, and each chunk goes through cublasGemmEx as a BF16 weight,
//    x rounded to bf16 as for any BF16 weight (u = 2^-9 above). What it costs: the widening reads
//    4.25 bits and writes 16 bits a weight and cuBLAS reads the 16 back, about 8 times the weight
//    traffic of the packed read, plus up to kMxfp4ChunkBytes of pool scratch, and x loses its low
//    bits to bf16. For prefill, where the product is compute-bound, that traffic is small next to
//    the tensor-core time; a kernel that widens tiles in shared memory would remove it.
//    The widening itself loses nothing, at any scale byte: an MXFP4 value needs two significant
//    bits and an exponent from 2^-128 to 2^130, and bf16 has 8 bits and fp32's exponent range, so
//    it holds every value the CPU's fp32 dequantisation gives, infinities (scale bytes 254 and
//    255) and the subnormals of scale byte 0 included. float16 would not: its range stops at
//    65504 and its subnormals at 2^-24, so scale bytes outside 104..140 would round or
//    overflow.
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

// The MXFP4 product's kernels (kernels/mxfp4.cu). dBlocks: rows x cols/32 groups of 16 bytes,
// dScales: one byte per group, both device memory at any byte alignment (16-byte aligned ones
// take vector loads).
constexpr int64_t kMxfp4GemvMaxTokens = 8;
// dY[n, rows] = dX[n, cols] * W^T for 0 <= n <= kMxfp4GemvMaxTokens; cols a multiple of 32.
Status cudaMxfp4Gemv(const float* dX, int64_t n, const void* dBlocks, const uint8_t* dScales, int64_t rows,
                     int64_t cols, float* dY, cudaStream_t stream);
// dDst[32 * groups] (bf16 bits, 16-byte aligned) = the values of `groups` consecutive groups,
// exactly (the same values as dequantizeMxfp4Groups in format/Mxfp4.h).
Status cudaMxfp4ToBf16(const void* dBlocks, const uint8_t* dScales, int64_t groups, void* dDst, cudaStream_t stream);

class CudaGemm {
public:
    // cuBLAS recommends a 32 MiB workspace on Hopper and 4 MiB on earlier GPUs.
    static constexpr uint64_t kAutoWorkspace = UINT64_MAX;
    // The most bf16 bytes of an MXFP4 weight widened at once for the cuBLAS path: a [5760, 2880]
    // expert matrix goes in two chunks.
    static constexpr uint64_t kMxfp4ChunkBytes = uint64_t(16) << 20;

    // Creates the cuBLAS handle on the pool's device, binds it to `stream` (null: the legacy
    // default stream) and gives it `workspaceBytes` from the pool. 0 leaves the workspace to
    // cuBLAS's own management, outside the budget: for tests and tiny pools only.
    static Result<std::unique_ptr<CudaGemm>> create(DevicePool& pool, cudaStream_t stream,
                                                    uint64_t workspaceBytes = kAutoWorkspace);
    ~CudaGemm();
    CudaGemm(const CudaGemm&) = delete;
    CudaGemm& operator=(const CudaGemm&) = delete;

    // dY[n, w.rows] = dX[n, w.cols] * W^T, asynchronously on the stream. w.data (and an MXFP4
    // weight's scales) is device memory; dY must not overlap dX or W. n == 0 does nothing. For
    // BF16 / F16 weights, and MXFP4 ones past the GEMV, the scratch for the converted x grows to
    // n * cols elements on first need (see reserveScratch); MXFP4 past the GEMV also widens its
    // rows into scratch of up to kMxfp4ChunkBytes (see reserveWeightScratch).
    Status matmul(const float* dX, int64_t n, const WeightRef& w, float* dY);

    // Takes scratch for `elements` 16-bit activations now, so that later products up to that size
    // never touch the pool. Growing synchronises the stream once: the old block may still be read
    // by queued work when it goes back to the pool, where another stream could take it.
    Status reserveScratch(uint64_t elements);
    // The same for the bf16 rows of MXFP4 weights widened for cuBLAS.
    Status reserveWeightScratch(uint64_t elements);

    cudaStream_t stream() const { return stream_; }
    cublasHandle_t handle() const { return handle_; }
    uint64_t workspaceBytes() const { return workspaceBytes_; }
    uint64_t scratchElements() const { return scratchElements_; }
    uint64_t weightScratchElements() const { return weightScratchElements_; }

private:
    CudaGemm(DevicePool& pool, cudaStream_t stream) : pool_(pool), stream_(stream) {}
    Status grow(void*& block, uint64_t& elements, uint64_t wanted, const char* what);
    Status matmulMxfp4(const float* dX, int64_t n, const WeightRef& w, float* dY);

    DevicePool& pool_;
    cudaStream_t stream_ = nullptr;
    const CublasApi* api_ = nullptr;
    cublasHandle_t handle_ = nullptr;
    void* workspace_ = nullptr;
    uint64_t workspaceBytes_ = 0;
    void* scratch_ = nullptr;
    uint64_t scratchElements_ = 0;
    void* weightScratch_ = nullptr;
    uint64_t weightScratchElements_ = 0;
};

}  // namespace strata
