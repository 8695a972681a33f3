#include "TextDocument.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <algorithm>

namespace strata {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Length of the well-formed sequence starting at text[i], or 0 when it is ill-formed there.
size_t sequenceLength(std::string_view text, size_t i) {
    const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    const uint8_t b0 = byte(i);
    if (b0 < 0x80)
        return 1;
    // Bounds on the second byte are where overlongs (E0, F0), surrogates (ED) and code points
    // above U+10FFFF (F4) are ruled out; later bytes are plain continuation bytes.
    size_t length = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        length = 3;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        length = 4;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return 0;  // continuation byte, C0/C1 (always overlong) or F5..FF
    }
    if (text.size() - i < length)
        return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi)
        return 0;
    for (size_t k = 2; k < length; ++k)
        if ((byte(i + k) & 0xC0) != 0x80)
            return 0;
    return length;
}

std::string describe(const std::filesystem::path& file) { return file.string(); }

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

bool isValidUtf8(std::string_view text, size_t* badOffset) {
    size_t i = 0;
    const size_t n = text.size();
    while (i < n) {
        // Prompt files are mostly ASCII: skip it eight bytes at a time.
        while (i + 8 <= n) {
            uint64_t block;
            std::memcpy(&block, text.data() + i, 8);
            if (block & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        const size_t length = sequenceLength(text, i);
        if (length == 0) {
            if (badOffset)
                *badOffset = i;
            return false;
        }
        i += length;
    }
    return true;
}

Result<std::string> readUtf8TextFile(const std::filesystem::path& file, size_t maxBytes) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        return badInput(describe(file) + ": is a directory, not a text file");

    errno = 0;
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
    if (!f) {
        const int err = errno;
        return badInput(describe(file) + ": cannot open: " +
                        (err ? std::strerror(err) : std::string("unknown reason")));
    }

    // Read in chunks rather than trusting the size on disk: pipes and /proc files report 0.
    std::string data;
    const auto sizeOnDisk = std::filesystem::file_size(file, ec);
    if (!ec && sizeOnDisk <= maxBytes)
        data.reserve(sizeOnDisk);
    char chunk[1 << 16];
    for (;;) {
        const size_t got = std::fread(chunk, 1, sizeof chunk, f.get());
        if (got > 0) {
            if (data.size() + got > maxBytes)
                return badInput(describe(file) + ": larger than the limit of " +
                                std::to_string(maxBytes) + " bytes for a text file");
            data.append(chunk, got);
        }
        if (got < sizeof chunk) {
            if (std::ferror(f.get())) {
                const int err = errno;
                return badInput(describe(file) + ": cannot read: " +
                                (err ? std::strerror(err) : std::string("I/O error")));
            }
            break;
        }
    }

    size_t skipped = 0;
    if (std::string_view(data).substr(0, kBom.size()) == kBom)
        skipped = kBom.size();
    const std::string_view text = std::string_view(data).substr(skipped);

    size_t bad = 0;
    if (!isValidUtf8(text, &bad)) {
        // Everything before the bad byte is valid, so characters are the non-continuation bytes.
        size_t line = 1, column = 1;
        for (size_t i = 0; i < bad; ++i) {
            const auto b = static_cast<uint8_t>(text[i]);
            if (b == '\n') {
                ++line;
                column = 1;
            } else if ((b & 0xC0) != 0x80) {
                ++column;
            }
        }
        return badInput(describe(file) + ": not valid UTF-8 at line " + std::to_string(line) +
                        ", column " + std::to_string(column) + " (byte offset " +
                        std::to_string(bad + skipped) + "); convert it to UTF-8 first");
    }
    data.erase(0, skipped);
    return data;
}

bool isBlank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    });
}

// Page text (poppler's, Tesseract's) ends lines with "\n" but may also have "\r\n", form feeds, trailing
// blanks and runs of empty lines; one plain form keeps spans and tests stable.
std::string normalizePageText(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '\r') {
            if (i + 1 < raw.size() && raw[i + 1] == '\n')
                continue;
            c = '\n';
        }
        if (c == '\f')
            c = '\n';
        if (c == '\n') {
            while (!out.empty() && (out.back() == ' ' || out.back() == '\t'))
                out.pop_back();
            if (out.empty() || (out.size() >= 2 && out[out.size() - 1] == '\n' &&
                                out[out.size() - 2] == '\n'))
                continue;
        }
        out.push_back(c);
    }
    while (!out.empty() && isBlank(std::string_view(&out.back(), 1)))
        out.pop_back();
    return out;
}

}  // namespace strata
