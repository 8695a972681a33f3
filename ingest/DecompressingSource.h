#pragma once
// Compressed files read as a stream of their decompressed bytes: gzip (zlib), xz (liblzma), zstd
// (libzstd) and bzip2 (libbz2). Memory stays bounded whatever the decompressed size (one input
// buffer and the codec's own window), so a decompression bomb costs time, not memory; the reader
// on top bounds what it keeps.
#include <filesystem>
#include <memory>

#include "ByteSource.h"
#include "core/Result.h"

namespace strata {

// The file decompressed as compression says (None: as it is). Concatenated streams (several gzip
// members, xz streams, zstd frames or bzip2 streams one after another) read as one; NUL padding
// after the last gzip member or xz stream is skipped as gzip and xz do. A file that ends inside a
// stream, and damaged data, are badInput errors naming the file and the format.
Result<std::unique_ptr<ByteSource>> openDecompressed(const std::filesystem::path& file, Compression compression);

// The file decompressed when its first bytes are a gzip, xz, zstd or bzip2 magic number, else as
// it is.
Result<std::unique_ptr<ByteSource>> openByteSource(const std::filesystem::path& file);

}  // namespace strata
