#pragma once
// The bytes of a file as a stream, so that readers that walk a file once (text and logs) take a
// plain file and a decompressing stream (rotated logs are usually .gz, .xz, .zst or .bz2) through
// one path.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>

#include "core/Result.h"

namespace strata {

// How a file's bytes are compressed as a whole (not an archive of several files).
enum class Compression { None, Gzip, Xz, Zstd, Bzip2 };

// "gzip", "xz", "zstd", "bzip2"; "" for None.
const char* compressionName(Compression compression);

// The compression whose magic number begins head, or None.
Compression compressionFromMagic(std::string_view head);

class ByteSource {
public:
    virtual ~ByteSource() = default;
    ByteSource() = default;
    ByteSource(const ByteSource&) = delete;
    ByteSource& operator=(const ByteSource&) = delete;

    // Up to size bytes into data; 0 only at the end. A read may return fewer bytes than asked
    // before the end. A damaged or truncated stream is an error naming the file and the format.
    virtual Result<size_t> read(char* data, size_t size) = 0;
    // Bytes of the file on disk consumed so far, and its size: progress for a compressed file
    // counts the compressed bytes, since the decompressed size is not known in advance.
    virtual uint64_t fileBytesRead() const = 0;
    virtual uint64_t fileSize() const = 0;
    // What is undone on the way: None for a plain file.
    virtual Compression compression() const { return Compression::None; }
};

// Reads until size bytes or the end: the count delivered.
Result<size_t> readFully(ByteSource& source, char* data, size_t size);

// A file opened for reading with its size; badInput naming it when it is a directory or cannot be
// opened. The FILE is the caller's to close.
struct OpenedFile {
    std::FILE* file = nullptr;
    uint64_t size = 0;
};
Result<OpenedFile> openForReading(const std::filesystem::path& file);

// The file as it is on disk (DecompressingSource.h opens compressed ones).
Result<std::unique_ptr<ByteSource>> openPlainFile(const std::filesystem::path& file);

}  // namespace strata
