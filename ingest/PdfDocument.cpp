#include "PdfDocument.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>

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

bool isBlank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    });
}

// poppler ends lines with "\n" but may also emit "\r\n", form feeds, trailing blanks and runs of
// empty lines; one plain form (at most one empty line in a row) keeps spans and tests stable.
std::string normalizePageText(const std::string& raw) {
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
    return file.filename().string() + ": " + (one ? "page " : "pages ") + pageList(missing) +
           (one ? " has" : " have") + " no text layer (scanned?): OCR is not available";
}

Result<PdfDocument> readPdf(const std::filesystem::path& file, const std::string& password,
                            IngestProgress progress, size_t maxBytes) {
    std::string bytes;
    STRATA_ASSIGN(bytes, readBytes(file, maxBytes));
    STRATA_TRY(checkMarkers(file, bytes));

    std::lock_guard<std::mutex> lock(popplerMutex());
    Diagnostics diagnostics;
    DiagnosticsScope scope(diagnostics);

    // poppler-cpp does not throw by design, but an allocation failure deep inside could.
    try {
        // Both slots get the one password: the user may hold either the owner or the user one.
        std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
            bytes.data(), int(bytes.size()), password, password));
        if (!doc)
            return badInput(file.string() + ": not a readable PDF file (damaged or truncated?)" +
                            quoted(diagnostics));
        if (doc->is_locked()) {
            if (password.empty())
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
            std::unique_ptr<poppler::page> page(doc->create_page(i));
            if (!page)
                return badInput(file.string() + ": page " + std::to_string(i + 1) +
                                " cannot be read (damaged PDF?)" + quoted(diagnostics));
            PdfPage out;
            out.number = i + 1;
            // Geometric reading order (pdftotext's default): columns come out one after the
            // other and paragraphs keep their blank line, whatever order the content stream
            // draws them in. Physical layout would interleave columns line by line.
            out.text = normalizePageText(
                utf8(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout)));
            out.hasText = !isBlank(out.text);
            result.pages.push_back(std::move(out));
            if (progress)
                progress(uint64_t(i + 1), uint64_t(count));
        }
        return result;
    } catch (const std::bad_alloc&) {
        return internalError(file.string() + ": out of memory while reading the PDF file");
    } catch (const std::exception& e) {
        return internalError(file.string() + ": reading the PDF file failed: " + e.what());
    }
}

}  // namespace strata
