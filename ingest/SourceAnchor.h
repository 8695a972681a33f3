#pragma once
// Where a piece of ingested input came from, so that an answer can cite it: the file, and the page
// (PDF), line range (text and logs) or time range (audio) inside it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace strata {

struct SourceAnchor {
    std::filesystem::path file;
    int64_t page = 0;       // 1-based PDF page; 0: not a page
    int64_t firstLine = 0;  // 1-based inclusive line range; 0: not lines
    int64_t lastLine = 0;
    double startSeconds = -1;  // audio time range; -1: not audio
    double endSeconds = -1;
    // Text read from a picture by OCR (a scanned page, an image), with Tesseract's mean word
    // confidence 0-100: answers citing it should be checked against the picture.
    bool ocr = false;
    int ocrConfidence = 0;
};

// "report.pdf, page 3", "app.log, lines 120-180", "call.wav, 0:30-1:00", and for OCR text
// "scan.pdf, page 3, OCR 94%" or "photo.png, OCR 91%" (the window's transcript matches these
// forms to link cited sources).
std::string describe(const SourceAnchor& anchor);

// A run of text from one place in one file.
struct TextSpan {
    std::string text;  // UTF-8
    SourceAnchor anchor;
};

// Called as a reader works through a file: units done (bytes, pages, ...) of total (0: unknown).
using IngestProgress = std::function<void(uint64_t done, uint64_t total)>;

}  // namespace strata
