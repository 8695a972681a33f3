#include "CublasLibrary.h"

#include <dlfcn.h>
#include <link.h>

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
        if (!ok) {
            error = name + " lacks a function Strata uses: " + dlerror();
            return;
        }
        link_map* map = nullptr;
        api.path = dlinfo(library, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name ? map->l_name : name;
        decltype(&cublasGetProperty) property = nullptr;
        int major = 0, minor = 0, patch = 0;
        if (bind(library, "cublasGetProperty", property) && property(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
            property(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
            property(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
            api.version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    });
    if (!error.empty()) return internalError(error);
    return &api;
}

}  // namespace strata
