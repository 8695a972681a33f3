#pragma once
// Files made into model input: each file becomes one PromptPart (text spans with their source
// anchors, an image tensor, or audio features) with its token count for the chosen model, and a
// request's parts are weighed against the model's context before anything runs. Nothing is cut
// off: when the parts do not fit, the budget says so and names the choices.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "AudioDocument.h"
#include "FileFormat.h"
#include "SourceAnchor.h"
#include "core/Result.h"

namespace strata {

// Images and recordings: parts that go through a model's encoders rather than its tokenizer.
inline bool isMediaPart(PartKind kind) { return kind == PartKind::Image || kind == PartKind::Audio; }
const char* partKindName(PartKind kind);  // "pdf", "text", "image", "audio"

// What a file holds, from its first bytes or, failing that, its extension (detectFileFormat's
// kind): Text when neither says otherwise. A format Strata refuses still has its nearest kind (an
// M4A is audio, a ZIP archive text); ingestFile then says why it is refused.
PartKind detectPartKind(const std::filesystem::path& file);

// What the chosen model takes, and how it counts.
struct ModelInputs {
    std::string modelName;  // for messages: "gemma3", "llama", ...
    int64_t contextTokens = 0;
    std::function<int64_t(std::string_view text)> countTokens;  // tokens of text without BOS
    int64_t tokensPerImage = 0;       // 0: the model takes no images
    int imageSize = 896;              // pixels per side the image encoder takes (Gemma 3: 896)
    int64_t tokensPerAudioChunk = 0;  // per 30 s; 0: the model takes no audio
};

class Tokenizer;
struct ModelConfig;
class MediaEncoders;

// The inputs of a model Strata loads: its context (config.maxPositions), its tokenizer's count
// (the tokenizer must outlive the result) and, with its encoders, the tokens an image or 30 s of
// audio takes (the image's begin and end markers and line breaks included).
ModelInputs modelInputsFor(const ModelConfig& config, const Tokenizer& tokenizer,
                           const MediaEncoders* encoders = nullptr);

// Gemma 3's vision tower pools every image to 256 soft tokens; Voxtral's audio encoder makes
// 375 tokens of each 30-second chunk. Named so that a text-only model can still say what a
// multimodal one would need.
constexpr int64_t kGemma3TokensPerImage = 256;
constexpr int64_t kVoxtralTokensPerAudioChunk = 375;

struct IngestOptions {
    std::string password;         // for encrypted PDFs
    bool collapseRepeats = false;  // text and logs: runs of identical lines become one with a count
    // Pages, bytes or frames done of total for the file being read (a compressed log: compressed
    // bytes of the compressed size; a PDF: pages, OCR included).
    IngestProgress progress;
    // Polled between pages (and blocks) and while OCR works; when it says yes, ingestFile stops
    // with a cancelled(...) error, "FILE: reading was cancelled ...".
    std::function<bool()> cancelled;
    // OCR of PDF pages without a text layer, and of images for models that take no images.
    bool ocr = true;
    // Tesseract languages, "eng+deu"; "": $STRATA_OCR_LANGUAGES, else eng, else what is installed.
    std::string ocrLanguages;
};

struct PromptPart {
    std::filesystem::path file;
    PartKind kind = PartKind::Text;
    // What the file is, as found from its bytes, for people: "PDF document", "WebP image",
    // "gzip-compressed text", ... (the window's Type column, strata-cli ingest).
    std::string format;
    std::string details;  // "12 pages", "4,310 lines, UTF-16LE", "1280x720 pixels", "45.0 s, ..."
    int64_t tokens = 0;   // for the model (anchor lines included); 0 when it cannot take the part
    // Non-empty when the model cannot take this part ("gemma3 takes no images ..."); such a part
    // is reported but never silently dropped from a request.
    std::string unusable;

    // Text (pdf, text): the spans in file order. Kept while the part fits the context; a part
    // larger than the whole context is counted to the end but its spans are not held
    // (textKept false), so a multi-gigabyte log is weighed in bounded memory.
    std::vector<TextSpan> spans;
    bool textKept = true;

    // Image: Gemma 3 pixel values (3 x 896 x 896, channel-major), filled when the model takes images.
    std::vector<float> pixelValues;
    // Audio: Whisper log-mel features, filled when the model takes audio.
    AudioFeatures audio;

    // OCR: pages (an image counts as one) whose text OCR was asked for, whether all of them came
    // from the cache rather than from running Tesseract, and the mean confidence (0-100) over
    // those where it found text.
    int64_t ocrPages = 0;
    bool ocrFromCache = false;
    int ocrConfidence = 0;

    // Facts for summaries (0 or empty when they do not apply).
    int64_t pages = 0;
    std::vector<int64_t> pagesWithoutText;  // PDF pages with no text, even after OCR
    std::string title, author;
    uint64_t lines = 0, bytes = 0, collapsedLines = 0, replacedSequences = 0;
    std::string encoding;
    std::string compression;  // text: "gzip", "xz", "zstd", "bzip2"; "" when plain
    int width = 0, height = 0;
    double seconds = 0;
    int sampleRate = 0, channels = 0;
    int64_t audioChunks = 0;
};

// Reads file as its format says and counts its tokens for model. A bad file, and a format Strata
// does not read ("FILE: a ZIP archive is not supported; extract it ..."), are badInput errors
// naming it; the caller decides whether the other files go on. An image for a model that takes no
// images becomes a text part when OCR finds text in it.
Result<PromptPart> ingestFile(const std::filesystem::path& file, const ModelInputs& model,
                              const IngestOptions& options = {});

// The line that introduces a span in the prompt, so that answers can cite it:
// "[report.pdf, page 3]\n"; for OCR text "[scan.pdf, page 3, OCR 94%]\n" or "[photo.png, OCR 91%]\n".
std::string anchorLine(const SourceAnchor& anchor);

// The text the model reads for the text parts: each span after its anchor line, spans
// separated by a blank line. Parts whose text was not kept, or that are not text, add nothing.
std::string renderTextParts(const std::vector<PromptPart>& parts);

// A request's parts (plus reservedTokens for the question, the chat format and the answer)
// against the context.
struct PromptBudget {
    int64_t partTokens = 0;
    int64_t reservedTokens = 0;
    int64_t contextTokens = 0;
    bool fits = true;
    std::vector<std::string> unusable;  // "a.png: gemma3 takes no images"
    // One line: "12,345 of 32,768 tokens" or, when it does not fit, the overrun, the largest
    // parts and the choices (leave files out, several passes, summarise first).
    std::string summary;
};

PromptBudget weighPromptParts(const std::vector<PromptPart>& parts, int64_t contextTokens,
                              int64_t reservedTokens = 0);

}  // namespace strata
