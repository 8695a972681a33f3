#pragma once
// Writes one .safetensors file tensor by tensor, so a model larger than RAM can be written: the
// header first (names, dtypes, shapes, offsets), then each tensor's bytes as `fill` produces them.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/DType.h"
#include "core/Result.h"

namespace strata {

struct SafetensorsEntry {
    std::string name;
    DType dtype = DType::BF16;
    std::vector<int64_t> shape;
    uint64_t nbytes() const;
};

// fill(i, bytes) must leave exactly entries[i].nbytes() bytes in `bytes`. A failed write (a full
// disk, say) returns an error naming the file; the caller removes what was written.
Status writeSafetensors(const std::filesystem::path& path, const std::vector<SafetensorsEntry>& entries,
                        const std::function<Status(size_t, std::vector<uint8_t>&)>& fill);

}  // namespace strata
