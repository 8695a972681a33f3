#include "DocumentOcr.h"

namespace strata {

Result<std::unique_ptr<DocumentOcr>> DocumentOcr::open(const std::filesystem::path& file, const std::string& sha256,
                                                       int dpi, const OcrOptions& options) {
    std::unique_ptr<DocumentOcr> ocr(new DocumentOcr());
    auto languages = resolveOcrLanguages(options.languages);
    if (!languages.ok())
        return badInput(file.string() + ": " + languages.error().message);
    ocr->file_ = file;
    ocr->languages_ = languages.value();
    ocr->options_ = options;
    const std::string key = ocrCacheKey(sha256, ocr->languages_, dpi);
    if (auto cached = loadOcrCache(key))
        ocr->entry_ = std::move(*cached);
    ocr->entry_.key = key;
    return ocr;
}

Result<OcrPageResult> DocumentOcr::page(int64_t number, const Render& render, const std::string& where) {
    if (const OcrCachedPage* cached = entry_.find(number)) {
        ++fromCache_;
        return OcrPageResult{cached->text, cached->confidence, true};
    }
    if (options_.cancelled && options_.cancelled())
        return cancelled(where + ": reading was cancelled before OCR");
    if (!engine_) {
        auto engine = OcrEngine::open(languages_, file_);
        STRATA_TRY(engine);
        engine_ = std::move(engine.value());
    }
    auto image = render();
    STRATA_TRY(image);
    auto text = engine_->recognise(image.value(), options_.cancelled, where);
    STRATA_TRY(text);
    entry_.pages.push_back({number, text->text, text->confidence});
    ++recognised_;
    return OcrPageResult{text->text, text->confidence, false};
}

Status DocumentOcr::save() {
    if (recognised_ == 0)
        return {};
    return saveOcrCache(entry_);
}

}  // namespace strata
