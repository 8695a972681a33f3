#include "OcrCache.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "core/AtomicFile.h"
#include "core/Crc32c.h"
#include "OcrEngine.h"
#include "core/Sha256.h"

namespace strata {

namespace {

constexpr char kMagic[8] = {'S', 'T', 'R', 'A', 'T', 'O', 'C', 'R'};
constexpr uint32_t kVersion = 1;
// Bumped when Strata changes what it does around Tesseract (rendering, normalising the text),
// so that results of the old way are not reused.
constexpr int kPipelineVersion = 1;
// An entry larger than this is not a cache entry Strata wrote for any real document.
constexpr size_t kMaxEntryBytes = size_t(256) << 20;

// Little-endian, width bytes wide.
void put(std::string& out, uint64_t value, int width) {
    for (int i = 0; i < width; ++i)
        out += char((value >> (8 * i)) & 0xFF);
}

// Reads little-endian fields in order; any read past the end makes ok false.
struct Reader {
    std::string_view bytes;
    size_t at = 0;
    bool ok = true;

    bool has(size_t n) {
        ok = ok && n <= bytes.size() - at;
        return ok;
    }
    uint64_t number(int width) {
        if (!has(size_t(width)))
            return 0;
        uint64_t v = 0;
        for (int i = 0; i < width; ++i)
            v |= uint64_t(uint8_t(bytes[at + size_t(i)])) << (8 * i);
        at += size_t(width);
        return v;
    }
    uint32_t u32() { return uint32_t(number(4)); }
    int64_t i64() { return int64_t(number(8)); }
    std::string text(size_t n) {
        if (!has(n))
            return {};
        std::string s(bytes.substr(at, n));
        at += n;
        return s;
    }
};

}  // namespace

const OcrCachedPage* OcrCacheEntry::find(int64_t page) const {
    for (const OcrCachedPage& p : pages)
        if (p.page == page)
            return &p;
    return nullptr;
}

std::filesystem::path ocrCacheFolder() {
    if (const char* dir = std::getenv("STRATA_OCR_CACHE_DIR"); dir && *dir)
        return dir;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "strata" / "ocr";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : "/tmp") / ".cache" / "strata" / "ocr";
}

std::string ocrCacheKey(const std::string& documentSha256, const std::string& languages, int dpi) {
    return "sha256=" + documentSha256 + ";languages=" + languages + ";dpi=" + std::to_string(dpi) +
           ";tesseract=" + tesseractVersion() + ";pipeline=" + std::to_string(kPipelineVersion);
}

std::filesystem::path ocrCachePath(const std::string& key) { return ocrCacheFolder() / (sha256Hex(key) + ".ocr"); }

std::string encodeOcrCache(const OcrCacheEntry& entry) {
    std::string out(kMagic, sizeof kMagic);
    put(out, kVersion, 4);
    put(out, uint32_t(entry.key.size()), 4);
    out += entry.key;
    put(out, uint32_t(entry.pages.size()), 4);
    for (const OcrCachedPage& page : entry.pages) {
        put(out, uint64_t(page.page), 8);
        put(out, uint32_t(page.confidence), 4);
        put(out, uint32_t(page.text.size()), 4);
        out += page.text;
    }
    put(out, crc32c(out.data(), out.size()), 4);
    return out;
}

std::optional<OcrCacheEntry> decodeOcrCache(std::string_view bytes) {
    if (bytes.size() < sizeof kMagic + 16 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
        return std::nullopt;
    const std::string_view body = bytes.substr(0, bytes.size() - 4);
    Reader crc{bytes.substr(body.size())};
    if (crc.u32() != crc32c(body.data(), body.size()))
        return std::nullopt;
    Reader r{body, sizeof kMagic};
    if (r.u32() != kVersion)
        return std::nullopt;
    OcrCacheEntry entry;
    entry.key = r.text(r.u32());
    const uint32_t pages = r.u32();
    // Each page takes at least 16 bytes, which bounds what a damaged count can make us reserve.
    if (!r.ok || pages > (body.size() - r.at) / 16)
        return std::nullopt;
    entry.pages.reserve(pages);
    for (uint32_t i = 0; i < pages && r.ok; ++i) {
        OcrCachedPage page;
        page.page = r.i64();
        page.confidence = int(r.u32());
        page.text = r.text(r.u32());
        if (page.page < 0 || page.confidence < 0 || page.confidence > 100)
            return std::nullopt;
        entry.pages.push_back(std::move(page));
    }
    if (!r.ok || r.at != body.size())
        return std::nullopt;
    return entry;
}

std::optional<OcrCacheEntry> loadOcrCache(const std::string& key) {
    const std::filesystem::path path = ocrCachePath(key);
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec || size > kMaxEntryBytes)
        return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto entry = decodeOcrCache(bytes);
    if (!entry || entry->key != key)
        return std::nullopt;
    return entry;
}

Status saveOcrCache(const OcrCacheEntry& entry) {
    const std::filesystem::path path = ocrCachePath(entry.key);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
        return internalError("cannot create the OCR cache folder " + path.parent_path().string() + ": " + ec.message());
    return writeFileAtomically(path, encodeOcrCache(entry));
}

}  // namespace strata
