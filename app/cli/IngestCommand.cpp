// strata-cli ingest: what each file becomes as model input — its type, size in pages, lines,
// seconds or pixels, and its tokens for the model — and whether all of it fits the context. A bad
// file is reported and the others still ingest; nothing is ever cut off silently.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "CliModel.h"
#include "Commands.h"
#include "ProgressLine.h"
#include "PromptParts.h"
#include "model/ModelConfig.h"
#include "format/Checkpoint.h"

namespace strata::cli {

namespace {

nlohmann::json partJson(const PromptPart& part) {
    nlohmann::json j = {{"file", part.file.string()}, {"type", partKindName(part.kind)}, {"tokens", part.tokens}};
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

    ModelInputs inputs = modelInputsFor(config.value(), *tokenizer.value());
    inputs.contextTokens = context;
    IngestOptions options;
    options.password = args->get("password").value_or("");
    options.collapseRepeats = args->has("collapse-repeats");
    ProgressLine progress;

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
            if (!args->has("json")) std::printf("%s: error: %s\n", name.c_str(), part.error().message.c_str());
            continue;
        }
        fileJson.push_back(partJson(part.value()));
        if (!args->has("json")) {
            std::printf("%s: %s, %s, %lld tokens", name.c_str(), partKindName(part->kind), part->details.c_str(),
                        static_cast<long long>(part->tokens));
            if (!part->unusable.empty()) std::printf(" (%s)", part->unusable.c_str());
            std::printf("\n");
        }
        // Only the figures are needed here: let the text and tensors go.
        part->spans.clear();
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
        std::printf("total %s\n", budget.summary.c_str());
    }
    if (anyFailed) return badInput("some files could not be ingested (see above)");
    return {};
}

}  // namespace strata::cli
