#pragma once
// The JSON header at the start of a .safetensors file: 8-byte little-endian length, then that
// many bytes of JSON mapping tensor names to dtype, shape and data_offsets (relative to the
// data section that follows the header). Parsing is separate from file I/O so that it can be
// tested on arbitrary bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"
#include "format/Checkpoint.h"

namespace strata {

// The safetensors reference implementation refuses headers above 100 MB; so do we, which also
// bounds what a lying length field can make us allocate.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull * 1000 * 1000;

// Decodes the 8-byte length prefix and checks it against the file size.
// Returns the header length in bytes.
Result<uint64_t> parseSafetensorsHeaderLength(const unsigned char prefix[8], uint64_t fileSize,
                                              const std::string& fileName);

// Parses and validates the header JSON of a file of fileSize bytes whose header is
// headerJson.size() bytes long. The returned tensors have absolute file offsets and
// fileIndex set to the given value. Every error is badInput naming fileName and the tensor.
Result<std::vector<TensorInfo>> parseSafetensorsHeader(std::string_view headerJson, uint64_t fileSize,
                                                       int fileIndex, const std::string& fileName);

}  // namespace strata
