#include "core/AtomicFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace strata {

namespace {

Error writeError(const std::string& what, const std::filesystem::path& path, int err) {
    std::string message = what + " " + path.string() + ": " + std::strerror(err);
    if (err == ENOSPC || err == EDQUOT) return diskFull(std::move(message));
    return internalError(std::move(message));
}

// Closes the descriptor and removes the temporary file unless the write was committed.
class TempFile {
public:
    explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd_ = -1;
    bool committed_ = false;
    const std::filesystem::path path_;
};

}  // namespace

Status writeFileAtomically(const std::filesystem::path& path, std::string_view bytes) {
    // The temporary name is unique per process so two writers of the same target do not clobber
    // each other's half-written file; the last rename wins.
    std::filesystem::path tempPath = path;
    tempPath += ".tmp-" + std::to_string(::getpid());

    int fd = ::open(tempPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return writeError("cannot create", tempPath, errno);
    TempFile temp(tempPath);
    temp.fd_ = fd;

    const char* data = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
        ssize_t wrote = ::write(fd, data, left);
        if (wrote < 0) {
            if (errno == EINTR) continue;
            return writeError("cannot write", tempPath, errno);
        }
        data += wrote;
        left -= size_t(wrote);
    }
    // Without the fsync a crash after the rename can leave an empty target on some file systems.
    if (::fsync(fd) != 0) return writeError("cannot flush", tempPath, errno);
    const int closed = ::close(fd);
    temp.fd_ = -1;
    if (closed != 0) return writeError("cannot close", tempPath, errno);
    if (::rename(tempPath.c_str(), path.c_str()) != 0)
        return writeError("cannot replace", path, errno);
    temp.committed_ = true;

    // Make the rename itself durable; failing to open the directory is not worth failing the write.
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    if (int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
    return Status::success();
}

}  // namespace strata
