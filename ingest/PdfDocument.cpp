#include "PdfDocument.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>

#include "ChildProcess.h"
#include "DocumentOcr.h"
#include "PdfTableRows.h"
#include "TextDocument.h"
#include "core/Sha256.h"

namespace strata {

namespace {

// The PDF spec puts the header at the start; readers accept it within the first 1024 bytes,
// and the end-of-file marker within the last 1024.
constexpr size_t kMarkerWindow = 1024;
constexpr size_t kMaxListedPages = 20;
constexpr size_t kMaxCapturedDiagnostics = 8;

std::string utf8(const poppler::ustring& text) {
    const poppler::byte_array bytes = text.to_utf8();
    std::string out(bytes.begin(), bytes.end());
    while (!out.empty() && out.back() == '\0')
        out.pop_back();
    return out;
}

// poppler reports through one process-wide callback, so reads take turns and each one captures
// what poppler says while it runs, to quote in an error instead of printing to stderr.
std::mutex& popplerMutex() {
    static std::mutex m;
    return m;
}

struct Diagnostics {
    std::vector<std::string> messages;  // bounded: a damaged file can make poppler complain a lot
};

void captureDiagnostic(const std::string& message, void* closure) {
    auto* diagnostics = static_cast<Diagnostics*>(closure);
    if (diagnostics->messages.size() < kMaxCapturedDiagnostics)
        diagnostics->messages.push_back(message);
}

void ignoreDiagnostic(const std::string&, void*) {}

class DiagnosticsScope {
public:
    explicit DiagnosticsScope(Diagnostics& d) { poppler::set_debug_error_function(captureDiagnostic, &d); }
    ~DiagnosticsScope() { poppler::set_debug_error_function(ignoreDiagnostic, nullptr); }
    DiagnosticsScope(const DiagnosticsScope&) = delete;
    DiagnosticsScope& operator=(const DiagnosticsScope&) = delete;
};

// This read's turn with poppler: the lock, and poppler's complaints captured for this read.
class PopplerTurn {
public:
    explicit PopplerTurn(Diagnostics& d) : lock_(popplerMutex()), scope_(d) {}

private:
    std::lock_guard<std::mutex> lock_;
    DiagnosticsScope scope_;
};

// OCR of a page takes seconds and needs no poppler: the turn is given up for it (other reads go
// on meanwhile) and taken again at the end of the scope, whatever happens inside.
class TurnGivenUp {
public:
    TurnGivenUp(std::optional<PopplerTurn>& turn, Diagnostics& d) : turn_(turn), diagnostics_(d) { turn_.reset(); }
    ~TurnGivenUp() { turn_.emplace(diagnostics_); }
    TurnGivenUp(const TurnGivenUp&) = delete;
    TurnGivenUp& operator=(const TurnGivenUp&) = delete;

private:
    std::optional<PopplerTurn>& turn_;
    Diagnostics& diagnostics_;
};

// poppler's first complaint is usually the cause; later ones follow from it.
std::string quoted(const Diagnostics& d) {
    if (d.messages.empty())
        return {};
    return " (poppler: " + d.messages.front() + ")";
}

Result<std::string> readBytes(const std::filesystem::path& file, size_t maxBytes) {
    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (ec || !std::filesystem::exists(status))
        return badInput(file.string() + ": no such PDF file");
    if (std::filesystem::is_directory(status))
        return badInput(file.string() + ": is a directory, not a PDF file");
    const uintmax_t size = std::filesystem::file_size(file, ec);
    if (ec)
        return badInput(file.string() + ": cannot read the PDF file's size: " + ec.message());
    if (size == 0)
        return badInput(file.string() + ": the PDF file is empty (0 bytes)");
    if (size > maxBytes || size > uintmax_t(std::numeric_limits<int>::max()))
        return badInput(file.string() + ": the PDF file is " + std::to_string(size) +
                        " bytes, more than the limit of " +
                        std::to_string(std::min<uintmax_t>(maxBytes, std::numeric_limits<int>::max())));
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return badInput(file.string() + ": cannot open the PDF file: " + std::strerror(errno));
    std::string bytes(size_t(size), '\0');
    in.read(bytes.data(), std::streamsize(size));
    if (size_t(in.gcount()) != size)
        return badInput(file.string() + ": could not read the whole PDF file (it changed while reading?)");
    return bytes;
}

Status checkMarkers(const std::filesystem::path& file, std::string_view bytes) {
    if (bytes.substr(0, kMarkerWindow).find("%PDF-") == std::string_view::npos)
        return badInput(file.string() + ": not a PDF file (no %PDF- header at its start)");
    const size_t tail = bytes.size() > kMarkerWindow ? bytes.size() - kMarkerWindow : 0;
    if (bytes.substr(tail).find("%%EOF") == std::string_view::npos)
        return badInput(file.string() +
                        ": the PDF file is truncated or damaged (no %%EOF marker at its end); "
                        "was it copied or downloaded completely?");
    return Status::success();
}

// The page as a grey picture for OCR, at kPdfOcrDpi or, for a page too large for that, at the
// resolution that keeps it within kMaxPdfOcrPixels. The caller holds the poppler turn.
Result<OcrImage> renderForOcr(const poppler::page& page, const std::filesystem::path& file, int64_t number,
                              const Diagnostics& diagnostics) {
    const std::string where = file.string() + ": page " + std::to_string(number);
    if (!poppler::page_renderer::can_render())
        return internalError(where + " needs OCR, but this poppler was built without its renderer");
    const poppler::rectf box = page.page_rect(poppler::crop_box);
    const double widthInches = box.width() / 72.0, heightInches = box.height() / 72.0;
    if (!std::isfinite(widthInches) || !std::isfinite(heightInches) || widthInches <= 0 || heightInches <= 0)
        return badInput(where + " cannot be rendered for OCR: its page box is empty or damaged");
    double dpi = kPdfOcrDpi;
    const double pixels = widthInches * heightInches * dpi * dpi;
    if (pixels > double(kMaxPdfOcrPixels))
        dpi *= std::sqrt(double(kMaxPdfOcrPixels) / pixels);
    poppler::page_renderer renderer;
    renderer.set_image_format(poppler::image::format_gray8);
    renderer.set_render_hints(poppler::page_renderer::antialiasing | poppler::page_renderer::text_antialiasing);
    renderer.set_paper_color(0xFFFFFFFF);
    const poppler::image image = renderer.render_page(&page, dpi, dpi);
    if (!image.is_valid() || image.width() <= 0 || image.height() <= 0 || image.format() != poppler::image::format_gray8)
        return badInput(where + " cannot be rendered for OCR (damaged page?)" + quoted(diagnostics));
    OcrImage out;
    out.width = image.width();
    out.height = image.height();
    out.bytesPerPixel = 1;
    out.bytesPerRow = image.bytes_per_row();
    out.dpi = int(std::lround(dpi));
    const char* data = image.const_data();
    out.pixels.assign(data, data + size_t(out.bytesPerRow) * size_t(out.height));
    return out;
}

// The picture travels from the rendering child as 'P', width, height, bytes per row and dpi (four
// native int32), then the pixels; or as 'E' and the error's message.
std::string encodeRendering(const Result<OcrImage>& rendered) {
    if (!rendered.ok())
        return "E" + rendered.error().message;
    const OcrImage& image = rendered.value();
    std::string out = "P";
    for (const int32_t field : {image.width, image.height, image.bytesPerRow, image.dpi})
        out.append(reinterpret_cast<const char*>(&field), sizeof field);
    out.append(reinterpret_cast<const char*>(image.pixels.data()), image.pixels.size());
    return out;
}

Result<OcrImage> decodeRendering(const std::string& bytes, const std::string& where) {
    if (!bytes.empty() && bytes[0] == 'E')
        return badInput(bytes.substr(1));
    constexpr size_t kHeader = 1 + 4 * sizeof(int32_t);
    OcrImage image;
    if (bytes.size() >= kHeader && bytes[0] == 'P') {
        int32_t fields[4];
        std::memcpy(fields, bytes.data() + 1, sizeof fields);
        image.width = fields[0];
        image.height = fields[1];
        image.bytesPerRow = fields[2];
        image.dpi = fields[3];
        image.pixels.assign(bytes.begin() + long(kHeader), bytes.end());
    }
    if (image.width <= 0 || image.height <= 0 || image.bytesPerRow < image.width ||
        image.pixels.size() != size_t(image.bytesPerRow) * size_t(image.height))
        return internalError(where + ": the rendered page came back incomplete");
    return image;
}

// renderForOcr in a child process: a page whose content crashes poppler's renderer, or keeps it
// busy without end (an image that claims billions of pixels), costs an error naming the page.
// Where the system refuses a child process, the page is rendered here, unguarded.
Result<OcrImage> renderForOcrGuarded(const poppler::page& page, const std::filesystem::path& file, int64_t number,
                                     const Diagnostics& diagnostics, std::chrono::milliseconds limit,
                                     const std::function<bool()>& isCancelled) {
    const std::string where = file.string() + ": page " + std::to_string(number);
    const ChildOutcome child = runInChildProcess(
        [&]() { return encodeRendering(renderForOcr(page, file, number, diagnostics)); }, limit, isCancelled,
        size_t(kMaxPdfOcrPixels) * 2 + (size_t(1) << 20));
    switch (child.ending) {
    case ChildOutcome::Ending::Finished: return decodeRendering(child.bytes, where);
    case ChildOutcome::Ending::NoChild: return renderForOcr(page, file, number, diagnostics);
    case ChildOutcome::Ending::Crashed:
        return badInput(where + " crashed poppler's renderer while it was rendered for OCR (" + child.detail +
                        "): the page is damaged");
    case ChildOutcome::Ending::TimedOut:
        return badInput(where + " could not be rendered for OCR within " +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) +
                        " s: the page is damaged or far too complex");
    case ChildOutcome::Ending::Cancelled: return cancelled(where + ": reading was cancelled while the page was rendered");
    case ChildOutcome::Ending::TooLarge: break;
    }
    return internalError(where + ": the rendered page was larger than any page Strata renders");
}

// The words of the page with their boxes, for rebuilding table rows; empty when some word is
// rotated (tables are read upright only).
std::vector<PdfWord> pageWords(const poppler::page& page) {
    std::vector<PdfWord> words;
    for (const poppler::text_box& box : page.text_list()) {
        if (box.rotation() != 0)
            return {};
        const poppler::rectf r = box.bbox();
        words.push_back({utf8(box.text()), r.left(), r.top(), r.right(), r.bottom()});
    }
    return words;
}

std::string pageList(const std::vector<int64_t>& pages) {
    std::string out;
    for (size_t i = 0; i < pages.size() && i < kMaxListedPages; ++i) {
        if (i > 0)
            out += ", ";
        out += std::to_string(pages[i]);
    }
    if (pages.size() > kMaxListedPages)
        out += " and " + std::to_string(pages.size() - kMaxListedPages) + " more";
    return out;
}

}  // namespace

std::vector<TextSpan> PdfDocument::spans() const {
    std::vector<TextSpan> out;
    for (const PdfPage& page : pages) {
        if (!page.hasText)
            continue;
        TextSpan span;
        span.text = page.text;
        span.anchor.file = file;
        span.anchor.page = page.number;
        span.anchor.ocr = page.ocr;
        span.anchor.ocrConfidence = page.ocrConfidence;
        out.push_back(std::move(span));
    }
    return out;
}

std::vector<int64_t> PdfDocument::pagesWithoutText() const {
    std::vector<int64_t> out;
    for (const PdfPage& page : pages)
        if (!page.hasText)
            out.push_back(page.number);
    return out;
}

std::string PdfDocument::noTextSummary() const {
    const std::vector<int64_t> missing = pagesWithoutText();
    if (missing.empty())
        return {};
    const bool one = missing.size() == 1;
    const std::string pagesNamed = file.filename().string() + ": " + (one ? "page " : "pages ") + pageList(missing);
    if (ocrTried)
        return pagesNamed + (one ? " yields" : " yield") + " no text, even with OCR (blank, or too faint or small to read?)";
    return pagesNamed + (one ? " has" : " have") + " no text layer (scanned?) and OCR was turned off";
}

Result<PdfDocument> readPdf(const std::filesystem::path& file, const std::string& password,
                            IngestProgress progress, size_t maxBytes) {
    PdfReadOptions options;
    options.password = password;
    options.progress = std::move(progress);
    options.maxBytes = maxBytes;
    return readPdf(file, options);
}

Result<PdfDocument> readPdf(const std::filesystem::path& file, const PdfReadOptions& options) {
    std::string bytes;
    STRATA_ASSIGN(bytes, readBytes(file, options.maxBytes));
    STRATA_TRY(checkMarkers(file, bytes));

    Diagnostics diagnostics;
    // Declared before the document, so that the document goes while the turn is held.
    std::optional<PopplerTurn> turn(std::in_place, diagnostics);
    std::unique_ptr<DocumentOcr> ocr;  // opened at the first page without a text layer
    OcrOptions ocrOptions;
    ocrOptions.languages = options.ocrLanguages;
    ocrOptions.cancelled = options.cancelled;
    int64_t ocrConfidenceSum = 0, ocrPagesWithText = 0;

    // poppler-cpp does not throw by design, but an allocation failure deep inside could.
    try {
        // Both slots get the one password: the user may hold either the owner or the user one.
        std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
            bytes.data(), int(bytes.size()), options.password, options.password));
        if (!doc)
            return badInput(file.string() + ": not a readable PDF file (damaged or truncated?)" +
                            quoted(diagnostics));
        if (doc->is_locked()) {
            if (options.password.empty())
                return badInput(file.string() +
                                ": the PDF file is encrypted and needs its password (strata-cli: --password)");
            return badInput(file.string() +
                            ": the password does not open this encrypted PDF file");
        }

        PdfDocument result;
        result.file = file;
        result.info.title = utf8(doc->get_title());
        result.info.author = utf8(doc->get_author());
        result.info.subject = utf8(doc->get_subject());
        result.info.creator = utf8(doc->get_creator());
        result.info.producer = utf8(doc->get_producer());
        result.info.encrypted = doc->is_encrypted();
        const int count = doc->pages();
        if (count <= 0)
            return badInput(file.string() + ": the PDF file has no pages" + quoted(diagnostics));
        result.info.pageCount = count;
        result.pages.reserve(size_t(count));

        for (int i = 0; i < count; ++i) {
            const std::string ofCount = std::to_string(i + 1) + " of " + std::to_string(count);
            if (options.cancelled && options.cancelled())
                return cancelled(file.string() + ": reading was cancelled at page " + ofCount);
            std::unique_ptr<poppler::page> page(doc->create_page(i));
            if (!page)
                return badInput(file.string() + ": page " + std::to_string(i + 1) +
                                " cannot be read (damaged PDF?)" + quoted(diagnostics));
            PdfPage out;
            out.number = i + 1;
            // Geometric reading order (pdftotext's default): columns come out one after the
            // other and paragraphs keep their blank line, whatever order the content stream
            // draws them in. Physical layout would interleave columns line by line; tables get
            // their rows back from the words' geometry.
            const std::string text = utf8(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout));
            out.text = normalizePageText(isBlank(text) ? text : withTableRows(text, pageWords(*page)));
            out.hasText = !isBlank(out.text);
            if (!out.hasText && options.ocr) {
                if (!ocr) {
                    auto opened = DocumentOcr::open(file, sha256Hex(bytes), kPdfOcrDpi, ocrOptions);
                    STRATA_TRY(opened);
                    ocr = std::move(opened.value());
                }
                Result<OcrPageResult> read = internalError("not read");
                {
                    TurnGivenUp unlocked(turn, diagnostics);
                    read = ocr->page(
                        out.number,
                        [&]() -> Result<OcrImage> {
                            PopplerTurn renderTurn(diagnostics);
                            return renderForOcrGuarded(*page, file, out.number, diagnostics, options.ocrRenderLimit,
                                                       options.cancelled);
                        },
                        file.filename().string() + ", page " + std::to_string(out.number));
                }
                if (!read.ok()) {
                    // What was recognised before stays in the cache for the next read.
                    (void)ocr->save();
                    if (read.error().kind == ErrorKind::Cancelled)
                        return cancelled(file.string() + ": reading was cancelled during OCR of page " + ofCount);
                    return read.error();
                }
                out.text = read->text;
                out.hasText = !isBlank(out.text);
                out.ocr = true;
                out.ocrConfidence = read->confidence;
                ++result.ocrPages;
                if (out.hasText) {
                    ocrConfidenceSum += read->confidence;
                    ++ocrPagesWithText;
                }
            }
            result.pages.push_back(std::move(out));
            if (options.progress)
                options.progress(uint64_t(i + 1), uint64_t(count));
        }
        if (ocr) {
            // A cache that cannot be written costs time on the next read, not text on this one.
            (void)ocr->save();
            result.ocrTried = true;
            result.ocrLanguages = ocr->languages();
            result.ocrFromCache = ocr->pagesRecognised() == 0 && ocr->pagesFromCache() > 0;
            result.ocrConfidence =
                ocrPagesWithText > 0 ? int(std::lround(double(ocrConfidenceSum) / double(ocrPagesWithText))) : 0;
        } else {
            result.ocrTried = options.ocr;
        }
        return result;
    } catch (const std::bad_alloc&) {
        return internalError(file.string() + ": out of memory while reading the PDF file");
    } catch (const std::exception& e) {
        return internalError(file.string() + ": reading the PDF file failed: " + e.what());
    }
}

}  // namespace strata
