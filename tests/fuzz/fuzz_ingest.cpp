// libFuzzer targets for the ingest readers, one executable per reader (STRATA_FUZZ_READER is
// pdf, log, image or audio; see README.md). Each input is taken as a whole file of that kind. Bad
// input must come back as an error value: a crash, a sanitizer report, a leak or an exception
// stops the run.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "AudioDocument.h"
#include "ImageDocument.h"
#include "LogDocument.h"
#include "PdfDocument.h"

namespace {

// The PDF, log and audio readers open files by path: each input is written to one file per
// process, replaced for every input and removed at exit.
const std::string& scratchFile(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/strata-fuzz-" STRATA_FUZZ_READER "-" + std::to_string(::getpid());
    static const bool cleanup = (std::atexit([] { std::remove(path.c_str()); }), true);
    (void)cleanup;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    if (!out) std::abort();
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace strata;
    const std::string reader = STRATA_FUZZ_READER;
    if (reader == "image") {
        ImageLimits limits;
        limits.maxPixels = uint64_t(1) << 20;  // keeps each input fast; the limit itself is under test
        auto image = decodeImage(data, size, "fuzz-input", limits);
        if (image.ok()) (void)gemma3PixelValues(image.value(), 64);
        return 0;
    }
    const std::string& file = scratchFile(data, size);
    if (reader == "pdf") {
        // The parser is under test here, not Tesseract: a page per input through OCR would cost
        // each run seconds.
        PdfReadOptions options;
        options.password = "fuzz";
        options.ocr = false;
        auto pdf = readPdf(file, options);
        if (pdf.ok()) (void)pdf->spans(), (void)pdf->noTextSummary();
    } else if (reader == "log") {
        LogReadOptions options;
        options.blockBytes = 4096;  // block borders inside small inputs
        options.maxSpanLines = 7;
        options.maxSpanBytes = 256;
        options.collapseRepeats = size % 2 == 0;
        (void)readLogDocument(file, [](TextSpan&&) { return Status{}; }, options);
    } else if (reader == "audio") {
        AudioReadOptions options;
        options.maxSeconds = 120;
        (void)readAudioFeatures(file, options);
    }
    return 0;
}
