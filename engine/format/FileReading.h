#pragma once
// The file operations every reader of model and session files needs: opening a regular file
// read-only (with its size), pread until all bytes arrive, and reading a small file whole.
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/Result.h"

namespace strata {

struct OpenFile {
    int fd = -1;  // the caller closes it
    uint64_t size = 0;
};

// badInput naming the path when it cannot be opened or is not a regular file.
Result<OpenFile> openRegularFile(const std::filesystem::path& path);

// pread until n bytes arrive: short reads and EINTR are normal on large reads and network file
// systems. Returns the number of bytes read, less than n only at end of file, or -1 with errno set.
int64_t preadFully(int fd, void* dst, uint64_t n, uint64_t offset);

// The whole file as bytes; badInput naming the path when it is missing or larger than maxBytes
// (a stray huge file is not slurped), internalError on a read error.
Result<std::string> readWholeFile(const std::filesystem::path& path, uint64_t maxBytes);

}  // namespace strata
