#pragma once
// Byte counts as people write and read them: "1.50 GiB" in messages, "512MiB" or "2GiB" in
// settings and flags.
#include <cstdint>
#include <string>

#include "core/Result.h"

namespace strata {

std::string formatBytes(uint64_t bytes);
// The smallest round figure not below bytes ("437 MiB"), for "use at least" advice.
std::string formatBytesAtLeast(uint64_t bytes);
// "512MiB", "2GiB", "1.5G", "300000000": binary units (K/M/G/T, with or without "iB"/"B").
Result<uint64_t> parseByteSize(const std::string& text);

}  // namespace strata
