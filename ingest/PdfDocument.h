#pragma once
// PDF text, page by page, through poppler-cpp. Pages without a text layer (scans) are rendered and
// read by OCR (Tesseract, cached per document); their text is marked as OCR's in its anchors.
// Tables keep their rows, one a line. Pages that yield no text even so are reported by number
// instead of silently contributing nothing.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "SourceAnchor.h"
#include "core/Result.h"

namespace strata {

constexpr size_t kDefaultMaxPdfBytes = size_t(1) << 30;

// Pages without a text layer are rendered this fine for OCR (grey): Tesseract reads body text
// best at about 300 dpi.
constexpr int kPdfOcrDpi = 300;
// A page larger than this at kPdfOcrDpi (a poster, a drawing) is rendered coarser, so that one
// page's picture stays within about this many bytes.
constexpr uint64_t kMaxPdfOcrPixels = uint64_t(40) << 20;

struct PdfPage {
    int64_t number = 0;  // 1-based
    std::string text;    // UTF-8 in reading order; lines split by '\n', paragraphs by a blank line;
                         // table rows one a line, cells joined by " | "
    bool hasText = false;  // false: nothing but whitespace on the page, even after OCR
    bool ocr = false;      // the page had no text layer and OCR ran on it
    int ocrConfidence = 0;  // Tesseract's mean word confidence (0-100) when OCR found text
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
    // OCR: whether it was tried on the pages without a text layer, on how many pages, whether
    // every one of them came from the cache, and the mean confidence over the pages it found text
    // on (0 when none).
    bool ocrTried = false;
    int64_t ocrPages = 0;
    bool ocrFromCache = false;
    int ocrConfidence = 0;
    std::string ocrLanguages;  // "eng", "eng+deu", ... when OCR ran

    // One span per page that has text, anchored to its file and 1-based page (and marked as
    // OCR's with its confidence where OCR read it).
    std::vector<TextSpan> spans() const;
    // Numbers of the pages that have no text, even after OCR.
    std::vector<int64_t> pagesWithoutText() const;
    // "" when every page has text; otherwise e.g. "scan.pdf: pages 3, 7 yield no text, even with
    // OCR (blank, or too faint or small to read?)".
    std::string noTextSummary() const;
};

struct PdfReadOptions {
    std::string password;  // both the user and the owner password open a document
    IngestProgress progress;  // after each page: (pages done, page count)
    // Polled between pages and during OCR; when it says yes, the read stops with a cancelled(...)
    // error (what OCR recognised so far stays in the cache).
    std::function<bool()> cancelled;
    size_t maxBytes = kDefaultMaxPdfBytes;
    bool ocr = true;           // OCR of pages without a text layer
    std::string ocrLanguages;  // "eng+deu"; "": resolveOcrLanguages' default
    // A page is rendered for OCR in a child process, which is killed when it takes longer than
    // this (poppler's renderer can be kept busy for hours by a hostile page).
    std::chrono::milliseconds ocrRenderLimit = std::chrono::seconds(60);
};

// Reads every page's text. A missing, empty, oversized (> maxBytes), non-PDF or truncated file,
// and an encrypted one opened without its password (or with a wrong one), are badInput errors
// naming the file; so are a page that cannot be rendered for OCR and a missing OCR language pack.
// poppler's own diagnostics are captured rather than printed to stderr.
Result<PdfDocument> readPdf(const std::filesystem::path& file, const PdfReadOptions& options);

// The same with the default options but these.
Result<PdfDocument> readPdf(const std::filesystem::path& file, const std::string& password = {},
                            IngestProgress progress = {}, size_t maxBytes = kDefaultMaxPdfBytes);

}  // namespace strata
