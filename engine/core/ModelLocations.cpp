#include "core/ModelLocations.h"

#include <cstdlib>

namespace strata {

std::filesystem::path modelsDir() {
    if (const char* dir = std::getenv("STRATA_MODELS_DIR"); dir && *dir) return dir;
    if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data)
        return std::filesystem::path(data) / "strata" / "models";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : ".") / ".local" / "share" / "strata" / "models";
}

std::filesystem::path defaultModelPath() { return modelsDir() / "gemma-3-270m-q4_k_m.gguf"; }

}  // namespace strata
