#pragma once
// OCR of one document's pages (or of one image) with the cache in front: pages the cache holds
// for this document and these settings come from it, the others are rendered by the caller and
// recognised, and what was recognised is written back, so a second question reads no page twice.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "OcrCache.h"
#include "OcrEngine.h"
#include "core/Result.h"

namespace strata {

struct OcrOptions {
    bool enabled = true;
    std::string languages;             // "eng+deu"; "": resolveOcrLanguages' default
    std::function<bool()> cancelled;   // polled between pages and while Tesseract works
};

struct OcrPageResult {
    std::string text;  // "" when OCR found nothing to read
    int confidence = 0;
    bool fromCache = false;
};

class DocumentOcr {
public:
    // file names the document in messages and sha256 is its bytes' digest; dpi is the resolution
    // pages are rendered at (0 for an image, recognised at its own size). The languages are
    // resolved here, so a missing language pack is an error before any work.
    static Result<std::unique_ptr<DocumentOcr>> open(const std::filesystem::path& file, const std::string& sha256,
                                                     int dpi, const OcrOptions& options);

    // Makes the picture of a page for OCR; only called when the cache does not hold the page.
    using Render = std::function<Result<OcrImage>()>;

    // The text of page (1-based; 0 for an image). where names it in messages ("scan.pdf, page 3").
    Result<OcrPageResult> page(int64_t number, const Render& render, const std::string& where);

    // Writes the pages recognised since open to the cache, with those it already held. Nothing
    // is lost when this fails (the text is in hand); the caller may ignore the error.
    Status save();

    const std::string& languages() const { return languages_; }
    int64_t pagesRecognised() const { return recognised_; }
    int64_t pagesFromCache() const { return fromCache_; }

private:
    DocumentOcr() = default;

    std::filesystem::path file_;
    std::string languages_;
    OcrOptions options_;
    OcrCacheEntry entry_;
    std::unique_ptr<OcrEngine> engine_;  // loaded at the first page the cache does not hold
    int64_t recognised_ = 0;
    int64_t fromCache_ = 0;
};

}  // namespace strata
