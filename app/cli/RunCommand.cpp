// strata-cli run: answer one prompt, streaming the text to stdout and progress to stderr.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include "core/NumberFormat.h"
#include "CliModel.h"
#include "CommandSpec.h"
#include "SessionFlags.h"
#include "TemporaryFolder.h"
#include "Commands.h"
#include "ProgressLine.h"
#include "PromptParts.h"
#include "SampleDocument.h"
#include "StopSignals.h"
#include "TextDocument.h"
#include "core/ProcessMemory.h"
#include "MediaTurn.h"
#include "model/Generator.h"
#include "session/AnswerChannels.h"
#include "session/SessionTurn.h"
#include "tokenizer/ChatTemplate.h"
#include "tokenizer/Tokenizer.h"
#include "core/ByteSize.h"

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

// The prompt format: the family's chat format with --chat, or by default when the model ships a
// chat template; base models continue the text as it is.
Result<PromptFormat> promptFormat(const CliArguments& args, const ModelConfig& config, const Tokenizer& tokenizer) {
    if (args.has("raw") && args.has("chat")) return badInput("give at most one of --raw and --chat");
    PromptFormat format;
    format.chat = args.has("chat") || (!args.has("raw") && tokenizer.declaresChatTemplate());
    if (!format.chat && !args.has("raw"))
        std::fprintf(stderr, "the model has no chat template: continuing the prompt as plain text (--chat to "
                             "use the %s chat format anyway)\n", config.modelType.c_str());
    format.system = args.get("system").value_or("");
    format.enableThinking = !args.has("no-think");
    if (auto effort = args.get("reasoning-effort")) {
        STRATA_TRY(checkReasoningEffort(config, *effort));
        if (!format.chat) return badInput("--reasoning-effort needs the chat format; leave out --raw");
        format.reasoningEffort = *effort;
    }
    return format;
}

// --show-reasoning: a gpt-oss answer's reasoning (its analysis channel) on stderr between two
// marker lines, as it streams; stdout has the answer alone either way.
class ReasoningEcho {
public:
    ReasoningEcho(bool show, ProgressLine& progress) : show_(show), progress_(progress) {}
    bool shown() const { return show_; }
    void piece(std::string_view text) {
        if (!show_ || text.empty()) return;
        if (!open_) {
            progress_.finish();  // on a line of its own, not after the progress line
            std::fputs("--- reasoning ---\n", stderr);
        }
        open_ = true;
        std::fwrite(text.data(), 1, text.size(), stderr);
        std::fflush(stderr);
    }
    void close() {
        if (!open_) return;
        std::fputs("\n--- end of reasoning ---\n", stderr);
        std::fflush(stderr);
        open_ = false;
    }

private:
    bool show_;
    ProgressLine& progress_;
    bool open_ = false;
};

// Streams the answer to stdout and progress to stderr (where the reasoning goes too, if shown:
// then the decode progress is left out, which would cut it up).
GenerationCallbacks streamingCallbacks(ProgressLine& progress, ReasoningEcho& echo) {
    GenerationCallbacks callbacks;
    callbacks.onText = [&echo](std::string_view piece) {
        echo.close();
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
    };
    callbacks.onProgress = [&progress, &echo](const GenerationProgress& p) {
        if (echo.shown() && p.phase == GenerationPhase::Decode) progress.finish();
        else progress.update(p);
    };
    callbacks.pauseRequested = stopSignalled;
    return callbacks;
}

// A gpt-oss answer that has no final-channel text (the token limit reached while reasoning, a
// tool call) is an error, saying why, rather than its reasoning passed off as the answer.
Status requireAnswer(const TranscriptAnswer& answer, const std::string& stopReason, const ReasoningEcho& echo) {
    if (answer.missing.empty()) return {};
    std::string hint;
    if (stopReason == "max tokens") hint = "; raise --max-tokens";
    if (!echo.shown() && !answer.reasoning.empty())
        hint += std::string(hint.empty() ? "; " : ", or ") + "--show-reasoning prints its reasoning";
    return badInput(answer.missing + hint);
}

// Ends the streamed answer and prints the run's figures.
void printSummary(TransformerModel& model, const GenerationResult& r, const KvCacheStats& k) {
    std::fputc('\n', stdout);
    std::fflush(stdout);
    const StreamerStats s = model.streamer().stats();
    std::fprintf(stderr,
                 "prefill %s tokens in %.2f s (%s tok/s); decode %s tokens in %.2f s (%s tok/s); stop: %s; "
                 "engine forwarded %s tokens; weights streamed %s, stalled %.2f s; "
                 "KV blocks %s in memory, %s in RAM, %s on disk, %s read from disk; peak RSS %s bytes (%s)\n",
                 groupDigits(r.promptTokens).c_str(), r.prefillSeconds,
                 groupDigits(r.prefillSeconds > 0 ? double(r.promptTokens) / r.prefillSeconds : 0.0, 1).c_str(),
                 groupDigits(r.generatedTokens).c_str(), r.decodeSeconds,
                 groupDigits(r.decodeSeconds > 0 ? double(r.generatedTokens) / r.decodeSeconds : 0.0, 2).c_str(),
                 r.stopReason.c_str(), groupDigits(model.tokensForwarded()).c_str(), formatBytes(s.bytesRead).c_str(),
                 s.stallSeconds, groupDigits(k.residentBlocks).c_str(), groupDigits(k.hostBlocks).c_str(),
                 groupDigits(k.diskBlocks).c_str(), formatBytes(k.diskBytesRead).c_str(),
                 groupDigits(int64_t(peakResidentBytes())).c_str(), formatBytes(peakResidentBytes()).c_str());
}

// Runs a session turn (new, follow-up or resume) with the answer streamed, then the figures.
Status runTurn(TransformerModel& model, ProgressLine& progress, ReasoningEcho& echo,
               const std::function<Result<SessionTurnResult>(const SessionTurnCallbacks&)>& run) {
    SessionTurnCallbacks callbacks;
    callbacks.generation = streamingCallbacks(progress, echo);
    callbacks.onReasoning = [&echo](std::string_view piece) { echo.piece(piece); };
    callbacks.onSessionSaved = [](const std::string& id, int64_t saved, int64_t total) {
        if (saved > 0)
            std::fprintf(stderr, "session %s: resuming at prompt token %s of %s\n", id.c_str(),
                         groupDigits(saved).c_str(), groupDigits(total).c_str());
        else
            std::fprintf(stderr, "session %s\n", id.c_str());
    };
    callbacks.onCheckpointSaved = [&progress](int64_t saved, int64_t total) {
        if (saved < total)
            progress.note("checkpoint saved: " + groupDigits(saved) + " of " + groupDigits(total) + " prompt tokens");
    };
    auto result = run(callbacks);
    progress.finish();
    echo.close();
    STRATA_TRY(result);
    printSummary(model, result->generation, result->kv);
    return requireAnswer(result->answer, result->generation.stopReason, echo);
}

// Pages that yield no text even with OCR are said before the job starts, and the user goes on or
// stops: on a terminal by answering; elsewhere the run goes on when some text remains and stops
// when a document yields none (the model would answer about a document it never saw), unless
// --allow-empty-pages.
Status confirmEmptyPages(const std::vector<PromptPart>& parts, bool allowed, ProgressLine& progress) {
    std::vector<std::string> warnings;
    std::string emptyDocument;
    for (const PromptPart& part : parts) {
        if (part.pagesWithoutText.empty()) continue;
        const std::string name = part.file.filename().string();
        const size_t count = part.pagesWithoutText.size();
        if (int64_t(count) == part.pages) {
            warnings.push_back(name + ": no page yields text, even with OCR");
            if (emptyDocument.empty()) emptyDocument = name;
            continue;
        }
        std::string pages;
        for (size_t i = 0; i < count && i < 20; ++i)
            pages += (i ? ", " : "") + std::to_string(part.pagesWithoutText[i]);
        if (count > 20) pages += " and " + std::to_string(count - 20) + " more";
        warnings.push_back(name + ": " + (count == 1 ? "page " : "pages ") + pages + (count == 1 ? " yields" : " yield") +
                           " no text, even with OCR");
    }
    if (warnings.empty()) return {};
    progress.finish();
    for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s; the model will not see it\n", w.c_str());
    if (allowed) return {};
    if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
        std::fprintf(stderr, "go on without it? [%s] ", emptyDocument.empty() ? "Y/n" : "y/N");
        std::fflush(stderr);
        char answer[16] = {};
        const bool read = std::fgets(answer, sizeof answer, stdin) != nullptr;
        const char first = char(std::tolower(static_cast<unsigned char>(answer[0])));
        if (read && (first == 'y' || (emptyDocument.empty() && (first == '\n' || first == '\0')))) return {};
        return badInput("stopped before the job: attached pages yield no text");
    }
    if (emptyDocument.empty()) return {};
    return badInput(emptyDocument + " yields no text, even with OCR: the model would answer about a document it never "
                    "saw; give --allow-empty-pages to ask anyway");
}

// --attach FILE... (any kind), --image FILE... and --audio FILE...: each file read into prompt
// parts, weighed with the question against the context. A file that cannot be read, that is not
// of the kind its flag names or that the model cannot take stops the run (answering without it
// would mislead); so does a request that does not fit, naming the choices.
Result<std::vector<PromptPart>> attachedParts(const CliArguments& args, const ModelInputs& inputs,
                                              const std::string& question, int64_t contextBefore,
                                              int64_t maxNewTokens, ProgressLine& progress) {
    std::vector<PromptPart> parts;
    IngestOptions options;
    options.password = args.get("password").value_or("");
    options.collapseRepeats = args.has("collapse-repeats");
    options.cancelled = stopSignalled;  // OCR of a long scan stops at the next page
    for (const auto& [flag, kind] : {std::pair{"attach", std::optional<PartKind>()},
                                     std::pair{"image", std::optional(PartKind::Image)},
                                     std::pair{"audio", std::optional(PartKind::Audio)}}) {
        for (const std::string& file : args.all(flag)) {
            if (kind && detectPartKind(file) != *kind)
                return badInput(file + " is not " + (*kind == PartKind::Image ? "an image" : "an audio file") +
                                " (--" + flag + ")");
            options.progress = [&](uint64_t done, uint64_t total) { progress.reading(file, done, total); };
            auto part = ingestFile(file, inputs, options);
            progress.finish();
            STRATA_TRY(part);
            if (!part->unusable.empty()) return badInput(file + ": " + part->unusable);
            parts.push_back(std::move(part.value()));
        }
    }
    const int64_t reserved = contextBefore + inputs.countTokens(question) + maxNewTokens;
    const PromptBudget budget = weighPromptParts(parts, inputs.contextTokens, reserved);
    if (!budget.fits) return badInput("the attached files and the question need " + budget.summary);
    STRATA_TRY(confirmEmptyPages(parts, args.has("allow-empty-pages"), progress));
    std::fprintf(stderr, "attached %zu file(s): %s\n", parts.size(), budget.summary.c_str());
    return parts;
}

// --resume ID: the saved job of a session whose prefill was cut off (killed, or paused by a full
// disk), continued from its last checkpoint.
Status resumeJob(const CliArguments& args, const std::string& id) {
    auto store = SessionStore::open(storeRoot(args));
    STRATA_TRY(store);
    auto info = (*store)->session(id);
    STRATA_TRY(info);
    ProgressLine progress;
    progress.status("loading model");
    auto loaded = loadCliModel(args, ModelOptions{}.contextTokens, info->modelPath);
    STRATA_TRY(loaded);
    auto tokenizer = loadTokenizer(loaded->path);
    STRATA_TRY(tokenizer);
    auto options = kvCacheOptions(args, {});
    STRATA_TRY(options);
    auto checkpoint = checkpointTokens(args, options->blockTokens);
    STRATA_TRY(checkpoint);
    // An answer paused part-way is printed as far as it went, and goes on from there.
    auto paused = pausedAnswer(*store.value(), id);
    STRATA_TRY(paused);
    ReasoningEcho echo(args.has("show-reasoning"), progress);
    if (paused.value()) {
        std::fprintf(stderr, "session %s: continuing its answer after %s tokens\n", id.c_str(),
                     groupDigits(paused.value()->tokens).c_str());
        echo.piece(paused.value()->reasoning);
        if (!paused.value()->text.empty()) echo.close();
        std::fwrite(paused.value()->text.data(), 1, paused.value()->text.size(), stdout);
        std::fflush(stdout);
    }
    return runTurn(*loaded->model, progress, echo, [&](const SessionTurnCallbacks& callbacks) {
        return resumeSessionTurn(*store.value(), *loaded->model, *tokenizer.value(), id, options.value(),
                                 checkpoint.value(), callbacks);
    });
}

}  // namespace

Status runCommand(const std::vector<std::string>& argv) {
    auto args = parseCommand("run", argv);
    STRATA_TRY(args);
    watchStopSignals(kStopNote);
    const bool attaching = args->has("attach") || args->has("image") || args->has("audio");
    if (auto id = args->get("resume")) {
        for (const char* other : {"session", "prompt", "prompt-file", "no-save", "attach", "image", "audio", "reasoning-effort"})
            if (args->has(other)) return badInput(std::string("--resume continues the saved job as it was; leave out --") + other);
        return resumeJob(args.value(), *id);
    }
    const auto sessionId = args->get("session");
    if (sessionId && args->has("no-save")) return badInput("--session continues a saved session; leave out --no-save");
    if (sessionId && (args->has("image") || args->has("audio")))
        return badInput("images and recordings go into a new session's first question; leave out --session");
    if (sessionId && args->has("reasoning-effort"))
        return badInput("the reasoning effort is set by a session's first question, and its follow-ups keep it; leave "
                        "out --reasoning-effort with --session");
    if (sessionId && !args->has("prompt") && !args->has("prompt-file"))
        return badInput("--session needs the follow-up question: give --prompt or --prompt-file");
    const bool transcribe = args->has("transcribe");
    if (transcribe && (args->has("prompt") || args->has("prompt-file") || sessionId))
        return badInput("--transcribe asks for the words of the recording; leave out --prompt and --session");
    if (args->has("language") && !transcribe) return badInput("--language goes with --transcribe");
    if (transcribe && (args->all("audio").size() != 1 || args->has("attach") || args->has("image")))
        return badInput("--transcribe takes exactly one recording: give one --audio FILE and nothing else");
    if (attaching && !transcribe && !args->has("prompt") && !args->has("prompt-file"))
        return badInput("--attach, --image and --audio need the question about the files: give --prompt or "
                        "--prompt-file");
    auto text = transcribe ? Result<std::string>("Transcribe " + std::filesystem::path(args->all("audio").front()).filename().string())
                           : promptText(args.value());
    STRATA_TRY(text);
    auto sampling = samplingParams(args.value());
    STRATA_TRY(sampling);
    auto maxTokens = args->integer("max-tokens", 256, 0, 1 << 24);
    STRATA_TRY(maxTokens);

    // The session: a new one (unless --no-save), or the one to continue.
    std::unique_ptr<SessionStore> sessions;
    std::optional<SessionInfo> previous;
    std::optional<SavedJob> previousJob;
    if (!args->has("no-save")) {
        STRATA_ASSIGN(sessions, SessionStore::open(storeRoot(args.value())));
        if (sessionId) {
            STRATA_ASSIGN(previous, sessions->session(*sessionId));
            STRATA_TRY(requireReady(*previous));
            STRATA_ASSIGN(previousJob, readSavedJob(sessions->sessionDir(*sessionId)));
        }
    }

    ProgressLine progress;
    progress.status("loading model");
    auto loaded = loadCliModel(args.value(), ModelOptions{}.contextTokens, previous ? previous->modelPath : std::string());
    STRATA_TRY(loaded);
    TransformerModel& model = *loaded->model;
    auto tokenizer = loadTokenizer(loaded->path);
    STRATA_TRY(tokenizer);

    std::unique_ptr<MediaEncoders> encoders;
    STRATA_ASSIGN(encoders, MediaEncoders::load(loaded->path, *loaded->ops));
    std::vector<PromptPart> parts;
    std::string message = text.value();  // what the model reads: the attached text, then the question
    bool withMedia = false;
    if (attaching) {
        const ModelInputs inputs = modelInputsFor(model.config(), *tokenizer.value(), encoders.get());
        STRATA_ASSIGN(parts, attachedParts(args.value(), inputs, text.value(), previous ? previous->contextTokens : 0,
                                           maxTokens.value(), progress));
        const std::string attachedText = renderTextParts(parts);
        if (!attachedText.empty()) message = attachedText + "\n" + text.value();
        for (const PromptPart& part : parts) withMedia |= isMediaPart(part.kind);
    }
    if (withMedia && previousJob)
        return badInput("images and recordings go into a new session's first question; leave out --session");

    SavedJob job;
    if (withMedia) {
        auto format = promptFormat(args.value(), model.config(), *tokenizer.value());
        STRATA_TRY(format);
        MediaTurnOptions options;
        options.transcribe = transcribe;
        options.language = args->get("language").value_or("");
        options.status = [&](const std::string& line) { progress.status(line); };
        STRATA_ASSIGN(job, mediaTurnJob(model.config(), *tokenizer.value(), *encoders, parts, message, format.value(),
                                        options));
        progress.finish();
    } else if (previousJob) {
        job.chat = previousJob->chat;
        job.enableThinking = previousJob->enableThinking;
        STRATA_ASSIGN(job.promptIds,
                      followUpIds(model.config().modelType, *tokenizer.value(), *previousJob, message));
        job.contextBefore = previous->contextTokens;
    } else {
        auto format = promptFormat(args.value(), model.config(), *tokenizer.value());
        STRATA_TRY(format);
        job.chat = format->chat;
        job.enableThinking = format->enableThinking;
        STRATA_ASSIGN(job.promptIds, firstTurnIds(model.config(), *tokenizer.value(), message, format.value()));
    }
    job.maxNewTokens = maxTokens.value();
    job.sampling = sampling.value();
    if (!args->has("ignore-eos")) job.stopTokenIds = stopTokens(model.config(), *tokenizer.value());
    job.stopStrings = args->all("stop");
    // The sample question has a one-line answer (after a gpt-oss model's reasoning, which has lines
    // of its own: there the answer's end token ends it).
    const bool onChannels = answersOnChannels(model.config().modelType, job.chat);
    if (!args->has("prompt") && !args->has("prompt-file") && job.stopStrings.empty() && !onChannels)
        job.stopStrings = {"\n"};
    ReasoningEcho echo(args->has("show-reasoning"), progress);

    const int64_t needed = job.contextBefore + int64_t(job.promptIds.size());
    if (model.config().maxPositions > 0 && needed > model.config().maxPositions)
        return badInput("the prompt needs " + std::to_string(needed) + " positions but the model's context is " +
                        std::to_string(model.config().maxPositions) + " tokens");

    if (!sessions) {  // --no-save: blocks beyond --kv-budget spill to a folder removed afterwards
        TemporaryFolder spill;
        STRATA_TRY(spill.create("strata-kv"));
        auto options = kvCacheOptions(args.value(), spill.path());
        STRATA_TRY(options);
        options->persist = false;
        auto kv = KvCache::create(*loaded->ops, model.config(), options.value());
        STRATA_TRY(kv);
        GenerationCallbacks callbacks = streamingCallbacks(progress, echo);
        ChannelStream channels(callbacks.onText, [&echo](std::string_view piece) { echo.piece(piece); });
        if (onChannels) callbacks.onText = [&channels](std::string_view piece) { channels.push(piece); };
        auto result = generate(model, tokenizer.value().get(), *kv.value(), requestFor(job), callbacks);
        progress.finish();
        STRATA_TRY(result);
        if (result->stopReason == "paused") return cancelled("stopped by a signal; with --no-save there is nothing to resume");
        if (onChannels) channels.finish();
        echo.close();
        printSummary(model, result.value(), kv.value()->stats());
        return requireAnswer(transcriptAnswerOf(result->text, onChannels, result->stopReason), result->stopReason, echo);
    }

    SessionTurnRequest turn;
    turn.sessionId = previous ? previous->id : std::string();
    turn.title = sessionTitleOf(text.value());
    turn.modelPath = std::filesystem::absolute(loaded->path).string();
    turn.userText = text.value();
    for (const PromptPart& part : parts) turn.attachments.push_back({part.file, partKindName(part.kind), part.tokens});
    turn.job = std::move(job);
    STRATA_ASSIGN(turn.kv, kvCacheOptions(args.value(), {}));
    STRATA_ASSIGN(turn.checkpointTokens, checkpointTokens(args.value(), turn.kv.blockTokens));
    return runTurn(model, progress, echo, [&](const SessionTurnCallbacks& callbacks) {
        return runSessionTurn(*sessions, model, *tokenizer.value(), std::move(turn), callbacks);
    });
}

}  // namespace strata::cli
