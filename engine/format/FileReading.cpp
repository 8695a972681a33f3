#include "format/FileReading.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace strata {

Result<OpenFile> openRegularFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return badInput("cannot open " + path.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return badInput(path.string() + " is not a regular file");
    }
    return OpenFile{fd, uint64_t(st.st_size)};
}

int64_t preadFully(int fd, void* dst, uint64_t n, uint64_t offset) {
    char* p = static_cast<char*>(dst);
    uint64_t done = 0;
    while (done < n) {
        const size_t chunk = size_t(std::min<uint64_t>(n - done, 1ull << 30));
        const ssize_t r = ::pread(fd, p + done, chunk, off_t(offset + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        done += uint64_t(r);
    }
    return int64_t(done);
}

Result<std::string> readWholeFile(const std::filesystem::path& path, uint64_t maxBytes) {
    auto file = openRegularFile(path);
    STRATA_TRY(file);
    const int fd = file.value().fd;
    if (file.value().size > maxBytes) {
        ::close(fd);
        return badInput(path.string() + " is " + std::to_string(file.value().size) + " bytes, more than the " +
                        std::to_string(maxBytes) + " expected");
    }
    std::string bytes(size_t(file.value().size), '\0');
    const int64_t got = preadFully(fd, bytes.data(), bytes.size(), 0);
    const int err = errno;
    ::close(fd);
    if (got < 0) return internalError("reading " + path.string() + ": " + std::strerror(err));
    bytes.resize(size_t(got));
    return bytes;
}

}  // namespace strata
