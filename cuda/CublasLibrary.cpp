#include "CublasLibrary.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace strata {

namespace {

template <typename F>
bool bind(void* library, const char* name, F& out) {
    out = reinterpret_cast<F>(dlsym(library, name));
    return out != nullptr;
}

}  // namespace

Result<const CublasApi*> cublasApi() {
    static std::once_flag once;
    static CublasApi api;
    static std::string error;
    std::call_once(once, [] {
        const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
        void* library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            error = "cannot load " + name + " (cuBLAS " + std::to_string(CUBLAS_VER_MAJOR) +
                    ", part of the CUDA toolkit); add its folder to LD_LIBRARY_PATH: " + dlerror();
            return;
        }
        const bool ok = bind(library, "cublasCreate_v2", api.create) && bind(library, "cublasDestroy_v2", api.destroy) &&
                        bind(library, "cublasSetStream_v2", api.setStream) &&
                        bind(library, "cublasSetWorkspace_v2", api.setWorkspace) &&
                        bind(library, "cublasSgemm_v2", api.sgemm) && bind(library, "cublasGemmEx", api.gemmEx) &&
                        bind(library, "cublasGetStatusName", api.statusName) &&
                        bind(library, "cublasGetStatusString", api.statusString);
        if (!ok) error = name + " lacks a function Strata uses: " + dlerror();
    });
    if (!error.empty()) return internalError(error);
    return &api;
}

}  // namespace strata
