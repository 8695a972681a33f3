#pragma once
// cuBLAS, loaded with dlopen on first use. cuBLAS and cuBLASLt map over 600 MB, and linking them
// made every strata-cli run pay ~170 MB of resident memory for relocations, GPU or not; loaded
// on demand, CPU runs never touch them.
#include <cublas_v2.h>

#include <string>

#include "core/Result.h"

namespace strata {

struct CublasApi {
    decltype(&cublasCreate_v2) create = nullptr;
    decltype(&cublasDestroy_v2) destroy = nullptr;
    decltype(&cublasSetStream_v2) setStream = nullptr;
    decltype(&cublasSetWorkspace_v2) setWorkspace = nullptr;
    decltype(&cublasSgemm_v2) sgemm = nullptr;
    // Spelled out: C++ sees an overload set for cublasGemmEx.
    cublasStatus_t (*gemmEx)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                             const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                             cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
    decltype(&cublasGetStatusName) statusName = nullptr;
    decltype(&cublasGetStatusString) statusString = nullptr;
    // Where the library was loaded from and its version ("13.1.0"), for `strata-cli devices`.
    std::string path;
    std::string version;
};

// The library of the major version Strata was built against; an error naming it when absent.
Result<const CublasApi*> cublasApi();

}  // namespace strata
