// strata-cli run: answer one prompt, streaming the text to stdout and progress to stderr.
#include <algorithm>
#include <cstdio>

#include "CliModel.h"
#include "Commands.h"
#include "ProgressLine.h"
#include "SampleDocument.h"
#include "TextDocument.h"
#include "core/ProcessMemory.h"
#include "runtime/Generator.h"
#include "tokenizer/ChatTemplate.h"
#include "tokenizer/Tokenizer.h"

namespace strata::cli {

namespace {

// The prompt: --prompt, --prompt-file, or by default a question about the sample incident report.
Result<std::string> promptText(const CliArguments& args) {
    if (args.has("prompt") && args.has("prompt-file")) return badInput("give only one of --prompt and --prompt-file");
    if (!args.has("prompt") && !args.has("prompt-file")) {
        std::fprintf(stderr, "no prompt given: asking \"%s\" about the sample incident report\n", kSampleQuestion);
        return std::string(kSampleDocument) + "\nQuestion: " + kSampleQuestion + "\nAnswer:";
    }
    if (auto file = args.get("prompt-file")) return readUtf8TextFile(*file);
    std::string text = *args.get("prompt");
    size_t bad = 0;
    if (!isValidUtf8(text, &bad)) return badInput("--prompt is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    return text;
}

Result<SamplingParams> samplingParams(const CliArguments& args) {
    SamplingParams p;
    auto temperature = args.number("temperature", 0.0);
    STRATA_TRY(temperature);
    auto topK = args.integer("top-k", 0, 0, 1 << 30);
    STRATA_TRY(topK);
    auto topP = args.number("top-p", 1.0);
    STRATA_TRY(topP);
    auto minP = args.number("min-p", 0.0);
    STRATA_TRY(minP);
    auto penalty = args.number("repetition-penalty", 1.0);
    STRATA_TRY(penalty);
    auto seed = args.integer("seed", 0, 0, INT64_MAX);
    STRATA_TRY(seed);
    p.temperature = float(temperature.value());
    p.topK = int(topK.value());
    p.topP = float(topP.value());
    p.minP = float(minP.value());
    p.repetitionPenalty = float(penalty.value());
    p.seed = uint64_t(seed.value());
    if (auto problem = validate(p)) return badInput(*problem);
    return p;
}

// The prompt ids: the family's chat format around the text, or the text alone. The chat format is
// used with --chat, or by default when the model ships a chat template; base models continue text.
Result<std::vector<int32_t>> promptIds(const CliArguments& args, const ModelConfig& config, const Tokenizer& tokenizer,
                                       const std::string& text) {
    if (args.has("raw") && args.has("chat")) return badInput("give at most one of --raw and --chat");
    const bool chat = args.has("chat") || (!args.has("raw") && tokenizer.declaresChatTemplate());
    if (!chat) {
        if (!args.has("raw"))
            std::fprintf(stderr, "the model has no chat template: continuing the prompt as plain text (--chat to "
                                 "use the %s chat format anyway)\n", config.modelType.c_str());
        return tokenizer.encode(text, tokenizer.addsBosByDefault());
    }
    auto format = chatFormatForModelType(config.modelType);
    STRATA_TRY(format);
    std::vector<ChatMessage> messages;
    if (auto system = args.get("system")) messages.push_back({"system", *system});
    messages.push_back({"user", text});
    ChatOptions options;
    options.enableThinking = !args.has("no-think");
    auto rendered = renderChat(format.value(), messages, options);
    STRATA_TRY(rendered);
    // The rendering carries its own BOS where the family wants one.
    return tokenizer.encode(rendered.value(), false);
}

std::vector<int32_t> stopTokens(const ModelConfig& config, const Tokenizer& tokenizer) {
    std::vector<int32_t> ids = config.eosTokenIds;
    for (int32_t id : tokenizer.eosIds()) ids.push_back(id);
    // End-of-turn markers of the chat formats.
    for (const char* marker : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end_of_text|>"})
        if (auto id = tokenizer.tokenId(marker)) ids.push_back(*id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

}  // namespace

Status runCommand(const std::vector<std::string>& argv) {
    std::set<std::string> flags = kModelFlags;
    flags.insert({"prompt", "prompt-file", "max-tokens", "temperature", "top-k", "top-p", "min-p",
                  "repetition-penalty", "seed", "stop", "system"});
    auto args = CliArguments::parse(argv, flags, {"raw", "chat", "no-think", "ignore-eos"}, {"stop"});
    STRATA_TRY(args);
    auto text = promptText(args.value());
    STRATA_TRY(text);
    auto sampling = samplingParams(args.value());
    STRATA_TRY(sampling);
    auto maxTokens = args->integer("max-tokens", 256, 0, 1 << 24);
    STRATA_TRY(maxTokens);

    ProgressLine progress;
    progress.status("loading model");
    auto loaded = loadCliModel(args.value());
    STRATA_TRY(loaded);
    TransformerModel& model = *loaded->model;
    auto tokenizer = loadTokenizer(loaded->path);
    STRATA_TRY(tokenizer);

    GenerationRequest request;
    auto ids = promptIds(args.value(), model.config(), *tokenizer.value(), text.value());
    STRATA_TRY(ids);
    request.promptIds = std::move(ids.value());
    request.maxNewTokens = maxTokens.value();
    request.sampling = sampling.value();
    if (!args->has("ignore-eos")) request.stopTokenIds = stopTokens(model.config(), *tokenizer.value());
    request.stopStrings = args->all("stop");
    // The sample question has a one-line answer.
    if (!args->has("prompt") && !args->has("prompt-file") && request.stopStrings.empty()) request.stopStrings = {"\n"};

    GenerationCallbacks callbacks;
    callbacks.onText = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
    };
    callbacks.onProgress = [&](const GenerationProgress& p) { progress.update(p); };
    auto result = generate(model, tokenizer.value().get(), request, callbacks);
    progress.finish();
    STRATA_TRY(result);
    std::fputc('\n', stdout);
    std::fflush(stdout);

    const GenerationResult& r = result.value();
    const StreamerStats s = model.streamer().stats();
    std::fprintf(stderr,
                 "prefill %lld tokens in %.2f s (%.1f tok/s); decode %lld tokens in %.2f s (%.2f tok/s); stop: %s; "
                 "weights streamed %s, stalled %.2f s; peak RSS %llu bytes (%s)\n",
                 static_cast<long long>(r.promptTokens), r.prefillSeconds,
                 r.prefillSeconds > 0 ? double(r.promptTokens) / r.prefillSeconds : 0.0,
                 static_cast<long long>(r.generatedTokens), r.decodeSeconds,
                 r.decodeSeconds > 0 ? double(r.generatedTokens) / r.decodeSeconds : 0.0, r.stopReason.c_str(),
                 formatBytes(s.bytesRead).c_str(), s.stallSeconds,
                 static_cast<unsigned long long>(peakResidentBytes()), formatBytes(peakResidentBytes()).c_str());
    return {};
}

}  // namespace strata::cli
