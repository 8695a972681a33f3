#pragma once
// What a file is, found from its first bytes (magic numbers) with the extension only as a hint for
// formats that have none, named for people ("WebP image", "gzip-compressed text", "ZIP archive")
// and sorted into what Strata reads and what it refuses with advice on converting it. A compressed
// file is looked into: a .log.gz is compressed text, a .tar.gz an archive.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "ByteSource.h"

namespace strata {

enum class PartKind { Pdf, Text, Image, Audio };

// How much of a file's start the detector reads (decompressed, for a compressed file).
constexpr size_t kFormatSniffBytes = 8192;

enum class FormatSupport {
    Read,           // a reader of kind takes it
    Refused,        // known, not read: refusal says what to do instead
    UnknownBinary,  // no format Strata knows, and not text
};

struct FileFormat {
    // For people: "PDF document", "HEIC image", "Opus audio", "gzip-compressed text", "plain text".
    std::string name;
    // The reader for a supported format; for a refused one the nearest kind (an M4A is audio, a
    // ZIP archive text), so that lists can still sort it.
    PartKind kind = PartKind::Text;
    FormatSupport support = FormatSupport::Read;
    Compression compression = Compression::None;  // Text read through a decompressor
    // Refused: "AAC audio (M4A) is not supported; convert it to FLAC, WAV or MP3, for example
    // with: ffmpeg -i talk.m4a talk.flac". UnknownBinary: "looks binary (it starts with ...)".
    std::string refusal;
};

// Reads the file's first kFormatSniffBytes (and, for a gzip, xz, zstd or bzip2 file, the first
// kFormatSniffBytes of what it decompresses to). A file that cannot be opened is called text: its
// reader then says why it cannot be read.
FileFormat detectFileFormat(const std::filesystem::path& file);

// The same for the first bytes of a file already read; file gives the extension hint and the
// names in the advice. A compressed head is named by its compression alone ("gzip-compressed
// text"): only detectFileFormat looks inside.
FileFormat detectFormatOfBytes(std::string_view head, const std::filesystem::path& file);

// The error for a file of a format that is not read: "FILE: a ZIP archive is not supported; ..."
// or "FILE looks binary (...); not ingested".
std::string refusalMessage(const std::filesystem::path& file, const FileFormat& format);

}  // namespace strata
