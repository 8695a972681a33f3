#pragma once
// Writes that a user would miss if a crash or a full disk cut them short: the bytes go to a
// temporary file beside the target, are flushed to the device, and only then replace the target
// by rename, so a reader sees either the old file or the whole new one.
#include <filesystem>
#include <string_view>

#include "core/Result.h"

namespace strata {

// On failure the target is left as it was and the temporary file is removed.
// ENOSPC / EDQUOT give diskFull(...); other failures internalError(...), naming the path.
Status writeFileAtomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace strata
