#include "DecompressingSource.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace strata {

namespace {

constexpr size_t kInputChunk = size_t(1) << 20;
// xz -9 needs 65 MiB to decompress; a header asking for more than this is refused rather than
// trusted with the machine's memory.
constexpr uint64_t kXzMemoryLimit = uint64_t(512) << 20;

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// The compressed file and its input buffer; each codec below turns it into decompressed bytes.
class DecompressingSource : public ByteSource {
public:
    DecompressingSource(std::filesystem::path file, std::FILE* f, uint64_t size, Compression compression)
        : file_(std::move(file)), f_(f), size_(size), compression_(compression), input_(kInputChunk) {}

    uint64_t fileBytesRead() const override { return read_; }
    uint64_t fileSize() const override { return size_; }
    Compression compression() const override { return compression_; }

protected:
    // Reads the next chunk of the file into input_: its length, 0 at the end.
    Result<size_t> refill() {
        const size_t got = std::fread(input_.data(), 1, input_.size(), f_.get());
        if (got == 0 && std::ferror(f_.get()))
            return internalError("read error in " + file_.string() + " after " + std::to_string(read_) +
                                 " bytes: " + std::strerror(errno));
        read_ += got;
        return got;
    }

    Error damaged(const std::string& detail) const {
        return badInput(file_.string() + ": the " + compressionName(compression_) + "-compressed data is damaged (" +
                        detail + ")");
    }
    Error truncated() const {
        return badInput(file_.string() + ": the " + compressionName(compression_) +
                        "-compressed file is truncated (it ends inside the compressed data); was it copied "
                        "or downloaded completely?");
    }

    std::filesystem::path file_;
    std::unique_ptr<std::FILE, FileCloser> f_;
    uint64_t size_;
    uint64_t read_ = 0;
    Compression compression_;
    std::vector<char> input_;
};

// Between two gzip members or bzip2 streams: NUL bytes to the end of the file are padding (tape
// and block devices leave it, and gzip skips it); anything else must start the next one.
// Returns how many bytes of [next, next + available) are padding.
size_t paddingLength(const char* next, size_t available) {
    size_t n = 0;
    while (n < available && next[n] == 0)
        ++n;
    return n;
}

class GzipSource final : public DecompressingSource {
public:
    using DecompressingSource::DecompressingSource;
    ~GzipSource() override {
        if (initialised_)
            inflateEnd(&z_);
    }

    Status init() {
        // 15 + 16: the largest window, gzip framing only.
        if (inflateInit2(&z_, 15 + 16) != Z_OK)
            return internalError(file_.string() + ": zlib could not start (out of memory?)");
        initialised_ = true;
        return {};
    }

    Result<size_t> read(char* data, size_t size) override {
        z_.next_out = reinterpret_cast<Bytef*>(data);
        z_.avail_out = uInt(std::min<size_t>(size, UINT_MAX));
        const uInt wanted = z_.avail_out;
        while (z_.avail_out == wanted && !finished_) {
            if (z_.avail_in == 0) {
                auto got = refill();
                STRATA_TRY(got);
                if (got.value() == 0) {
                    if (inMember_)
                        return truncated();
                    finished_ = true;
                    break;
                }
                z_.next_in = reinterpret_cast<Bytef*>(input_.data());
                z_.avail_in = uInt(got.value());
            }
            if (!inMember_) {
                const size_t padding = paddingLength(reinterpret_cast<const char*>(z_.next_in), z_.avail_in);
                z_.next_in += padding;
                z_.avail_in -= uInt(padding);
                sawPadding_ = sawPadding_ || padding > 0;
                if (z_.avail_in == 0)
                    continue;
                if (sawPadding_ || z_.next_in[0] != 0x1F)
                    return damaged("data after the end of the last gzip member is not another member");
                inflateReset(&z_);
                inMember_ = true;
            }
            const int rc = inflate(&z_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                inMember_ = false;
            } else if (rc == Z_BUF_ERROR && z_.avail_in != 0) {
                return damaged("zlib made no progress");
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return damaged(z_.msg ? z_.msg : "zlib error " + std::to_string(rc));
            }
        }
        return size_t(wanted - z_.avail_out);
    }

private:
    z_stream z_{};
    bool initialised_ = false;
    bool inMember_ = false;
    bool sawPadding_ = false;
    bool finished_ = false;
};

class XzSource final : public DecompressingSource {
public:
    using DecompressingSource::DecompressingSource;
    ~XzSource() override { lzma_end(&s_); }

    Status init() {
        // LZMA_CONCATENATED: streams one after another (and their padding) read as one.
        if (lzma_stream_decoder(&s_, kXzMemoryLimit, LZMA_CONCATENATED) != LZMA_OK)
            return internalError(file_.string() + ": liblzma could not start (out of memory?)");
        return {};
    }

    Result<size_t> read(char* data, size_t size) override {
        s_.next_out = reinterpret_cast<uint8_t*>(data);
        s_.avail_out = size;
        while (s_.avail_out == size && !finished_) {
            if (s_.avail_in == 0 && !atEnd_) {
                auto got = refill();
                STRATA_TRY(got);
                atEnd_ = got.value() == 0;
                s_.next_in = reinterpret_cast<const uint8_t*>(input_.data());
                s_.avail_in = got.value();
            }
            const lzma_ret rc = lzma_code(&s_, atEnd_ ? LZMA_FINISH : LZMA_RUN);
            switch (rc) {
            case LZMA_OK: break;
            case LZMA_STREAM_END: finished_ = true; break;
            case LZMA_BUF_ERROR:
                if (atEnd_)
                    return truncated();
                return damaged("liblzma made no progress");
            case LZMA_MEMLIMIT_ERROR:
                return badInput(file_.string() + ": the xz-compressed file needs more than " +
                                std::to_string(kXzMemoryLimit >> 20) + " MiB of memory to decompress");
            case LZMA_FORMAT_ERROR: return damaged("not xz data");
            case LZMA_OPTIONS_ERROR: return damaged("unsupported compression options");
            case LZMA_DATA_ERROR: return damaged("corrupt data");
            case LZMA_MEM_ERROR: return internalError(file_.string() + ": out of memory decompressing xz data");
            default: return damaged("liblzma error " + std::to_string(int(rc)));
            }
        }
        return size - s_.avail_out;
    }

private:
    lzma_stream s_ = LZMA_STREAM_INIT;
    bool atEnd_ = false;
    bool finished_ = false;
};

class ZstdSource final : public DecompressingSource {
public:
    using DecompressingSource::DecompressingSource;
    ~ZstdSource() override { ZSTD_freeDStream(ds_); }

    Status init() {
        ds_ = ZSTD_createDStream();
        if (!ds_ || ZSTD_isError(ZSTD_initDStream(ds_)))
            return internalError(file_.string() + ": libzstd could not start (out of memory?)");
        return {};
    }

    Result<size_t> read(char* data, size_t size) override {
        ZSTD_outBuffer out{data, size, 0};
        while (out.pos == 0 && !finished_) {
            if (in_.pos == in_.size && !atEnd_) {
                auto got = refill();
                STRATA_TRY(got);
                atEnd_ = got.value() == 0;
                in_ = ZSTD_inBuffer{input_.data(), got.value(), 0};
            }
            if (atEnd_ && in_.pos == in_.size && !frameOpen_) {
                finished_ = true;
                break;
            }
            // With no input left, this only flushes what the decoder still holds.
            const size_t rc = ZSTD_decompressStream(ds_, &out, &in_);
            if (ZSTD_isError(rc))
                return damaged(ZSTD_getErrorName(rc));
            frameOpen_ = rc != 0;  // 0: a frame ended and everything of it was delivered
            if (atEnd_ && in_.pos == in_.size && out.pos == 0 && frameOpen_)
                return truncated();
        }
        return out.pos;
    }

private:
    ZSTD_DStream* ds_ = nullptr;
    ZSTD_inBuffer in_{nullptr, 0, 0};
    bool frameOpen_ = false;
    bool atEnd_ = false;
    bool finished_ = false;
};

class Bzip2Source final : public DecompressingSource {
public:
    using DecompressingSource::DecompressingSource;
    ~Bzip2Source() override {
        if (inStream_)
            BZ2_bzDecompressEnd(&s_);
    }

    Status init() { return start(); }

    Result<size_t> read(char* data, size_t size) override {
        s_.next_out = data;
        s_.avail_out = unsigned(std::min<size_t>(size, UINT_MAX));
        const unsigned wanted = s_.avail_out;
        while (s_.avail_out == wanted && !finished_) {
            if (s_.avail_in == 0) {
                auto got = refill();
                STRATA_TRY(got);
                if (got.value() == 0) {
                    if (inStream_)
                        return truncated();
                    finished_ = true;
                    break;
                }
                s_.next_in = input_.data();
                s_.avail_in = unsigned(got.value());
            }
            if (!inStream_) {
                // A parallel bzip2 (pbzip2, lbzip2) writes one stream per block, one after another.
                const size_t padding = paddingLength(s_.next_in, s_.avail_in);
                s_.next_in += padding;
                s_.avail_in -= unsigned(padding);
                sawPadding_ = sawPadding_ || padding > 0;
                if (s_.avail_in == 0)
                    continue;
                if (sawPadding_ || s_.next_in[0] != 'B')
                    return damaged("data after the end of the last bzip2 stream is not another stream");
                STRATA_TRY(start());
            }
            const int rc = BZ2_bzDecompress(&s_);
            if (rc == BZ_STREAM_END) {
                BZ2_bzDecompressEnd(&s_);  // leaves the buffer pointers as they are
                inStream_ = false;
            } else if (rc != BZ_OK) {
                return damaged(rc == BZ_DATA_ERROR_MAGIC ? "not bzip2 data"
                               : rc == BZ_DATA_ERROR     ? "corrupt data (checksum or structure)"
                               : rc == BZ_MEM_ERROR      ? "out of memory"
                                                         : "libbz2 error " + std::to_string(rc));
            }
        }
        return size_t(wanted - s_.avail_out);
    }

private:
    // Only the decoder's state is new: the input and output pointers carry on.
    Status start() {
        s_.bzalloc = nullptr;
        s_.bzfree = nullptr;
        s_.opaque = nullptr;
        if (BZ2_bzDecompressInit(&s_, 0, 0) != BZ_OK)
            return internalError(file_.string() + ": libbz2 could not start (out of memory?)");
        inStream_ = true;
        return {};
    }

    bz_stream s_{};
    bool inStream_ = false;
    bool sawPadding_ = false;
    bool finished_ = false;
};

template <typename Source>
Result<std::unique_ptr<ByteSource>> started(const std::filesystem::path& file, std::FILE* f, uint64_t size,
                                            Compression compression) {
    auto source = std::make_unique<Source>(file, f, size, compression);
    STRATA_TRY(source->init());
    return std::unique_ptr<ByteSource>(std::move(source));
}

}  // namespace

Result<std::unique_ptr<ByteSource>> openDecompressed(const std::filesystem::path& file, Compression compression) {
    if (compression == Compression::None)
        return openPlainFile(file);
    auto opened = openForReading(file);
    STRATA_TRY(opened);
    std::FILE* f = opened->file;
    const uint64_t size = opened->size;
    switch (compression) {
    case Compression::Gzip: return started<GzipSource>(file, f, size, compression);
    case Compression::Xz: return started<XzSource>(file, f, size, compression);
    case Compression::Zstd: return started<ZstdSource>(file, f, size, compression);
    case Compression::Bzip2: return started<Bzip2Source>(file, f, size, compression);
    case Compression::None: break;
    }
    std::fclose(f);
    return openPlainFile(file);
}

Result<std::unique_ptr<ByteSource>> openByteSource(const std::filesystem::path& file) {
    auto plain = openPlainFile(file);
    STRATA_TRY(plain);
    char head[16];
    auto got = readFully(*plain.value(), head, sizeof head);
    STRATA_TRY(got);
    const Compression compression = compressionFromMagic(std::string_view(head, got.value()));
    if (compression == Compression::None)
        return openPlainFile(file);
    return openDecompressed(file, compression);
}

}  // namespace strata
