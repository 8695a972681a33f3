#pragma once
// Where Strata keeps installed models, following the XDG base directory rules:
// $STRATA_MODELS_DIR, else $XDG_DATA_HOME/strata/models, else ~/.local/share/strata/models.
// packaging/install-models.sh installs the default model there.
#include <filesystem>

namespace strata {

std::filesystem::path modelsDir();
// The model used when none is named: Gemma 3 270M (Q4_K_M GGUF).
std::filesystem::path defaultModelPath();
// Where saved sessions live (the SessionStore root), by the same rules:
// $STRATA_SESSIONS_DIR, else $XDG_DATA_HOME/strata/sessions, else ~/.local/share/strata/sessions.
std::filesystem::path sessionsDir();
inline constexpr const char* kDefaultModelInstaller = "packaging/install-models.sh";

}  // namespace strata
