#include "LogDocument.h"

#include <iconv.h>
#include <uchardet/uchardet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <system_error>

#include "DecompressingSource.h"
#include "TextDocument.h"

namespace strata {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

// Turns one encoding into UTF-8 block by block; input cut mid-character at a block's end is
// kept until the next block.
class Decoder {
public:
    virtual ~Decoder() = default;
    virtual void decode(std::string_view in, std::string& out) = 0;
    // Leftover input at the end of the file is ill-formed.
    void finish(std::string& out) {
        if (!carry_.empty()) {
            out += kReplacement;
            ++replaced;
            carry_.clear();
        }
        finishState(out);
    }
    uint64_t replaced = 0;
    // File offset of the first U+0000 (only the UTF-16/32 decoders look; elsewhere the raw
    // bytes are checked), or -1.
    int64_t firstNul = -1;

protected:
    virtual void finishState(std::string&) {}
    // Input prefixed with what the last block left over.
    std::string_view withCarry(std::string_view in) {
        if (carry_.empty())
            return in;
        joined_.assign(carry_);
        joined_.append(in);
        carry_.clear();
        return joined_;
    }
    std::string carry_;
    std::string joined_;
};

class Utf8Decoder final : public Decoder {
public:
    void decode(std::string_view in, std::string& out) override {
        std::string_view text = withCarry(in);
        for (;;) {
            size_t bad = 0;
            if (isValidUtf8(text, &bad)) {
                out.append(text);
                return;
            }
            out.append(text.substr(0, bad));
            text.remove_prefix(bad);
            if (truncatedAtEnd(text)) {
                carry_.assign(text);
                return;
            }
            out += kReplacement;
            ++replaced;
            text.remove_prefix(1);
        }
    }

private:
    // Whether text (which starts at an ill-formed spot) may be a sequence cut by the block end.
    static bool truncatedAtEnd(std::string_view text) {
        const auto b0 = uint8_t(text[0]);
        const size_t length = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 && b0 <= 0xEF ? 3
                              : b0 >= 0xC2 && b0 <= 0xDF                          ? 2
                                                                                  : 0;
        if (text.size() >= length)
            return false;
        for (size_t i = 1; i < text.size(); ++i)
            if ((uint8_t(text[i]) & 0xC0) != 0x80)
                return false;
        return true;
    }
};

class Utf16Decoder final : public Decoder {
public:
    explicit Utf16Decoder(bool bigEndian, uint64_t startOffset)
        : bigEndian_(bigEndian), offset_(startOffset) {}

    void decode(std::string_view in, std::string& out) override {
        const uint64_t carried = carry_.size();
        std::string_view text = withCarry(in);
        uint64_t unitOffset = offset_ - carried;
        size_t i = 0;
        for (; i + 2 <= text.size(); i += 2, unitOffset += 2) {
            const auto b0 = uint8_t(text[i]), b1 = uint8_t(text[i + 1]);
            const uint32_t unit = bigEndian_ ? (b0 << 8 | b1) : (b1 << 8 | b0);
            if (high_) {
                if (unit >= 0xDC00 && unit <= 0xDFFF) {
                    appendUtf8(out, 0x10000 + ((high_ - 0xD800) << 10) + (unit - 0xDC00));
                    high_ = 0;
                    continue;
                }
                out += kReplacement;
                ++replaced;
                high_ = 0;
            }
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                high_ = unit;
            } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
                out += kReplacement;
                ++replaced;
            } else {
                if (unit == 0 && firstNul < 0)
                    firstNul = int64_t(unitOffset);
                appendUtf8(out, unit);
            }
        }
        carry_.assign(text.substr(i));
        offset_ += in.size();
    }

private:
    void finishState(std::string& out) override {
        if (high_) {
            out += kReplacement;
            ++replaced;
            high_ = 0;
        }
    }
    bool bigEndian_;
    uint64_t offset_;
    uint32_t high_ = 0;
};

class Utf32Decoder final : public Decoder {
public:
    explicit Utf32Decoder(bool bigEndian, uint64_t startOffset)
        : bigEndian_(bigEndian), offset_(startOffset) {}

    void decode(std::string_view in, std::string& out) override {
        const uint64_t carried = carry_.size();
        std::string_view text = withCarry(in);
        uint64_t unitOffset = offset_ - carried;
        size_t i = 0;
        for (; i + 4 <= text.size(); i += 4, unitOffset += 4) {
            uint32_t cp = 0;
            for (int k = 0; k < 4; ++k)
                cp |= uint32_t(uint8_t(text[i + k])) << (bigEndian_ ? 8 * (3 - k) : 8 * k);
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                out += kReplacement;
                ++replaced;
                continue;
            }
            if (cp == 0 && firstNul < 0)
                firstNul = int64_t(unitOffset);
            appendUtf8(out, cp);
        }
        carry_.assign(text.substr(i));
        offset_ += in.size();
    }

private:
    bool bigEndian_;
    uint64_t offset_;
};

// ISO-8859-1 files are read this way too: real ones almost never hold the C1 controls that
// Windows-1252 puts its quotes, dashes and euro sign on, and mislabelled 1252 files are common.
class Windows1252Decoder final : public Decoder {
public:
    Windows1252Decoder() {
        static constexpr std::array<uint16_t, 32> kHigh = {
            0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
            0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
            0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
            0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
        for (unsigned b = 0x80; b < 0x100; ++b) {
            std::string s;
            appendUtf8(s, b < 0xA0 ? kHigh[b - 0x80] : b);
            table_[b - 0x80] = s;
        }
    }
    void decode(std::string_view in, std::string& out) override {
        size_t start = 0;
        for (size_t i = 0; i < in.size(); ++i) {
            const auto b = uint8_t(in[i]);
            if (b < 0x80)
                continue;
            out.append(in.substr(start, i - start));
            out += table_[b - 0x80];
            start = i + 1;
        }
        out.append(in.substr(start));
    }

private:
    std::array<std::string, 128> table_;
};

class IconvDecoder final : public Decoder {
public:
    explicit IconvDecoder(iconv_t cd) : cd_(cd) {}
    ~IconvDecoder() override { iconv_close(cd_); }

    void decode(std::string_view in, std::string& out) override {
        std::string_view text = withCarry(in);
        // iconv's API takes non-const input pointers though it does not write through them.
        char* inPtr = const_cast<char*>(text.data());
        size_t inLeft = text.size();
        while (inLeft > 0) {
            const size_t before = out.size();
            out.resize(before + inLeft * 3 + 16);
            char* outPtr = out.data() + before;
            size_t outLeft = out.size() - before;
            const size_t rc = iconv(cd_, &inPtr, &inLeft, &outPtr, &outLeft);
            out.resize(size_t(outPtr - out.data()));
            if (rc != size_t(-1))
                break;
            if (errno == EINVAL) {  // cut at the block's end
                carry_.assign(inPtr, inLeft);
                break;
            }
            if (errno == EILSEQ) {
                out += kReplacement;
                ++replaced;
                ++inPtr;
                --inLeft;
            }
            // E2BIG: go round with more room.
        }
    }

private:
    iconv_t cd_;
};

// Collects lines (CR LF and lone CR made LF) into spans, optionally collapsing repeats.
class LineChunker {
public:
    LineChunker(const std::filesystem::path& file, const LogSpanSink& sink,
                const LogReadOptions& options, LogSummary& summary)
        : file_(file), sink_(sink), options_(options), summary_(summary) {}

    Status feed(std::string_view text) {
        const char* p = text.data();
        const char* end = p + text.size();
        while (p < end) {
            if (pendingCr_) {
                pendingCr_ = false;
                if (*p == '\n') {
                    ++p;
                    continue;
                }
            }
            auto* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
            const char* segmentEnd = nl ? nl : end;
            auto* cr = static_cast<const char*>(std::memchr(p, '\r', size_t(segmentEnd - p)));
            const char* stop = cr ? cr : nl;
            if (!stop) {
                STRATA_TRY(appendPartial(std::string_view(p, size_t(end - p))));
                break;
            }
            STRATA_TRY(appendPartial(std::string_view(p, size_t(stop - p))));
            STRATA_TRY(endLine());
            pendingCr_ = stop == cr;
            p = stop + 1;
        }
        return {};
    }

    Status finish() {
        if (!line_.empty() || lineIsLong_)
            STRATA_TRY(endLine());
        STRATA_TRY(flushRepeats(int64_t(summary_.lines)));
        return flushSpan();
    }

private:
    int64_t lineNumber() const { return int64_t(summary_.lines) + 1; }

    Status appendPartial(std::string_view part) {
        line_.append(part);
        if (line_.size() <= options_.maxSpanBytes)
            return {};
        // A line this long is not kept whole: its pieces go out as they fill.
        if (!lineIsLong_) {
            STRATA_TRY(flushRepeats(int64_t(summary_.lines)));
            STRATA_TRY(flushSpan());
            lineIsLong_ = true;
            havePrevious_ = false;
        }
        while (line_.size() > options_.maxSpanBytes) {
            size_t cut = options_.maxSpanBytes;
            while (cut > 0 && (uint8_t(line_[cut]) & 0xC0) == 0x80)
                --cut;
            if (cut == 0)
                cut = options_.maxSpanBytes;
            STRATA_TRY(emit(line_.substr(0, cut), lineNumber(), lineNumber()));
            line_.erase(0, cut);
        }
        return {};
    }

    Status endLine() {
        const int64_t number = lineNumber();
        ++summary_.lines;
        if (lineIsLong_) {
            lineIsLong_ = false;
            line_ += '\n';
            STRATA_TRY(emit(line_, number, number));
            line_.clear();
            return {};
        }
        if (options_.collapseRepeats) {
            if (havePrevious_ && line_ == previous_) {
                ++repeats_;
                ++summary_.collapsedLines;
                line_.clear();
                return {};
            }
            STRATA_TRY(flushRepeats(number - 1));
            previous_ = line_;
            havePrevious_ = true;
        }
        STRATA_TRY(addLine(line_, number, number));
        line_.clear();
        return {};
    }

    // lastRepeated: the source line number of the last repeat.
    Status flushRepeats(int64_t lastRepeated) {
        if (repeats_ == 0)
            return {};
        const std::string marker =
            "[previous line repeated " + std::to_string(repeats_) + " more times]";
        const int64_t last = lastRepeated;
        const int64_t first = last - int64_t(repeats_) + 1;
        repeats_ = 0;
        return addLine(marker, first, last);
    }

    Status addLine(std::string_view line, int64_t first, int64_t last) {
        if (spanLines_ > 0 && (spanLines_ >= options_.maxSpanLines ||
                               span_.text.size() + line.size() + 1 > options_.maxSpanBytes))
            STRATA_TRY(flushSpan());
        if (spanLines_ == 0) {
            span_.anchor = SourceAnchor{};
            span_.anchor.file = file_;
            span_.anchor.firstLine = first;
        }
        span_.anchor.lastLine = last;
        span_.text.append(line);
        span_.text += '\n';
        ++spanLines_;
        return {};
    }

    Status flushSpan() {
        if (spanLines_ == 0)
            return {};
        spanLines_ = 0;
        ++summary_.spans;
        Status status = sink_(std::move(span_));
        span_ = TextSpan{};
        return status;
    }

    Status emit(std::string text, int64_t first, int64_t last) {
        TextSpan piece;
        piece.text = std::move(text);
        piece.anchor.file = file_;
        piece.anchor.firstLine = first;
        piece.anchor.lastLine = last;
        ++summary_.spans;
        return sink_(std::move(piece));
    }

    const std::filesystem::path& file_;
    const LogSpanSink& sink_;
    const LogReadOptions& options_;
    LogSummary& summary_;
    std::string line_;
    bool lineIsLong_ = false;
    bool pendingCr_ = false;
    std::string previous_;
    bool havePrevious_ = false;
    uint64_t repeats_ = 0;
    TextSpan span_;
    size_t spanLines_ = 0;
};

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z')
            c = char(c - 'a' + 'A');
    return s;
}

Error binary(const std::filesystem::path& file, const std::string& why) {
    return badInput(file.string() + " looks binary (" + why + "); not ingested");
}

// Control characters other than the ones text and logs use (tab, line ends, form feed, escape
// for terminal colours) make up more than a tenth of the sample.
bool mostlyControl(std::string_view sample) {
    size_t control = 0;
    for (char ch : sample) {
        const auto c = uint8_t(ch);
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' &&
             c != 0x1B) ||
            c == 0x7F)
            ++control;
    }
    return !sample.empty() && control * 10 > sample.size();
}

struct Detected {
    std::string name;
    bool bom = false;
    size_t bomBytes = 0;
    std::unique_ptr<Decoder> decoder;
};

Detected detect(std::string_view first, bool wholeFile) {
    auto starts = [&](std::string_view prefix) { return first.substr(0, prefix.size()) == prefix; };
    Detected d;
    using namespace std::string_view_literals;
    if (starts("\xEF\xBB\xBF"sv)) {
        d = {"UTF-8", true, 3, std::make_unique<Utf8Decoder>()};
    } else if (starts("\xFF\xFE\x00\x00"sv)) {
        d = {"UTF-32LE", true, 4, std::make_unique<Utf32Decoder>(false, 4)};
    } else if (starts("\x00\x00\xFE\xFF"sv)) {
        d = {"UTF-32BE", true, 4, std::make_unique<Utf32Decoder>(true, 4)};
    } else if (starts("\xFF\xFE"sv)) {
        d = {"UTF-16LE", true, 2, std::make_unique<Utf16Decoder>(false, 2)};
    } else if (starts("\xFE\xFF"sv)) {
        d = {"UTF-16BE", true, 2, std::make_unique<Utf16Decoder>(true, 2)};
    }
    if (d.decoder)
        return d;

    // A block cut inside a character is still UTF-8; only a cut at the very end is forgiven.
    size_t bad = 0;
    if (isValidUtf8(first, &bad) || (!wholeFile && first.size() - bad < 4)) {
        d.name = "UTF-8";
        d.decoder = std::make_unique<Utf8Decoder>();
        return d;
    }
    std::string charset;
    if (uchardet_t ud = uchardet_new()) {
        if (uchardet_handle_data(ud, first.data(), first.size()) == 0) {
            uchardet_data_end(ud);
            charset = upper(uchardet_get_charset(ud));
        }
        uchardet_delete(ud);
    }
    if (charset.empty() || charset == "ISO-8859-1" || charset == "WINDOWS-1252" ||
        charset == "ASCII" || charset == "UTF-8") {
        // UTF-8 failed the check above, so uchardet's "UTF-8" is a guess we do not trust.
        d.name = charset == "ISO-8859-1" ? "ISO-8859-1" : "WINDOWS-1252";
        d.decoder = std::make_unique<Windows1252Decoder>();
        return d;
    }
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == iconv_t(-1)) {
        d.name = "WINDOWS-1252";
        d.decoder = std::make_unique<Windows1252Decoder>();
        return d;
    }
    d.name = charset;
    d.decoder = std::make_unique<IconvDecoder>(cd);
    return d;
}

}  // namespace

Result<LogSummary> readLogDocument(const std::filesystem::path& file, const LogSpanSink& sink,
                                   const LogReadOptions& options) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        return badInput(file.string() + " is a directory, not a text file");
    auto source = openByteSource(file);
    STRATA_TRY(source);
    return readLogStream(*source.value(), file, sink, options);
}

Result<LogSummary> readLogStream(ByteSource& source, const std::filesystem::path& file,
                                 const LogSpanSink& sink, const LogReadOptions& options) {
    if (!sink)
        return badInput("no consumer given for the spans of " + file.string());
    if (options.blockBytes < 64 || options.maxSpanLines == 0 || options.maxSpanBytes < 16)
        return badInput("log reader settings for " + file.string() +
                        ": blockBytes must be at least 64, maxSpanLines at least 1 and "
                        "maxSpanBytes at least 16");

    LogSummary summary;
    summary.compression = compressionName(source.compression());
    std::string block(options.blockBytes, '\0');
    // Whole blocks, also from a decompressor that hands out less per call: the encoding is
    // judged on the first one, and a short block means the end.
    const auto nextBlock = [&]() { return readFully(source, block.data(), block.size()); };
    size_t got = 0;
    STRATA_ASSIGN(got, nextBlock());
    if (got == 0)
        return summary;

    Detected detected = detect(std::string_view(block.data(), got), got < block.size());
    summary.encoding = detected.name;
    summary.byteOrderMark = detected.bom;
    const bool wide = detected.name.rfind("UTF-16", 0) == 0 || detected.name.rfind("UTF-32", 0) == 0;
    const std::string_view sample = std::string_view(block.data(), got).substr(detected.bomBytes);
    if (!wide && !std::memchr(sample.data(), 0, sample.size()) && mostlyControl(sample))
        return binary(file, "mostly control characters in the first " + std::to_string(got) +
                                " bytes");

    LineChunker chunker(file, sink, options, summary);
    Decoder& decoder = *detected.decoder;
    std::string text;
    uint64_t offset = 0;
    size_t skip = detected.bomBytes;
    while (got > 0) {
        std::string_view raw(block.data() + skip, got - skip);
        if (!wide) {
            if (const void* nul = std::memchr(raw.data(), 0, raw.size()))
                return binary(file, "NUL bytes at offset " +
                                        std::to_string(offset + skip +
                                                       size_t(static_cast<const char*>(nul) -
                                                              raw.data())));
        }
        text.clear();
        decoder.decode(raw, text);
        if (decoder.firstNul >= 0)
            return binary(file, "NUL characters at offset " + std::to_string(decoder.firstNul));
        STRATA_TRY(chunker.feed(text));
        offset += got;
        skip = 0;
        if (options.progress)
            options.progress(source.fileBytesRead(), source.fileSize());
        STRATA_ASSIGN(got, nextBlock());
    }
    summary.bytes = offset;
    text.clear();
    decoder.finish(text);
    STRATA_TRY(chunker.feed(text));
    STRATA_TRY(chunker.finish());
    summary.replacedSequences = decoder.replaced;
    return summary;
}

}  // namespace strata
