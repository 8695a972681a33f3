#include "ByteSource.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

namespace strata {

namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

class PlainFileSource final : public ByteSource {
public:
    PlainFileSource(std::filesystem::path file, std::FILE* f, uint64_t size)
        : file_(std::move(file)), f_(f), size_(size) {}

    Result<size_t> read(char* data, size_t size) override {
        const size_t got = std::fread(data, 1, size, f_.get());
        if (got == 0 && std::ferror(f_.get()))
            return internalError("read error in " + file_.string() + " after " + std::to_string(read_) +
                                 " bytes: " + std::strerror(errno));
        read_ += got;
        return got;
    }
    uint64_t fileBytesRead() const override { return read_; }
    uint64_t fileSize() const override { return size_; }

private:
    std::filesystem::path file_;
    std::unique_ptr<std::FILE, FileCloser> f_;
    uint64_t size_;
    uint64_t read_ = 0;
};

}  // namespace

const char* compressionName(Compression compression) {
    switch (compression) {
    case Compression::None: return "";
    case Compression::Gzip: return "gzip";
    case Compression::Xz: return "xz";
    case Compression::Zstd: return "zstd";
    case Compression::Bzip2: return "bzip2";
    }
    return "";
}

Compression compressionFromMagic(std::string_view head) {
    using namespace std::string_view_literals;
    const auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
    if (starts("\x1F\x8B"sv)) return Compression::Gzip;
    if (starts("\xFD" "7zXZ\x00"sv)) return Compression::Xz;
    if (starts("\x28\xB5\x2F\xFD"sv)) return Compression::Zstd;
    // "BZh" and the block size digit 1-9, then the first block's magic (pi) or, for an empty
    // stream, the end-of-stream magic (sqrt pi).
    if (head.size() >= 10 && starts("BZh"sv) && head[3] >= '1' && head[3] <= '9' &&
        (head.substr(4, 6) == "\x31\x41\x59\x26\x53\x59"sv || head.substr(4, 6) == "\x17\x72\x45\x38\x50\x90"sv))
        return Compression::Bzip2;
    return Compression::None;
}

Result<size_t> readFully(ByteSource& source, char* data, size_t size) {
    size_t done = 0;
    while (done < size) {
        auto got = source.read(data + done, size - done);
        STRATA_TRY(got);
        if (got.value() == 0) break;
        done += got.value();
    }
    return done;
}

Result<OpenedFile> openForReading(const std::filesystem::path& file) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        return badInput(file.string() + " is a directory, not a file to read");
    const uint64_t size = std::filesystem::file_size(file, ec);
    if (ec)
        return badInput("cannot read " + file.string() + ": " + ec.message());
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (!f)
        return badInput("cannot open " + file.string() + ": " + std::strerror(errno));
    return OpenedFile{f, size};
}

Result<std::unique_ptr<ByteSource>> openPlainFile(const std::filesystem::path& file) {
    auto opened = openForReading(file);
    STRATA_TRY(opened);
    return std::unique_ptr<ByteSource>(std::make_unique<PlainFileSource>(file, opened->file, opened->size));
}

}  // namespace strata
