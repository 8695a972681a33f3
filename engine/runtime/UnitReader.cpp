#include "runtime/UnitReader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace strata {

namespace {
// Large enough for full drive bandwidth per request, small enough to spread a unit over the threads.
constexpr uint64_t kPieceBytes = uint64_t(8) << 20;
}  // namespace

Result<std::unique_ptr<UnitReader>> UnitReader::open(const Checkpoint& checkpoint, const WeightLayout& layout,
                                                     int threads) {
    std::unique_ptr<UnitReader> r(new UnitReader(checkpoint, layout));
    for (const auto& path : checkpoint.files()) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
        if (fd < 0 && errno == EINVAL) {  // the file system does not do direct I/O
            r->direct_ = false;
            fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0) return internalError("cannot open " + path.string() + " for streaming: " + std::strerror(errno));
        r->fds_.push_back(fd);
    }
    for (int i = 0; i < std::max(1, threads); ++i) r->workers_.emplace_back([p = r.get()] { p->workerLoop(); });
    return r;
}

UnitReader::~UnitReader() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    for (std::thread& t : workers_) t.join();
    for (int fd : fds_) ::close(fd);
}

Status UnitReader::readPiece(const Piece& p) const {
    // Direct reads must stay aligned: a read that stops short of a block boundary has met the end
    // of the file, so stop there rather than retry at an unaligned offset.
    uint64_t done = 0;
    while (done < p.bytes) {
        const ssize_t got = ::pread(fds_[size_t(p.file)], p.dst + done, size_t(p.bytes - done), off_t(p.offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            return internalError("reading " + std::to_string(p.bytes) + " bytes at offset " + std::to_string(p.offset) +
                                 " of " + checkpoint_.files()[size_t(p.file)].string() + ": " + std::strerror(errno));
        done += uint64_t(got);
        if (got == 0 || done % UnitExtent::kAlignment != 0) break;
    }
    if (done < p.needed)
        return badInput("file " + checkpoint_.files()[size_t(p.file)].string() + " ended at byte " +
                        std::to_string(p.offset + done) + " while reading weights that run to byte " +
                        std::to_string(p.offset + p.needed) + ": was it truncated after it was opened?");
    return {};
}

void UnitReader::workerLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
        work_.wait(lock, [&] { return stopping_ || nextPiece_ < pieces_.size(); });
        if (stopping_) return;
        const Piece piece = pieces_[nextPiece_++];
        ++running_;
        lock.unlock();
        Status s = readPiece(piece);
        lock.lock();
        if (!s.ok() && error_.ok()) error_ = std::move(s);
        --running_;
        if (running_ == 0 && nextPiece_ == pieces_.size()) done_.notify_all();
    }
}

Status UnitReader::read(int unit, char* dst) { return read(layout_.units[size_t(unit)], dst); }

Status UnitReader::read(const WeightUnit& u, char* dst) {
    {
        std::unique_lock lock(mutex_);
        pieces_.clear();
        nextPiece_ = 0;
        error_ = Status();
        for (const UnitExtent& e : u.extents) {
            for (uint64_t at = 0; at < e.bytes; at += kPieceBytes) {
                const uint64_t bytes = std::min(kPieceBytes, e.bytes - at);
                const uint64_t needed = at < e.dataBytes ? std::min(bytes, e.dataBytes - at) : 0;
                pieces_.push_back({e.fileIndex, e.fileOffset + at, bytes, needed, dst + e.bufferOffset + at});
            }
        }
        work_.notify_all();
        done_.wait(lock, [&] { return running_ == 0 && nextPiece_ == pieces_.size(); });
        STRATA_TRY(error_);
    }
    for (const UnitTensor& t : u.tensors)
        if (!t.inExtent) STRATA_TRY(checkpoint_.read(*t.info, dst + t.bufferOffset));
    return {};
}

}  // namespace strata
