#pragma once
// Text in pictures of text (scanned pages, photographed or screenshotted documents) through
// Tesseract's C++ API and the language packs installed beside it (Debian: tesseract-ocr-eng, ...).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/Result.h"

namespace tesseract {
class TessBaseAPI;
}

namespace strata {

// 8-bit pixels, grey (1 byte a pixel) or RGB (3), rows top to bottom.
struct OcrImage {
    int width = 0;
    int height = 0;
    int bytesPerPixel = 1;
    int bytesPerRow = 0;
    int dpi = 0;  // 0: unknown, Tesseract estimates it from the size of the text
    std::vector<uint8_t> pixels;
};

struct OcrText {
    std::string text;    // UTF-8 in reading order, normalised as page text is; "" when none was found
    int confidence = 0;  // Tesseract's mean word confidence, 0-100; 0 when there is no text
};

// The language packs Tesseract finds ("eng", "deu", ...; the script and orientation data "osd"
// and the equation data "equ" are not languages), sorted.
std::vector<std::string> installedOcrLanguages();

// The languages OCR reads, as Tesseract names them ("eng+deu"): requested when it is not empty,
// else $STRATA_OCR_LANGUAGES, else "eng" when it is installed, else every installed one. A
// language whose pack is not installed is a badInput error naming the Debian package to install
// (tesseract-ocr-deu); so is no pack at all.
Result<std::string> resolveOcrLanguages(const std::string& requested = {});

// "5.3.0": results differ between versions, so caches keep them apart.
std::string tesseractVersion();

class OcrEngine {
public:
    // Loads the languages (as resolveOcrLanguages gives them); file is the document it is for,
    // named in messages.
    static Result<std::unique_ptr<OcrEngine>> open(const std::string& languages, const std::filesystem::path& file);
    ~OcrEngine();
    OcrEngine(const OcrEngine&) = delete;
    OcrEngine& operator=(const OcrEngine&) = delete;

    // The text in image. cancelled (may be empty) is polled while Tesseract recognises words; when
    // it says yes the result is a cancelled(...) error. where names the picture in messages
    // ("scan.pdf, page 3").
    Result<OcrText> recognise(const OcrImage& image, const std::function<bool()>& cancelled,
                              const std::string& where);

private:
    OcrEngine();
    std::unique_ptr<tesseract::TessBaseAPI> api_;
};

}  // namespace strata
