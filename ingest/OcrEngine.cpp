#include "OcrEngine.h"

#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <system_error>

#include "TextDocument.h"

namespace strata {

namespace {

// Where Debian (and a from-source install) keep the language packs, newest layout first.
constexpr const char* kTessdataFolders[] = {"/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                                            "/usr/share/tessdata", "/usr/local/share/tessdata"};

// Tesseract's own rule: $TESSDATA_PREFIX names the folder of the packs (older installs pointed it
// at the folder above); otherwise the folder it was built with.
std::filesystem::path tessdataFolder() {
    std::error_code ec;
    if (const char* prefix = std::getenv("TESSDATA_PREFIX"); prefix && *prefix) {
        const std::filesystem::path folder(prefix);
        if (std::filesystem::is_directory(folder / "tessdata", ec) &&
            !std::filesystem::exists(folder / "eng.traineddata", ec))
            return folder / "tessdata";
        return folder;
    }
    for (const char* folder : kTessdataFolders)
        if (std::filesystem::is_directory(folder, ec))
            return folder;
    return kTessdataFolders[0];
}

bool isLanguageName(const std::string& name) {
    return !name.empty() && name.find("..") == std::string::npos &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/';
           });
}

// Debian packs a language as tesseract-ocr-<name> with '_' made '-' (chi_sim: tesseract-ocr-chi-sim).
std::string packageFor(const std::string& language) {
    std::string package = "tesseract-ocr-";
    for (char c : language)
        package += c == '_' ? '-' : char(std::tolower(static_cast<unsigned char>(c)));
    return package;
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names)
        out += (out.empty() ? "" : ", ") + name;
    return out.empty() ? "none" : out;
}

// Whether OCR output holds anything to read: noise on a blank or photographic page comes out as
// a few stray marks (a small checker pattern reads as "7a" at 38%), text as words in numbers or
// with high confidence (clean print reads at 90% and more).
constexpr int kNoiseConfidence = 50;
constexpr size_t kNoiseWords = 5;

bool hasWords(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
    });
}

size_t wordCount(std::string_view text) {
    size_t words = 0;
    bool inWord = false;
    for (char c : text) {
        const bool space = c == ' ' || c == '\n' || c == '\t';
        words += !space && !inWord;
        inWord = !space;
    }
    return words;
}

struct CancelHook {
    const std::function<bool()>* cancelled;
    bool fired = false;
};

bool cancelRecognition(void* hook, int) {
    auto* h = static_cast<CancelHook*>(hook);
    if (!h->fired && *h->cancelled && (*h->cancelled)())
        h->fired = true;
    return h->fired;
}

}  // namespace

std::vector<std::string> installedOcrLanguages() {
    std::vector<std::string> languages;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(tessdataFolder(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::filesystem::path& path = it->path();
        if (path.extension() != ".traineddata")
            continue;
        const std::string name = path.stem().string();
        if (name != "osd" && name != "equ")
            languages.push_back(name);
    }
    std::sort(languages.begin(), languages.end());
    return languages;
}

Result<std::string> resolveOcrLanguages(const std::string& requested) {
    std::string wanted = requested;
    if (wanted.empty())
        if (const char* env = std::getenv("STRATA_OCR_LANGUAGES"); env && *env)
            wanted = env;
    const std::vector<std::string> installed = installedOcrLanguages();
    const auto isInstalled = [&](const std::string& name) {
        return std::find(installed.begin(), installed.end(), name) != installed.end();
    };
    if (wanted.empty()) {
        if (installed.empty())
            return badInput("OCR needs a Tesseract language pack and none is installed in " + tessdataFolder().string() +
                            ": install tesseract-ocr-eng (or the pack of the documents' language)");
        if (isInstalled("eng"))
            return std::string("eng");
        std::string all;
        for (const std::string& name : installed)
            all += (all.empty() ? "" : "+") + name;
        return all;
    }
    size_t start = 0;
    while (start <= wanted.size()) {
        const size_t plus = std::min(wanted.find('+', start), wanted.size());
        const std::string name = wanted.substr(start, plus - start);
        if (!isLanguageName(name))
            return badInput("OCR language list \"" + wanted + "\" is not valid: give Tesseract language names joined "
                            "by '+', such as eng+deu");
        if (!isInstalled(name))
            return badInput("the OCR language \"" + name + "\" is not installed (installed: " + joined(installed) +
                            "): install the package " + packageFor(name));
        start = plus + 1;
    }
    return wanted;
}

std::string tesseractVersion() { return tesseract::TessBaseAPI::Version(); }

OcrEngine::OcrEngine() : api_(std::make_unique<tesseract::TessBaseAPI>()) {}

OcrEngine::~OcrEngine() {
    if (api_)
        api_->End();
}

Result<std::unique_ptr<OcrEngine>> OcrEngine::open(const std::string& languages, const std::filesystem::path& file) {
    std::unique_ptr<OcrEngine> engine(new OcrEngine());
    // Tesseract's diagnostics ("Estimating resolution as ...") go nowhere instead of stderr.
    std::vector<std::string> names = {"debug_file"}, values = {"/dev/null"};
    const std::string folder = tessdataFolder().string();
    if (engine->api_->Init(folder.c_str(), languages.c_str(), tesseract::OEM_DEFAULT, nullptr, 0, &names, &values,
                           false) != 0)
        return badInput(file.string() + ": Tesseract could not load the OCR languages \"" + languages + "\" from " +
                        folder + " (damaged language pack?)");
    return engine;
}

Result<OcrText> OcrEngine::recognise(const OcrImage& image, const std::function<bool()>& cancelled,
                                     const std::string& where) {
    if (image.width <= 0 || image.height <= 0 || (image.bytesPerPixel != 1 && image.bytesPerPixel != 3) ||
        image.bytesPerRow < image.width * image.bytesPerPixel ||
        image.pixels.size() < size_t(image.bytesPerRow) * size_t(image.height))
        return internalError(where + ": an image for OCR with an impossible layout");
    api_->SetImage(image.pixels.data(), image.width, image.height, image.bytesPerPixel, image.bytesPerRow);
    if (image.dpi > 0)
        api_->SetSourceResolution(image.dpi);
    CancelHook hook{&cancelled};
    tesseract::ETEXT_DESC monitor;
    monitor.cancel = cancelRecognition;
    monitor.cancel_this = &hook;
    const int status = api_->Recognize(&monitor);
    if (hook.fired || (cancelled && cancelled())) {
        api_->Clear();
        return strata::cancelled(where + ": reading was cancelled during OCR");
    }
    OcrText result;
    if (status == 0) {
        const std::unique_ptr<char[]> text(api_->GetUTF8Text());
        const int confidence = std::clamp(api_->MeanTextConf(), 0, 100);
        if (text && hasWords(text.get()) &&
            (confidence >= kNoiseConfidence || wordCount(text.get()) >= kNoiseWords)) {
            result.text = normalizePageText(text.get());
            result.confidence = confidence;
        }
    }
    api_->Clear();
    return result;
}

}  // namespace strata
