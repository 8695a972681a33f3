#pragma once
// OCR results kept on disk, so that a second question about a scanned document does not run OCR
// again: one file per document and settings, named by a hash of the key (the document's SHA-256
// and everything that changes the result: languages, resolution, Tesseract's version). Files
// carry a magic, a version and a CRC-32C; an entry that is damaged, of another version or of
// another key is ignored (and redone by the caller), never trusted. Writes are atomic.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace strata {

struct OcrCachedPage {
    int64_t page = 0;  // 1-based PDF page; 0 for an image
    std::string text;  // "" when OCR found no text there
    int confidence = 0;
};

struct OcrCacheEntry {
    std::string key;
    std::vector<OcrCachedPage> pages;  // in the order they were recognised

    const OcrCachedPage* find(int64_t page) const;
};

// $STRATA_OCR_CACHE_DIR, else $XDG_CACHE_HOME/strata/ocr, else ~/.cache/strata/ocr.
std::filesystem::path ocrCacheFolder();

// What the cached text of a document depends on. dpi 0: an image, recognised at its own size.
std::string ocrCacheKey(const std::string& documentSha256, const std::string& languages, int dpi);

// Where the entry for key lives (in ocrCacheFolder()).
std::filesystem::path ocrCachePath(const std::string& key);

// The entry for key, or nothing when there is none, or it cannot be read or trusted.
std::optional<OcrCacheEntry> loadOcrCache(const std::string& key);

// Writes entry atomically, creating the folder; an error names the path.
Status saveOcrCache(const OcrCacheEntry& entry);

// The bytes of an entry as stored, and back (nothing when they are not a whole, intact entry of
// this version); for tests and tools.
std::string encodeOcrCache(const OcrCacheEntry& entry);
std::optional<OcrCacheEntry> decodeOcrCache(std::string_view bytes);

}  // namespace strata
