#include "PromptParts.h"

#include <algorithm>
#include <cstdio>

#include "DocumentOcr.h"
#include "ImageDocument.h"
#include "LogDocument.h"
#include "PdfDocument.h"
#include "core/Sha256.h"
#include "arch/ModelConfig.h"
#include "multimodal/MediaEncoders.h"
#include "tokenizer/Tokenizer.h"

namespace strata {

namespace {

std::string grouped(int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

// Adds a span to a text part while the part still fits the context; past that the part is only
// counted, and what was held is let go.
void keepOrCount(PromptPart& part, TextSpan&& span, const ModelInputs& model) {
    part.tokens += model.countTokens(anchorLine(span.anchor) + span.text + "\n");
    if (!part.textKept) return;
    if (model.contextTokens > 0 && part.tokens > model.contextTokens) {
        part.textKept = false;
        std::vector<TextSpan>().swap(part.spans);
        return;
    }
    part.spans.push_back(std::move(span));
}

std::string ocrNote(int64_t pages, int confidence, bool fromCache) {
    if (pages == 0) return {};
    return ", OCR " + (pages == 1 ? std::string() : grouped(pages) + " pages ") + std::to_string(confidence) + "%" +
           (fromCache ? " (cached)" : "");
}

Status readPdfPart(PromptPart& part, const ModelInputs& model, const IngestOptions& options) {
    PdfReadOptions pdfOptions;
    pdfOptions.password = options.password;
    pdfOptions.progress = options.progress;
    pdfOptions.cancelled = options.cancelled;
    pdfOptions.ocr = options.ocr;
    pdfOptions.ocrLanguages = options.ocrLanguages;
    auto pdf = readPdf(part.file, pdfOptions);
    STRATA_TRY(pdf);
    for (TextSpan& span : pdf->spans()) keepOrCount(part, std::move(span), model);
    part.pages = pdf->info.pageCount;
    part.pagesWithoutText = pdf->pagesWithoutText();
    part.title = pdf->info.title;
    part.author = pdf->info.author;
    part.ocrPages = pdf->ocrPages;
    part.ocrFromCache = pdf->ocrFromCache;
    part.ocrConfidence = pdf->ocrConfidence;
    part.details = grouped(part.pages) + (part.pages == 1 ? " page" : " pages");
    if (part.ocrPages > 0 && pdf->ocrConfidence > 0)
        part.details += ocrNote(part.ocrPages, part.ocrConfidence, part.ocrFromCache);
    if (!part.pagesWithoutText.empty()) part.details += " (" + pdf->noTextSummary() + ")";
    return {};
}

Status readTextPart(PromptPart& part, const ModelInputs& model, const IngestOptions& options) {
    LogReadOptions logOptions;
    logOptions.collapseRepeats = options.collapseRepeats;
    logOptions.progress = options.progress;
    auto summary = readLogDocument(
        part.file,
        [&](TextSpan&& span) {
            if (options.cancelled && options.cancelled())
                return Status(cancelled(part.file.string() + ": reading was cancelled at line " +
                                        grouped(span.anchor.firstLine)));
            keepOrCount(part, std::move(span), model);
            return Status{};
        },
        logOptions);
    STRATA_TRY(summary);
    part.lines = summary->lines;
    part.bytes = summary->bytes;
    part.encoding = summary->encoding;
    part.compression = summary->compression;
    part.collapsedLines = summary->collapsedLines;
    part.replacedSequences = summary->replacedSequences;
    part.details = grouped(int64_t(part.lines)) + " lines, " + (part.encoding.empty() ? "empty" : part.encoding);
    if (!part.compression.empty()) part.details += ", " + part.compression + "-compressed";
    if (part.collapsedLines > 0)
        part.details += ", " + grouped(int64_t(part.collapsedLines)) + " repeated lines collapsed";
    if (part.replacedSequences > 0)
        part.details += ", " + grouped(int64_t(part.replacedSequences)) + " ill-formed sequences replaced";
    return {};
}

// The text in an image, for a model that cannot see it; empty when OCR finds none.
Result<OcrPageResult> ocrImage(const std::filesystem::path& file, RgbImage&& image, const IngestOptions& options) {
    auto digest = sha256OfFile(file);
    STRATA_TRY(digest);
    OcrOptions ocrOptions;
    ocrOptions.languages = options.ocrLanguages;
    ocrOptions.cancelled = options.cancelled;
    auto ocr = DocumentOcr::open(file, digest->sha256, 0, ocrOptions);
    STRATA_TRY(ocr);
    auto read = ocr.value()->page(
        0,
        [&]() -> Result<OcrImage> {
            OcrImage picture;
            picture.width = image.width;
            picture.height = image.height;
            picture.bytesPerPixel = 3;
            picture.bytesPerRow = image.width * 3;
            picture.pixels = std::move(image.pixels);
            return picture;
        },
        file.filename().string());
    if (!read.ok()) {
        if (read.error().kind == ErrorKind::Cancelled)
            return cancelled(file.string() + ": reading was cancelled during OCR");
        return read.error();
    }
    (void)ocr.value()->save();  // a cache that cannot be written only costs time next time
    if (options.progress) options.progress(1, 1);
    return read;
}

Status readImagePart(PromptPart& part, const ModelInputs& model, const IngestOptions& options) {
    auto image = readImageFile(part.file);
    STRATA_TRY(image);
    part.width = image->width;
    part.height = image->height;
    part.details = std::to_string(part.width) + "x" + std::to_string(part.height) + " pixels";
    if (model.tokensPerImage <= 0) {
        if (options.ocr) {
            auto text = ocrImage(part.file, std::move(image.value()), options);
            STRATA_TRY(text);
            part.ocrPages = 1;
            part.ocrFromCache = text->fromCache;
            if (!text->text.empty()) {
                // The model reads what the picture says instead of the picture.
                part.kind = PartKind::Text;
                part.ocrConfidence = text->confidence;
                TextSpan span;
                span.text = std::move(text->text);
                span.anchor.file = part.file;
                span.anchor.ocr = true;
                span.anchor.ocrConfidence = text->confidence;
                keepOrCount(part, std::move(span), model);
                part.details += ", text by OCR " + std::to_string(text->confidence) + "%" +
                                (text->fromCache ? " (cached)" : "");
                return {};
            }
        }
        part.unusable = model.modelName + " takes no images (a Gemma 3 vision model would read it as " +
                        std::to_string(kGemma3TokensPerImage) + " tokens)";
        if (part.ocrPages > 0) part.unusable += "; OCR found no text in it";
        return {};
    }
    part.pixelValues = gemma3PixelValues(image.value(), model.imageSize);
    part.tokens = model.tokensPerImage;
    return {};
}

Status readAudioPart(PromptPart& part, const ModelInputs& model, const IngestOptions& options) {
    AudioReadOptions audioOptions;
    audioOptions.progress = options.progress;
    auto audio = readAudioFeatures(part.file, audioOptions);
    STRATA_TRY(audio);
    part.seconds = audio->durationSeconds;
    part.sampleRate = audio->sampleRate;
    part.channels = audio->channels;
    part.audioChunks = audio->chunks;
    char details[128];
    std::snprintf(details, sizeof details, "%.1f s, %d Hz, %d channel%s, %lld chunk%s of 30 s", part.seconds,
                  part.sampleRate, part.channels, part.channels == 1 ? "" : "s",
                  static_cast<long long>(part.audioChunks), part.audioChunks == 1 ? "" : "s");
    part.details = details;
    if (model.tokensPerAudioChunk <= 0) {
        part.unusable = model.modelName + " takes no audio (Voxtral would read it as " +
                        grouped(part.audioChunks * kVoxtralTokensPerAudioChunk) + " tokens)";
        return {};
    }
    part.tokens = part.audioChunks * model.tokensPerAudioChunk;
    part.audio = std::move(audio.value());
    return {};
}

}  // namespace

ModelInputs modelInputsFor(const ModelConfig& config, const Tokenizer& tokenizer, const MediaEncoders* encoders) {
    ModelInputs inputs;
    if (encoders && encoders->takesImages()) {
        inputs.tokensPerImage = encoders->tokensPerImage() + 4;
        inputs.imageSize = int(encoders->visionConfig().imageSize);
    }
    if (encoders && encoders->takesAudio()) inputs.tokensPerAudioChunk = encoders->tokensPerAudioChunk();
    inputs.modelName = config.modelType;
    inputs.contextTokens = config.maxPositions;
    inputs.countTokens = [&tokenizer](std::string_view text) {
        return int64_t(tokenizer.encode(text, false).size());
    };
    return inputs;
}

const char* partKindName(PartKind kind) {
    switch (kind) {
    case PartKind::Pdf: return "pdf";
    case PartKind::Text: return "text";
    case PartKind::Image: return "image";
    case PartKind::Audio: return "audio";
    }
    return "text";
}

PartKind detectPartKind(const std::filesystem::path& file) { return detectFileFormat(file).kind; }

Result<PromptPart> ingestFile(const std::filesystem::path& file, const ModelInputs& model,
                              const IngestOptions& options) {
    PromptPart part;
    part.file = file;
    const FileFormat format = detectFileFormat(file);
    part.kind = format.kind;
    part.format = format.name;
    if (format.support != FormatSupport::Read) return badInput(refusalMessage(file, format));
    Status read;
    switch (part.kind) {
    case PartKind::Pdf: read = readPdfPart(part, model, options); break;
    case PartKind::Text: read = readTextPart(part, model, options); break;
    case PartKind::Image: read = readImagePart(part, model, options); break;
    case PartKind::Audio: read = readAudioPart(part, model, options); break;
    }
    STRATA_TRY(read);
    return part;
}

std::string anchorLine(const SourceAnchor& anchor) { return "[" + describe(anchor) + "]\n"; }

std::string renderTextParts(const std::vector<PromptPart>& parts) {
    std::string out;
    for (const PromptPart& part : parts) {
        for (const TextSpan& span : part.spans) {
            if (!out.empty()) out += '\n';
            out += anchorLine(span.anchor);
            out += span.text;
            if (out.back() != '\n') out += '\n';
        }
    }
    return out;
}

PromptBudget weighPromptParts(const std::vector<PromptPart>& parts, int64_t contextTokens, int64_t reservedTokens) {
    PromptBudget budget;
    budget.contextTokens = contextTokens;
    budget.reservedTokens = reservedTokens;
    for (const PromptPart& part : parts) {
        budget.partTokens += part.tokens;
        if (!part.unusable.empty()) budget.unusable.push_back(part.file.filename().string() + ": " + part.unusable);
    }
    const int64_t needed = budget.partTokens + reservedTokens;
    budget.fits = needed <= contextTokens;
    budget.summary = grouped(needed) + " of a " + grouped(contextTokens) + "-token context";
    if (reservedTokens > 0)
        budget.summary += " (files " + grouped(budget.partTokens) + ", question and answer " + grouped(reservedTokens) + ")";
    if (budget.fits) return budget;

    std::vector<const PromptPart*> largest;
    for (const PromptPart& part : parts) largest.push_back(&part);
    std::sort(largest.begin(), largest.end(), [](const PromptPart* a, const PromptPart* b) { return a->tokens > b->tokens; });
    if (largest.size() > 3) largest.resize(3);
    budget.summary += ": does not fit, " + grouped(needed - contextTokens) + " tokens over. Largest: ";
    for (size_t i = 0; i < largest.size(); ++i)
        budget.summary += (i ? ", " : "") + largest[i]->file.filename().string() + " " + grouped(largest[i]->tokens);
    budget.summary += ". Choices: leave files out, ask in several passes over parts of the input, or summarise the "
                      "largest files first; nothing is cut off";
    return budget;
}

}  // namespace strata
