#include "CudaGemm.h"

#include <algorithm>
#include <limits>
#include <string>

#include "CudaDevice.h"
#include "DevicePool.h"
#include "backend/Ops.h"
#include "format/Mxfp4.h"

namespace strata {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

uint64_t recommendedWorkspace(int device) {
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
        (void)cudaGetLastError();
        major = 0;
    }
    return major >= 9 ? (uint64_t(32) << 20) : (uint64_t(4) << 20);
}

}  // namespace

Status cublasStatus(cublasStatus_t status, std::string_view what) {
    if (status == CUBLAS_STATUS_SUCCESS) return Status::success();
    std::string m(what);
    m += ": ";
    // Only reached after cuBLAS was loaded (every handle comes from it).
    const CublasApi* api = cublasApi().value();
    m += api->statusName(status);
    m += ": ";
    m += api->statusString(status);
    return internalError(std::move(m));
}

Result<std::unique_ptr<CudaGemm>> CudaGemm::create(DevicePool& pool, cudaStream_t stream, uint64_t workspaceBytes) {
    STRATA_TRY(cudaStatus(cudaSetDevice(pool.device()), "cudaSetDevice(" + std::to_string(pool.device()) + ")"));
    std::unique_ptr<CudaGemm> g(new CudaGemm(pool, stream));
    STRATA_ASSIGN(g->api_, cublasApi());
    STRATA_TRY(cublasStatus(g->api_->create(&g->handle_), "cublasCreate"));
    // cublasSetStream resets the handle to cuBLAS's own workspace pool, so the stream comes first.
    STRATA_TRY(cublasStatus(g->api_->setStream(g->handle_, stream), "cublasSetStream"));
    if (workspaceBytes == kAutoWorkspace) workspaceBytes = recommendedWorkspace(pool.device());
    if (workspaceBytes > 0) {
        STRATA_ASSIGN(g->workspace_, pool.allocate(workspaceBytes, "the cuBLAS workspace"));
        g->workspaceBytes_ = workspaceBytes;
        STRATA_TRY(cublasStatus(g->api_->setWorkspace(g->handle_, g->workspace_, size_t(workspaceBytes)),
                                "cublasSetWorkspace"));
    }
    return g;
}

CudaGemm::~CudaGemm() {
    if (handle_) (void)api_->destroy(handle_);  // synchronises the device, so the blocks below are idle
    if (workspace_) (void)pool_.release(workspace_);
    if (scratch_) (void)pool_.release(scratch_);
    if (weightScratch_) (void)pool_.release(weightScratch_);
}

Status CudaGemm::grow(void*& block, uint64_t& elements, uint64_t wanted, const char* what) {
    if (wanted <= elements) return Status::success();
    if (block) {
        STRATA_TRY(cudaStatus(cudaStreamSynchronize(stream_), "cudaStreamSynchronize before growing GEMM scratch"));
        STRATA_TRY(pool_.release(block));
        block = nullptr;
        elements = 0;
    }
    STRATA_ASSIGN(block, pool_.allocate(wanted * sizeof(uint16_t), what));
    elements = wanted;
    return Status::success();
}

Status CudaGemm::reserveScratch(uint64_t elements) {
    return grow(scratch_, scratchElements_, elements, "activations converted for a matrix product");
}

Status CudaGemm::reserveWeightScratch(uint64_t elements) {
    return grow(weightScratch_, weightScratchElements_, elements, "MXFP4 weights widened for a matrix product");
}

Status CudaGemm::matmul(const float* dX, int64_t n, const WeightRef& w, float* dY) {
    if (n < 0 || n > kIntMax) return badInput("cudaMatmul: token count " + std::to_string(n) + " is out of range");
    if (w.rows <= 0 || w.cols <= 0 || w.rows > kIntMax || w.cols > kIntMax)
        return badInput("cudaMatmul: weight shape [" + std::to_string(w.rows) + ", " + std::to_string(w.cols) +
                        "] is out of range");
    if (n == 0) return Status::success();
    if (!dX || !w.data || !dY) return badInput("cudaMatmul: null input, weight or output pointer");

    if (w.dtype == DType::MXFP4) return matmulMxfp4(dX, n, w, dY);

    const int m = int(w.rows), k = int(w.cols), cols = int(n);
    const float alpha = 1.0f, beta = 0.0f;
    // Column-major view: row-major W[rows, cols] is W'[cols, rows] with ld = cols, so op(A) = T
    // gives [rows, cols]; x[n, cols] is x'[cols, n]; y' = [rows, n] with ld = rows is y[n, rows].
    // An input-major W, row-major [cols, rows], is already [rows, cols] column-major with
    // ld = rows: op(A) = N.
    const cublasOperation_t opW = w.inputMajor ? CUBLAS_OP_N : CUBLAS_OP_T;
    const int ldw = w.inputMajor ? m : k;
    if (w.dtype == DType::F32) {
        return cublasStatus(api_->sgemm(handle_, opW, CUBLAS_OP_N, m, cols, k, &alpha,
                                        static_cast<const float*>(w.data), ldw, dX, k, &beta, dY, m),
                            "cublasSgemm");
    }

    cudaDataType_t type;
    switch (w.dtype) {
    case DType::BF16: type = CUDA_R_16BF; break;
    case DType::F16: type = CUDA_R_16F; break;
    default: return badInput("cudaMatmul: unsupported weight type " + std::string(dtypeName(w.dtype)));
    }
    STRATA_TRY(reserveScratch(uint64_t(n) * uint64_t(k)));
    STRATA_TRY(cudaConvertFromF32(dX, n * int64_t(k), w.dtype, scratch_, stream_));
    // Tensor cores need 16-byte aligned rows: cols a multiple of 8. Other widths still work;
    // cuBLAS picks a slower kernel for them.
    return cublasStatus(api_->gemmEx(handle_, opW, CUBLAS_OP_N, m, cols, k, &alpha, w.data, type, ldw, scratch_,
                                     type, k, &beta, dY, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                        "cublasGemmEx(" + std::string(dtypeName(w.dtype)) + (w.inputMajor ? " input-major" : "") +
                            " weight [" + std::to_string(m) + ", " + std::to_string(k) + "], n = " +
                            std::to_string(n) + ")");
}

Status CudaGemm::matmulMxfp4(const float* dX, int64_t n, const WeightRef& w, float* dY) {
    if (w.inputMajor) return badInput("cudaMatmul: an MXFP4 weight cannot be input-major");
    if (w.cols % kMxfp4BlockElements != 0)
        return badInput("cudaMatmul: MXFP4 weight [" + std::to_string(w.rows) + ", " + std::to_string(w.cols) +
                        "] has columns that are not a multiple of 32");
    if (!w.scales) return badInput("cudaMatmul: MXFP4 weight without its scales");
    if (n <= kMxfp4GemvMaxTokens) return cudaMxfp4Gemv(dX, n, w.data, w.scales, w.rows, w.cols, dY, stream_);

    const int m = int(w.rows), k = int(w.cols);
    const int64_t groups = w.cols / kMxfp4BlockElements;
    const int64_t chunkRows = std::clamp<int64_t>(int64_t(kMxfp4ChunkBytes / (uint64_t(k) * 2)), 1, w.rows);
    STRATA_TRY(reserveWeightScratch(uint64_t(chunkRows) * uint64_t(k)));
    STRATA_TRY(reserveScratch(uint64_t(n) * uint64_t(k)));
    STRATA_TRY(cudaConvertFromF32(dX, n * int64_t(k), DType::BF16, scratch_, stream_));
    const float alpha = 1.0f, beta = 0.0f;
    const auto* blocks = static_cast<const uint8_t*>(w.data);
    for (int64_t r0 = 0; r0 < w.rows; r0 += chunkRows) {
        const int64_t rows = std::min(chunkRows, w.rows - r0);
        // Stream order keeps the widening of a chunk behind the product that reads the one before.
        STRATA_TRY(cudaMxfp4ToBf16(blocks + r0 * groups * 16, w.scales + r0 * groups, rows * groups, weightScratch_,
                                   stream_));
        // Rows [r0, r0 + rows) of y' = [rows, n] with ld = m.
        STRATA_TRY(cublasStatus(api_->gemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, int(rows), int(n), k, &alpha,
                                             weightScratch_, CUDA_R_16BF, k, scratch_, CUDA_R_16BF, k, &beta, dY + r0,
                                             CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                                "cublasGemmEx(MXFP4 weight [" + std::to_string(m) + ", " + std::to_string(k) +
                                    "] widened to bf16, rows from " + std::to_string(r0) +
                                    ", n = " + std::to_string(n) + ")"));
    }
    return Status::success();
}

}  // namespace strata
