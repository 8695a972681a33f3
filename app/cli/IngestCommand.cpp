// strata-cli ingest: what each file becomes as model input — its type, size in pages, lines,
// seconds or pixels, and its tokens for the model — and whether all of it fits the context. A bad
// file is reported and the others still ingest; nothing is ever cut off silently.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "CliModel.h"
#include "CommandSpec.h"
#include "Commands.h"
#include "ProgressLine.h"
#include "StopSignals.h"
#include "PromptParts.h"
#include "core/NumberFormat.h"
#include "arch/ModelConfig.h"
#include "format/Checkpoint.h"

namespace strata::cli {

namespace {

nlohmann::json partJson(const PromptPart& part) {
    nlohmann::json j = {{"file", part.file.string()}, {"type", partKindName(part.kind)}, {"format", part.format},
                        {"tokens", part.tokens}};
    switch (part.kind) {
    case PartKind::Pdf:
        j.update({{"pages", part.pages}, {"pages_without_text", part.pagesWithoutText}, {"title", part.title},
                  {"author", part.author}});
        break;
    case PartKind::Text:
        j.update({{"lines", part.lines}, {"bytes", part.bytes}, {"encoding", part.encoding},
                  {"collapsed_lines", part.collapsedLines}, {"replaced_sequences", part.replacedSequences}});
        break;
    case PartKind::Image: j.update({{"width", part.width}, {"height", part.height}}); break;
    case PartKind::Audio:
        j.update({{"seconds", part.seconds}, {"sample_rate", part.sampleRate}, {"channels", part.channels},
                  {"chunks", part.audioChunks}});
        break;
    }
    if (!part.unusable.empty()) j["unusable"] = part.unusable;
    return j;
}

}  // namespace

Status ingestCommand(const std::vector<std::string>& argv) {
    auto args = parseCommand("ingest", argv);
    STRATA_TRY(args);
    const std::vector<std::string>& files = args->positional();
    if (args->has("text") && args->has("json")) return badInput("give at most one of --text and --json");
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

    ModelInputs inputs = modelInputsFor(config.value(), *tokenizer.value());
    inputs.contextTokens = context;
    IngestOptions options;
    options.password = args->get("password").value_or("");
    options.collapseRepeats = args->has("collapse-repeats");
    watchStopSignals(kStopNote);
    options.cancelled = stopSignalled;  // OCR of a long scan stops at the next page
    ProgressLine progress;

    // --text: the text exactly as `run --attach` puts it before the question, on stdout; the
    // figures go to stderr then.
    const bool text = args->has("text");
    std::FILE* figures = text ? stderr : stdout;
    std::vector<PromptPart> parts;
    nlohmann::json fileJson = nlohmann::json::array();
    bool anyFailed = false;
    for (const std::string& name : files) {
        options.progress = [&](uint64_t done, uint64_t total) { progress.reading(name, done, total); };
        auto part = ingestFile(name, inputs, options);
        progress.finish();
        if (!part.ok()) {
            anyFailed = true;
            fileJson.push_back({{"file", name}, {"error", part.error().message}});
            if (!args->has("json")) std::fprintf(figures, "%s: error: %s\n", name.c_str(), part.error().message.c_str());
            continue;
        }
        fileJson.push_back(partJson(part.value()));
        if (!args->has("json")) {
            std::fprintf(figures, "%s: %s, %s, %s tokens", name.c_str(), part->format.c_str(), part->details.c_str(),
                         groupDigits(part->tokens).c_str());
            if (!part->unusable.empty()) std::fprintf(figures, " (%s)", part->unusable.c_str());
            if (text && !part->textKept) std::fprintf(figures, " (larger than the context: its text is not shown)");
            std::fprintf(figures, "\n");
        }
        // Only the figures (and, for --text, the text) are needed here: let the rest go.
        if (!text) part->spans.clear();
        part->pixelValues.clear();
        part->audio = {};
        parts.push_back(std::move(part.value()));
    }

    const PromptBudget budget = weighPromptParts(parts, context);
    if (args->has("json")) {
        std::printf("%s\n", nlohmann::json{{"files", fileJson}, {"total_tokens", budget.partTokens},
                                           {"context_tokens", context}, {"fits", budget.fits},
                                           {"summary", budget.summary}}.dump(2).c_str());
    } else {
        std::fprintf(figures, "total %s\n", budget.summary.c_str());
    }
    if (text) {
        const std::string rendered = renderTextParts(parts);
        std::fwrite(rendered.data(), 1, rendered.size(), stdout);
    }
    if (anyFailed) return badInput("some files could not be ingested (see above)");
    return {};
}

}  // namespace strata::cli
