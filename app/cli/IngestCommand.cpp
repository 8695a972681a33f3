// strata-cli ingest: what each file becomes as model input — its type, size in pages, lines,
// seconds or pixels, and its tokens for the model — and whether all of it fits the context. A bad
// file is reported and the others still ingest; nothing is ever cut off silently.
#include <cctype>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "AudioDocument.h"
#include "CliModel.h"
#include "ImageDocument.h"
#include "Commands.h"
#include "LogDocument.h"
#include "PdfDocument.h"
#include "model/ModelConfig.h"
#include "format/Checkpoint.h"

namespace strata::cli {

namespace {

struct FileSummary {
    std::string file;
    std::string type;     // "pdf", "text", "image", "audio"
    std::string details;  // "12 pages", "4,310 lines, UTF-16LE"
    int64_t tokens = 0;
    nlohmann::json json;
    std::string error;
};


int64_t tokensOf(const Tokenizer& tokenizer, const std::string& text) {
    return int64_t(tokenizer.encode(text, false).size());
}

Status ingestPdf(const std::filesystem::path& file, const CliArguments& args, const Tokenizer& tokenizer,
                 FileSummary& out) {
    auto pdf = readPdf(file, args.get("password").value_or(""));
    STRATA_TRY(pdf);
    out.type = "pdf";
    for (const TextSpan& span : pdf->spans()) out.tokens += tokensOf(tokenizer, span.text);
    const auto missing = pdf->pagesWithoutText();
    out.details = std::to_string(pdf->info.pageCount) + " pages";
    if (!missing.empty()) out.details += " (" + pdf->noTextSummary() + ")";
    out.json = {{"pages", pdf->info.pageCount}, {"pages_without_text", missing}, {"title", pdf->info.title},
                {"author", pdf->info.author}};
    return {};
}

Status ingestText(const std::filesystem::path& file, const CliArguments& args, const Tokenizer& tokenizer,
                  FileSummary& out) {
    LogReadOptions options;
    options.collapseRepeats = args.has("collapse-repeats");
    int64_t tokens = 0;
    auto summary = readLogDocument(
        file,
        [&](TextSpan&& span) {
            tokens += tokensOf(tokenizer, span.text);
            return Status{};
        },
        options);
    STRATA_TRY(summary);
    out.type = "text";
    out.tokens = tokens;
    out.details = std::to_string(summary->lines) + " lines, " +
                  (summary->encoding.empty() ? std::string("empty") : summary->encoding);
    if (summary->collapsedLines > 0)
        out.details += ", " + std::to_string(summary->collapsedLines) + " repeated lines collapsed";
    out.json = {{"lines", summary->lines},
                {"bytes", summary->bytes},
                {"encoding", summary->encoding},
                {"collapsed_lines", summary->collapsedLines},
                {"replaced_sequences", summary->replacedSequences}};
    return {};
}

// Voxtral's audio encoder turns each 30-second chunk (3000 mel frames) into 375 tokens.
constexpr int64_t kVoxtralTokensPerChunk = 375;


Status ingestAudio(const std::filesystem::path& file, FileSummary& out) {
    auto audio = readAudioFeatures(file);
    STRATA_TRY(audio);
    out.type = "audio";
    char details[160];
    std::snprintf(details, sizeof details, "%.1f s, %d Hz, %d channel(s), %lld chunk(s) of 30 s (%lld tokens for Voxtral)",
                  audio->durationSeconds, audio->sampleRate, audio->channels, static_cast<long long>(audio->chunks),
                  static_cast<long long>(audio->chunks * kVoxtralTokensPerChunk));
    out.details = details;
    // The text models Strata runs today take no audio: it is not counted against their context.
    out.json = {{"seconds", audio->durationSeconds},
                {"sample_rate", audio->sampleRate},
                {"channels", audio->channels},
                {"chunks", audio->chunks},
                {"voxtral_tokens", audio->chunks * kVoxtralTokensPerChunk}};
    return {};
}

// Gemma 3's vision tower pools every image (896x896) to 256 soft tokens.
constexpr int64_t kGemma3TokensPerImage = 256;


Status ingestImage(const std::filesystem::path& file, FileSummary& out) {
    auto image = readImageFile(file);
    STRATA_TRY(image);
    out.type = "image";
    out.details = std::to_string(image->width) + "x" + std::to_string(image->height) + " pixels (" +
                  std::to_string(kGemma3TokensPerImage) + " tokens for Gemma 3)";
    // The text models Strata runs today take no images: they are not counted against their context.
    out.json = {{"width", image->width}, {"height", image->height}, {"gemma3_tokens", kGemma3TokensPerImage}};
    return {};
}

enum class FileKind { Pdf, Image, Audio, Text };

// What a file holds, from its first bytes (read once) or, failing that, its extension.
FileKind kindOf(const std::filesystem::path& file) {
    std::string head(8, '\0');
    std::ifstream in(file, std::ios::binary);
    in.read(head.data(), std::streamsize(head.size()));
    head.resize(size_t(in.gcount()));
    const auto starts = [&](std::string_view magic) { return head.compare(0, magic.size(), magic) == 0; };
    std::string ext = file.extension().string();
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    const auto extIs = [&](std::initializer_list<const char*> names) {
        for (const char* n : names)
            if (ext == n) return true;
        return false;
    };
    if (starts("%PDF-")) return FileKind::Pdf;
    if (extIs({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".psd", ".pnm", ".ppm", ".pgm", ".hdr"}) ||
        starts("\x89PNG") || starts("\xff\xd8\xff") || starts("GIF8") || starts("BM"))
        return FileKind::Image;
    if (extIs({".wav", ".flac", ".ogg", ".oga", ".mp3"}) || starts("RIFF") || starts("fLaC") || starts("OggS") ||
        starts("ID3"))
        return FileKind::Audio;
    return FileKind::Text;
}

}  // namespace

Status ingestCommand(const std::vector<std::string>& argv) {
    // Files are the bare words; flags as elsewhere.
    std::vector<std::string> flagArgs, files;
    const std::set<std::string> valueFlags = {"model", "password", "context"};
    for (size_t i = 0; i < argv.size(); ++i) {
        if (argv[i].rfind("--", 0) != 0) {
            files.push_back(argv[i]);
            continue;
        }
        flagArgs.push_back(argv[i]);
        if (valueFlags.count(argv[i].substr(2)) && i + 1 < argv.size()) flagArgs.push_back(argv[++i]);
    }
    auto args = CliArguments::parse(flagArgs, valueFlags, {"json", "collapse-repeats"});
    STRATA_TRY(args);
    if (files.empty()) return badInput("ingest needs at least one file");
    auto path = modelPath(args.value());
    STRATA_TRY(path);
    auto tokenizer = loadTokenizer(path.value());
    STRATA_TRY(tokenizer);
    auto checkpoint = Checkpoint::open(path.value());
    STRATA_TRY(checkpoint);
    auto config = loadModelConfig(*checkpoint.value());
    STRATA_TRY(config);
    int64_t context = 0;
    STRATA_ASSIGN(context, args->integer("context", config->maxPositions, 1, int64_t(1) << 40));

    std::vector<FileSummary> summaries;
    int64_t total = 0;
    bool anyFailed = false;
    for (const std::string& name : files) {
        FileSummary s;
        s.file = name;
        const std::filesystem::path file(name);
        Status done;
        switch (kindOf(file)) {
        case FileKind::Pdf: done = ingestPdf(file, args.value(), *tokenizer.value(), s); break;
        case FileKind::Image: done = ingestImage(file, s); break;
        case FileKind::Audio: done = ingestAudio(file, s); break;
        case FileKind::Text: done = ingestText(file, args.value(), *tokenizer.value(), s); break;
        }
        if (!done.ok()) {
            s.error = done.error().message;
            anyFailed = true;
        }
        total += s.tokens;
        summaries.push_back(std::move(s));
    }

    const bool fits = total <= context;
    if (args->has("json")) {
        nlohmann::json out = nlohmann::json::array();
        for (const FileSummary& s : summaries) {
            nlohmann::json j = s.json.is_null() ? nlohmann::json::object() : s.json;
            j["file"] = s.file;
            j["type"] = s.type;
            j["tokens"] = s.tokens;
            if (!s.error.empty()) j["error"] = s.error;
            out.push_back(j);
        }
        std::printf("%s\n", nlohmann::json{{"files", out}, {"total_tokens", total}, {"context_tokens", context},
                                           {"fits", fits}}.dump(2).c_str());
    } else {
        for (const FileSummary& s : summaries) {
            if (!s.error.empty()) std::printf("%s: error: %s\n", s.file.c_str(), s.error.c_str());
            else std::printf("%s: %s, %s, %lld tokens\n", s.file.c_str(), s.type.c_str(), s.details.c_str(),
                             static_cast<long long>(s.tokens));
        }
        std::printf("total %lld tokens of a %lld-token context%s\n", static_cast<long long>(total),
                    static_cast<long long>(context),
                    fits ? "" : ": does not fit. Choices: leave files out, ask in several passes over parts of the "
                                "input, or summarise the largest files first; nothing is cut off");
    }
    if (anyFailed) return badInput("some files could not be ingested (see above)");
    return {};
}

}  // namespace strata::cli
