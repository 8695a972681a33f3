#include "core/ModelLocations.h"

#include <cstdlib>

namespace strata {

namespace {

// $<overrideVariable>, else $XDG_DATA_HOME/strata/<leaf>, else ~/.local/share/strata/<leaf>.
std::filesystem::path strataDataDir(const char* overrideVariable, const char* leaf) {
    if (const char* dir = std::getenv(overrideVariable); dir && *dir) return dir;
    if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data)
        return std::filesystem::path(data) / "strata" / leaf;
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : ".") / ".local" / "share" / "strata" / leaf;
}

}  // namespace

std::filesystem::path modelsDir() { return strataDataDir("STRATA_MODELS_DIR", "models"); }

std::filesystem::path sessionsDir() { return strataDataDir("STRATA_SESSIONS_DIR", "sessions"); }

std::filesystem::path defaultModelPath() { return modelsDir() / "gemma-3-270m-q4_k_m.gguf"; }

}  // namespace strata
