#pragma once
// Text and log files of any size, read in bounded memory: the file is streamed in blocks, its
// encoding found from the first block, converted to UTF-8 with line ends made '\n', and handed
// to the caller as TextSpans of whole lines with their 1-based line range.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "ByteSource.h"
#include "SourceAnchor.h"
#include "core/Result.h"

namespace strata {

struct LogReadOptions {
    size_t blockBytes = size_t(4) << 20;  // read size; the encoding is judged on the first block
    size_t maxSpanLines = 200;            // a span holds at most this many lines ...
    size_t maxSpanBytes = size_t(64) << 10;  // ... and at most this many bytes of text, except
                                             // that a line longer than this is cut into pieces
                                             // that all carry that line's number
    // Runs of identical consecutive lines become the line once plus
    // "[previous line repeated K more times]"; the span's anchor still covers every source line.
    bool collapseRepeats = false;
    IngestProgress progress;  // bytes of the file read so far, of its size (compressed bytes for a
                              // compressed file)
};

struct LogSummary {
    std::string encoding;  // "UTF-8", "UTF-16LE", "WINDOWS-1252", ...; "" for an empty file
    bool byteOrderMark = false;
    uint64_t bytes = 0;           // bytes of text read (decompressed, for a compressed file)
    std::string compression;      // "gzip", "xz", "zstd", "bzip2"; "" for a plain file
    uint64_t lines = 0;           // source lines (a last line without '\n' counts)
    uint64_t collapsedLines = 0;  // lines dropped by collapseRepeats
    uint64_t replacedSequences = 0;  // ill-formed input replaced by U+FFFD
    uint64_t spans = 0;
};

// Receives each span as soon as it is complete; a failed Status stops the read and is returned.
using LogSpanSink = std::function<Status(TextSpan&& span)>;

// Streams file to sink; a file that starts with a gzip, xz, zstd or bzip2 magic number is
// decompressed on the way and gives the lines, anchors and text its plain form gives. Every line in a span's text ends in '\n'. Spans come in file order and
// their line ranges neither overlap nor leave gaps (pieces of one long line share its number).
//
// Encoding: a byte-order mark (UTF-8, UTF-16LE/BE, UTF-32LE/BE) decides; else a first block that
// is well-formed UTF-8 (ASCII included) means UTF-8; else uchardet's guess, with ISO-8859-1 read
// as Windows-1252 and other charsets converted by iconv (Windows-1252 when uchardet has no guess
// or iconv does not know the charset). Ill-formed input later in the file becomes U+FFFD.
//
// A zero-byte file is not an error: no spans, a summary with lines == 0 and encoding "".
// A file with NUL bytes (outside UTF-16/32) or mostly control characters is refused with
// badInput("FILE looks binary (...); not ingested"); NULs found after the first block stop the
// read with that error after the earlier spans were delivered.
Result<LogSummary> readLogDocument(const std::filesystem::path& file, const LogSpanSink& sink,
                                   const LogReadOptions& options = {});

// The same over bytes from source; file names them in anchors and messages.
Result<LogSummary> readLogStream(ByteSource& source, const std::filesystem::path& file,
                                 const LogSpanSink& sink, const LogReadOptions& options = {});

}  // namespace strata
