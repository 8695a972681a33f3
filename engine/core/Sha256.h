#pragma once
// SHA-256 (FIPS 180-4) for attachment fingerprints: a saved session records the hash of every file
// it was given, so a reopened session can tell when a document changed on disk.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/Result.h"

namespace strata {

class Sha256 {
public:
    using Digest = std::array<uint8_t, 32>;

    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    // Pads, finishes and returns the digest; the object must not be updated afterwards.
    Digest finish();

    static std::string toHex(const Digest& digest);

private:
    void compressBlock(const uint8_t* block);

    std::array<uint32_t, 8> state_;
    std::array<uint8_t, 64> buffer_{};
    size_t buffered_ = 0;
    uint64_t totalBytes_ = 0;
};

// Lower-case hex digest of a byte string.
std::string sha256Hex(std::string_view bytes);

struct FileDigest {
    std::string sha256;  // lower-case hex
    uint64_t bytes = 0;
};

// Streams the file in large reads; badInput when it cannot be opened, internalError on a read failure.
Result<FileDigest> sha256OfFile(const std::filesystem::path& path);

}  // namespace strata
