#pragma once
// PDF text, page by page, through poppler-cpp. Strata has no OCR: pages without a text layer
// (scans) are reported by number instead of silently contributing nothing.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "SourceAnchor.h"
#include "core/Result.h"

namespace strata {

constexpr size_t kDefaultMaxPdfBytes = size_t(1) << 30;

struct PdfPage {
    int64_t number = 0;  // 1-based
    std::string text;    // UTF-8 in reading order; lines split by '\n', paragraphs by a blank line
    bool hasText = false;  // false: nothing but whitespace on the page (no text layer)
};

struct PdfDocumentInfo {
    std::string title;  // UTF-8; empty when the document does not say
    std::string author;
    std::string subject;
    std::string creator;
    std::string producer;
    int64_t pageCount = 0;
    bool encrypted = false;
};

struct PdfDocument {
    std::filesystem::path file;
    PdfDocumentInfo info;
    std::vector<PdfPage> pages;

    // One span per page that has text, anchored to its file and 1-based page.
    std::vector<TextSpan> spans() const;
    // Numbers of the pages without a text layer.
    std::vector<int64_t> pagesWithoutText() const;
    // "" when every page has text; otherwise e.g. "scan.pdf: pages 3, 7 have no text layer
    // (scanned?): OCR is not available".
    std::string noTextSummary() const;
};

// Reads every page's text. A missing, empty, oversized (> maxBytes), non-PDF or truncated file,
// and an encrypted one opened without its password (or with a wrong one), are badInput errors
// naming the file. progress is called after each page with (pages done, page count).
// poppler's own diagnostics are captured rather than printed to stderr.
Result<PdfDocument> readPdf(const std::filesystem::path& file, const std::string& password = {},
                            IngestProgress progress = {}, size_t maxBytes = kDefaultMaxPdfBytes);

}  // namespace strata
