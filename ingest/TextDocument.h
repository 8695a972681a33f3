#pragma once
// Plain-text prompt files: read whole, checked to be UTF-8, a leading byte-order mark removed.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/Result.h"

namespace strata {

constexpr size_t kDefaultMaxTextFileBytes = size_t(256) << 20;

// The file's text without a UTF-8 byte-order mark. A missing or unreadable file, a file larger
// than maxBytes, or one that is not well-formed UTF-8 is a badInput error naming the file; for
// bad UTF-8 the message gives the line, column (in characters) and byte offset (in the file)
// of the first bad byte.
Result<std::string> readUtf8TextFile(const std::filesystem::path& file,
                                     size_t maxBytes = kDefaultMaxTextFileBytes);

// Whether text is well-formed UTF-8 (Unicode 15, table 3-7): no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequences. On failure *badOffset (when given) is the
// offset of the first byte of the first ill-formed sequence.
bool isValidUtf8(std::string_view text, size_t* badOffset = nullptr);

// Whether text is empty or only spaces, tabs and line ends.
bool isBlank(std::string_view text);

// Text taken from a page (a PDF text layer, OCR) in one plain form: line ends '\n', no trailing
// blanks, at most one empty line in a row, nothing blank at the ends.
std::string normalizePageText(std::string_view raw);

}  // namespace strata
