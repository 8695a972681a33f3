#include "kv/KvBlockFile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "core/Crc32c.h"
#include "core/FaultInjection.h"

namespace strata {

namespace {

constexpr char kFileMagic[8] = {'S', 'T', 'R', 'A', 'T', 'A', 'K', 'V'};
constexpr char kRecordMagic[4] = {'K', 'V', 'B', 'K'};
constexpr size_t kFileCrcAt = 60;
constexpr size_t kRecordDataCrcAt = 24;
constexpr size_t kRecordHeaderCrcAt = 28;

uint32_t getU32(const unsigned char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
int64_t getI64(const unsigned char* p) {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
void putU32(unsigned char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void putI64(unsigned char* p, int64_t v) { std::memcpy(p, &v, 8); }

// On-disk codes, independent of the order of the DType enum.
uint32_t storedTypeCode(DType t) {
    switch (t) {
    case DType::F32: return 1;
    case DType::F16: return 2;
    case DType::BF16: return 3;
    case DType::U8:
    case DType::Q8_0:
    case DType::MXFP4: return 0;  // weights only, never a KV type
    }
    return 0;
}
bool storedTypeFromCode(uint32_t code, DType* t) {
    switch (code) {
    case 1: *t = DType::F32; return true;
    case 2: *t = DType::F16; return true;
    case 3: *t = DType::BF16; return true;
    }
    return false;
}

uint64_t payloadBytesFor(const KvBlockGeometry& g, int64_t tokens) {
    return 2 * uint64_t(tokens) * uint64_t(g.rowFloats) * dtypeSize(g.storedType);
}

// Every field has 32 bits on disk, the payload size included.
bool fitsFormat(const KvBlockGeometry& g) {
    return g.layerIndex >= 0 && g.layerIndex <= int64_t(UINT32_MAX) && g.rowFloats > 0 && g.blockTokens > 0 &&
           uint64_t(g.rowFloats) <= UINT32_MAX / 8 &&
           uint64_t(g.blockTokens) <= UINT32_MAX / (2 * dtypeSize(g.storedType) * uint64_t(g.rowFloats));
}

// Writes all n bytes at offset, each piece through the fault gate. Returns 0 or an errno.
int writeAll(int fd, const void* data, size_t n, uint64_t offset) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const faults::WriteAdmission admitted = faults::admitWrite(n);
        size_t granted = admitted.bytes;
        while (granted > 0) {
            const ssize_t w = ::pwrite(fd, p, std::min<size_t>(granted, size_t(1) << 30), off_t(offset));
            if (w < 0) {
                if (errno == EINTR) continue;
                return errno;
            }
            if (w == 0) return EIO;
            p += w;
            offset += uint64_t(w);
            n -= size_t(w);
            granted -= size_t(w);
        }
        if (admitted.error != 0) return admitted.error;
    }
    return 0;
}

// pread until n bytes arrive; false on an error or end of file.
bool readAll(int fd, void* dst, size_t n, uint64_t offset) {
    char* p = static_cast<char*>(dst);
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, std::min<size_t>(n, size_t(1) << 30), off_t(offset));
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (r == 0) {
            errno = 0;
            return false;
        }
        p += r;
        offset += uint64_t(r);
        n -= size_t(r);
    }
    return true;
}

std::string errnoText(int err) { return err == 0 ? "unexpected end of file" : std::strerror(err); }

bool isDiskFull(int err) { return err == ENOSPC || err == EDQUOT; }

struct RecordHeader {
    bool magicOk = false;
    bool headerCrcOk = false;
    int64_t blockIndex = 0;
    int64_t firstPos = 0;
    int64_t tokens = 0;
    uint64_t payloadBytes = 0;
    uint32_t dataCrc = 0;
};

RecordHeader parseRecordHeader(const unsigned char* h) {
    RecordHeader r;
    r.magicOk = std::memcmp(h, kRecordMagic, 4) == 0;
    r.headerCrcOk = crc32c(h, kRecordHeaderCrcAt) == getU32(h + kRecordHeaderCrcAt);
    r.blockIndex = getU32(h + 4);
    r.firstPos = getI64(h + 8);
    r.tokens = getU32(h + 16);
    r.payloadBytes = getU32(h + 20);
    r.dataCrc = getU32(h + kRecordDataCrcAt);
    return r;
}

void fillNan(float* p, size_t n) { std::fill(p, p + n, std::numeric_limits<float>::quiet_NaN()); }

}  // namespace

std::string describe(const KvBlockGeometry& g) {
    return "layer " + std::to_string(g.layerIndex) + ", " + std::to_string(g.rowFloats) + " floats per row, " +
           std::to_string(g.blockTokens) + " tokens per block, " + std::string(dtypeName(g.storedType));
}

KvBlockFile::KvBlockFile(KvBlockFile&& other) noexcept
    : path_(std::move(other.path_)),
      geometry_(other.geometry_),
      fd_(std::exchange(other.fd_, -1)),
      writable_(other.writable_),
      tailDirty_(other.tailDirty_),
      end_(other.end_),
      droppedTailBytes_(other.droppedTailBytes_),
      records_(std::move(other.records_)) {}

KvBlockFile& KvBlockFile::operator=(KvBlockFile&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        path_ = std::move(other.path_);
        geometry_ = other.geometry_;
        fd_ = std::exchange(other.fd_, -1);
        writable_ = other.writable_;
        tailDirty_ = other.tailDirty_;
        end_ = other.end_;
        droppedTailBytes_ = other.droppedTailBytes_;
        records_ = std::move(other.records_);
    }
    return *this;
}

KvBlockFile::~KvBlockFile() {
    if (fd_ >= 0) ::close(fd_);
}

Result<KvBlockFile> KvBlockFile::create(const std::filesystem::path& path, const KvBlockGeometry& geometry) {
    const KvBlockGeometry& g = geometry;
    if (!fitsFormat(g))
        return internalError("cannot create KV file " + path.string() + " for " + describe(g) +
                             ": the geometry does not fit the format");
    if (g.storedType != DType::F32)
        return internalError("cannot create KV file " + path.string() + ": only F32 rows are stored so far");

    KvBlockFile f;
    f.path_ = path;
    f.geometry_ = g;
    f.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f.fd_ < 0)
        return internalError("cannot create KV file " + path.string() + ": " + std::strerror(errno));
    f.writable_ = true;

    unsigned char h[kFileHeaderBytes] = {};
    std::memcpy(h, kFileMagic, 8);
    putU32(h + 8, kFormatVersion);
    putU32(h + 12, uint32_t(kFileHeaderBytes));
    putU32(h + 16, uint32_t(g.layerIndex));
    putU32(h + 20, uint32_t(g.rowFloats));
    putU32(h + 24, uint32_t(g.blockTokens));
    putU32(h + 28, storedTypeCode(g.storedType));
    putU32(h + kFileCrcAt, crc32c(h, kFileCrcAt));

    int err = writeAll(f.fd_, h, sizeof h, 0);
    if (err == 0 && ::fdatasync(f.fd_) != 0) err = errno;
    if (err == 0) {
        // The new name must survive a crash too, or a saved session would lose the layer.
        const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || ::fsync(dfd) != 0) err = errno;
        if (dfd >= 0) ::close(dfd);
    }
    if (err != 0) {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
        if (isDiskFull(err))
            return diskFull("no space left in " + path.parent_path().string() + " while creating KV file " +
                            path.string() + "; free space and resume the job");
        return internalError("cannot write the header of KV file " + path.string() + ": " + errnoText(err));
    }
    f.end_ = kFileHeaderBytes;
    return f;
}

Result<KvBlockFile> KvBlockFile::open(const std::filesystem::path& path, const KvBlockGeometry& expected) {
    const std::string name = path.string();
    KvBlockFile f;
    f.path_ = path;
    f.fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    f.writable_ = f.fd_ >= 0;
    if (f.fd_ < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
        f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd_ < 0) return badInput("cannot open KV file " + name + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(f.fd_, &st) != 0 || !S_ISREG(st.st_mode)) return badInput(name + " is not a regular file");
    const uint64_t size = uint64_t(st.st_size);

    if (size == 0)
        return badInput("KV file " + name + " is empty: it was created but its header never reached the disk");
    unsigned char h[kFileHeaderBytes] = {};
    const size_t headBytes = size_t(std::min<uint64_t>(size, kFileHeaderBytes));
    if (!readAll(f.fd_, h, headBytes, 0))
        return internalError("cannot read KV file " + name + ": " + errnoText(errno));
    if (std::memcmp(h, kFileMagic, std::min<size_t>(headBytes, 8)) != 0)
        return badInput(name + " is not a Strata KV file (it does not start with STRATAKV)");
    if (headBytes < kFileHeaderBytes)
        return badInput("KV file " + name + " ends inside its header (" + std::to_string(size) + " of " +
                        std::to_string(kFileHeaderBytes) + " bytes)");
    const uint32_t version = getU32(h + 8);
    if (version > kFormatVersion)
        return badInput("KV file " + name + " has format version " + std::to_string(version) +
                        ", written by a newer Strata; this build reads version " + std::to_string(kFormatVersion));
    if (version == 0 || getU32(h + 12) != kFileHeaderBytes || crc32c(h, kFileCrcAt) != getU32(h + kFileCrcAt))
        return badInput("the header of KV file " + name + " is damaged (checksum mismatch)");

    KvBlockGeometry& g = f.geometry_;
    g.layerIndex = getU32(h + 16);
    g.rowFloats = getU32(h + 20);
    g.blockTokens = getU32(h + 24);
    if (!storedTypeFromCode(getU32(h + 28), &g.storedType) || !fitsFormat(g))
        return badInput("KV file " + name + " declares a stored type or geometry this build does not read");
    if (!(g == expected))
        return badInput("KV file " + name + " holds " + describe(g) + "; expected " + describe(expected));

    STRATA_TRY(f.scanRecords(size));
    return f;
}

// Builds the block index from the record headers; the last record's payload is checked too,
// because a torn append can leave a complete header before an incomplete payload.
Status KvBlockFile::scanRecords(uint64_t fileSize) {
    const std::string name = path_.string();
    const uint64_t maxRecordBytes = kRecordHeaderBytes + payloadBytesFor(geometry_, geometry_.blockTokens);
    std::vector<KvBlockRecord> all;
    int64_t liveCount = 0;
    uint64_t offset = kFileHeaderBytes;
    while (offset < fileSize) {
        if (fileSize - offset < kRecordHeaderBytes) break;  // a header cut short
        unsigned char h[kRecordHeaderBytes];
        if (!readAll(fd_, h, sizeof h, offset))
            return internalError("cannot read KV file " + name + ": " + errnoText(errno));
        const RecordHeader r = parseRecordHeader(h);
        const bool sane = r.magicOk && r.headerCrcOk && r.tokens >= 1 && r.tokens <= geometry_.blockTokens &&
                          r.payloadBytes == payloadBytesFor(geometry_, r.tokens) && r.firstPos >= 0 &&
                          (r.blockIndex == liveCount || r.blockIndex == liveCount - 1);
        if (!sane) {
            // A torn append leaves less than one record, or zeros where the file system extended
            // the file but the data never arrived. Anything else hides blocks we cannot locate.
            bool tornTail = fileSize - offset < maxRecordBytes;
            if (!tornTail) {
                tornTail = true;
                std::vector<unsigned char> buf(1 << 16);
                for (uint64_t at = offset; at < fileSize && tornTail; at += buf.size()) {
                    const size_t n = size_t(std::min<uint64_t>(buf.size(), fileSize - at));
                    if (!readAll(fd_, buf.data(), n, at))
                        return internalError("cannot read KV file " + name + ": " + errnoText(errno));
                    tornTail = std::all_of(buf.begin(), buf.begin() + ptrdiff_t(n), [](unsigned char c) { return c == 0; });
                }
            }
            if (tornTail) break;
            return badInput("KV file " + name + " (layer " + std::to_string(geometry_.layerIndex) +
                            ") has a damaged record header at byte " + std::to_string(offset) + ", after block " +
                            std::to_string(liveCount - 1) + "; the blocks after it cannot be located");
        }
        const uint64_t bytes = kRecordHeaderBytes + r.payloadBytes;
        if (fileSize - offset < bytes) break;  // a payload cut short
        all.push_back({r.blockIndex, r.firstPos, r.tokens, offset, bytes});
        if (r.blockIndex == liveCount) ++liveCount;
        offset += bytes;
    }

    if (!all.empty()) {
        const KvBlockRecord& last = all.back();
        std::vector<unsigned char> rec(size_t(last.bytes));
        if (!readAll(fd_, rec.data(), rec.size(), last.offset))
            return internalError("cannot read KV file " + name + ": " + errnoText(errno));
        uint32_t crc = crc32c(rec.data(), kRecordDataCrcAt);
        crc = crc32c(rec.data() + kRecordHeaderBytes, rec.size() - kRecordHeaderBytes, crc);
        if (crc != getU32(rec.data() + kRecordDataCrcAt)) all.pop_back();
    }

    // The live record of a block is its last one; replacements only ever follow their block.
    records_.clear();
    for (const KvBlockRecord& r : all) {
        if (r.blockIndex == int64_t(records_.size()))
            records_.push_back(r);
        else
            records_.back() = r;
    }
    end_ = all.empty() ? kFileHeaderBytes : all.back().offset + all.back().bytes;
    droppedTailBytes_ = fileSize - end_;
    if (droppedTailBytes_ > 0 && writable_) {
        if (::ftruncate(fd_, off_t(end_)) != 0)
            return internalError("cannot cut the incomplete tail off KV file " + name + ": " + std::strerror(errno));
    }
    return {};
}

std::string KvBlockFile::blockName(int64_t blockIndex, int64_t firstPos, int64_t tokens) const {
    return "block " + std::to_string(blockIndex) + " (positions " + std::to_string(firstPos) + ".." +
           std::to_string(firstPos + tokens - 1) + ") of layer " + std::to_string(geometry_.layerIndex);
}

Status KvBlockFile::rollBack() {
    if (::ftruncate(fd_, off_t(end_)) != 0) {
        tailDirty_ = true;
        return internalError("cannot cut a failed write off KV file " + path_.string() + ": " + std::strerror(errno));
    }
    tailDirty_ = false;
    return {};
}

Status KvBlockFile::writeFailure(int err, const std::string& what) const {
    if (isDiskFull(err))
        return diskFull("no space left in " + path_.parent_path().string() + " while " + what + " " +
                        path_.string() + "; free space and resume the job");
    return internalError("I/O error while " + what + " " + path_.string() + ": " + errnoText(err));
}

Status KvBlockFile::append(int64_t blockIndex, int64_t firstPos, int64_t tokens, const float* k, const float* v) {
    const int64_t count = blockCount();
    if (!writable_) return internalError("KV file " + path_.string() + " was opened read-only; cannot append");
    if (blockIndex != count && !(count > 0 && blockIndex == count - 1))
        return internalError("KV file " + path_.string() + " holds " + std::to_string(count) +
                             " blocks; cannot append block " + std::to_string(blockIndex));
    if (tokens < 1 || tokens > geometry_.blockTokens || firstPos < 0)
        return internalError("cannot append " + blockName(blockIndex, firstPos, tokens) + " to " + path_.string() +
                             ": a block holds 1.." + std::to_string(geometry_.blockTokens) + " tokens");
    if (tailDirty_) STRATA_TRY(rollBack());

    const size_t half = size_t(tokens) * size_t(geometry_.rowFloats) * sizeof(float);
    unsigned char h[kRecordHeaderBytes] = {};
    std::memcpy(h, kRecordMagic, 4);
    putU32(h + 4, uint32_t(blockIndex));
    putI64(h + 8, firstPos);
    putU32(h + 16, uint32_t(tokens));
    putU32(h + 20, uint32_t(2 * half));
    uint32_t crc = crc32c(h, kRecordDataCrcAt);
    crc = crc32c(k, half, crc);
    crc = crc32c(v, half, crc);
    putU32(h + kRecordDataCrcAt, crc);
    putU32(h + kRecordHeaderCrcAt, crc32c(h, kRecordHeaderCrcAt));

    int err = writeAll(fd_, h, sizeof h, end_);
    if (err == 0) err = writeAll(fd_, k, half, end_ + sizeof h);
    if (err == 0) err = writeAll(fd_, v, half, end_ + sizeof h + half);
    if (err != 0) {
        // Earlier blocks stay valid and the next append starts where this one did.
        const Status undo = rollBack();
        const Status failure = writeFailure(err, "writing KV " + blockName(blockIndex, firstPos, tokens) + " to");
        if (!undo.ok()) return Error{failure.error().kind, failure.error().message + "; " + undo.error().message};
        return failure;
    }
    const KvBlockRecord r{blockIndex, firstPos, tokens, end_, sizeof h + 2 * half};
    if (blockIndex == count)
        records_.push_back(r);
    else
        records_.back() = r;
    end_ += r.bytes;
    return {};
}

Status KvBlockFile::readBlock(int64_t blockIndex, float* k, float* v) const {
    if (blockIndex < 0 || blockIndex >= blockCount())
        return internalError("KV file " + path_.string() + " holds " + std::to_string(blockCount()) +
                             " blocks; there is no block " + std::to_string(blockIndex));
    const KvBlockRecord& r = records_[size_t(blockIndex)];
    const size_t half = size_t(r.tokens) * size_t(geometry_.rowFloats) * sizeof(float);
    const size_t floats = half / sizeof(float);
    const std::string what = "KV " + blockName(r.blockIndex, r.firstPos, r.tokens) + " in " + path_.string();

    unsigned char h[kRecordHeaderBytes];
    if (!readAll(fd_, h, sizeof h, r.offset) || !readAll(fd_, k, half, r.offset + sizeof h) ||
        !readAll(fd_, v, half, r.offset + sizeof h + half)) {
        const int err = errno;
        fillNan(k, floats);
        fillNan(v, floats);
        return internalError("cannot read " + what + ": " + errnoText(err));
    }
    const RecordHeader hdr = parseRecordHeader(h);
    uint32_t crc = crc32c(h, kRecordDataCrcAt);
    crc = crc32c(k, half, crc);
    crc = crc32c(v, half, crc);
    if (!hdr.magicOk || !hdr.headerCrcOk || hdr.blockIndex != r.blockIndex || hdr.firstPos != r.firstPos ||
        hdr.tokens != r.tokens || crc != hdr.dataCrc) {
        fillNan(k, floats);
        fillNan(v, floats);
        return badInput(what + " is damaged (checksum mismatch); it was not used");
    }
    return {};
}

Status KvBlockFile::truncateToBlocks(int64_t count) {
    if (count < 0 || count > blockCount())
        return internalError("KV file " + path_.string() + " holds " + std::to_string(blockCount()) +
                             " blocks; cannot keep " + std::to_string(count));
    if (!writable_) return internalError("KV file " + path_.string() + " was opened read-only; cannot truncate");
    const uint64_t newEnd = count == 0 ? kFileHeaderBytes : records_[size_t(count - 1)].offset +
                                                              records_[size_t(count - 1)].bytes;
    if (::ftruncate(fd_, off_t(newEnd)) != 0)
        return internalError("cannot truncate KV file " + path_.string() + ": " + std::strerror(errno));
    records_.resize(size_t(count));
    end_ = newEnd;
    tailDirty_ = false;
    return {};
}

Status KvBlockFile::sync() {
    if (::fdatasync(fd_) != 0) return writeFailure(errno, "flushing KV blocks to");
    return {};
}

}  // namespace strata
