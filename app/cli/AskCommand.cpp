// strata-cli ask: several questions about a saved session, answered together. Each question is a
// fork of the session's KV cache, so the document is never prefilled again, and all of them decode
// in the same forward passes: one pass over the weights per token serves every question.
#include <cstdio>
#include <fstream>

#include "CliModel.h"
#include "CommandSpec.h"
#include "Commands.h"
#include "ProgressLine.h"
#include "SessionFlags.h"
#include "session/AnswerChannels.h"
#include "session/SessionJob.h"
#include "core/Clock.h"
#include "core/ProcessMemory.h"
#include "model/Generator.h"
#include "core/NumberFormat.h"
#include "core/ByteSize.h"

namespace strata::cli {

namespace {

// One question per non-empty line.
Result<std::vector<std::string>> readQuestions(const std::string& file) {
    std::ifstream in(file);
    if (!in) return badInput("--questions " + file + ": cannot open the file");
    std::vector<std::string> questions;
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        if (!line.empty()) questions.push_back(line);
    }
    if (questions.empty()) return badInput("--questions " + file + " holds no questions (one per line)");
    return questions;
}

}  // namespace

Status askCommand(const std::vector<std::string>& argv) {
    auto args = parseCommand("ask", argv);
    STRATA_TRY(args);
    auto id = args->required("session");
    STRATA_TRY(id);
    auto file = args->required("questions");
    STRATA_TRY(file);
    auto questions = readQuestions(file.value());
    STRATA_TRY(questions);
    auto sampling = samplingParams(args.value());
    STRATA_TRY(sampling);
    auto maxTokens = args->integer("max-tokens", 256, 0, 1 << 24);
    STRATA_TRY(maxTokens);

    auto store = SessionStore::open(storeRoot(args.value()));
    STRATA_TRY(store);
    SessionStore& sessions = *store.value();
    auto info = sessions.session(id.value());
    STRATA_TRY(info);
    STRATA_TRY(requireReady(info.value()));
    const std::filesystem::path dir = sessions.sessionDir(id.value());
    auto job = readSavedJob(dir);
    STRATA_TRY(job);

    ProgressLine progress;
    progress.status("loading model");
    auto loaded = loadCliModel(args.value(), ModelOptions{}.contextTokens, info->modelPath);
    STRATA_TRY(loaded);
    TransformerModel& model = *loaded->model;
    auto tokenizer = loadTokenizer(loaded->path);
    STRATA_TRY(tokenizer);
    auto options = kvCacheOptions(args.value(), dir);
    STRATA_TRY(options);
    auto context = KvCache::open(*loaded->ops, model.config(), options.value(), info->contextTokens);
    STRATA_TRY(context);
    progress.finish();

    std::vector<GenerationRequest> requests;
    for (const std::string& q : questions.value()) {
        GenerationRequest r;
        STRATA_ASSIGN(r.promptIds, followUpIds(model.config().modelType, *tokenizer.value(), job.value(), q));
        r.maxNewTokens = maxTokens.value();
        r.sampling = sampling.value();
        if (!args->has("ignore-eos")) r.stopTokenIds = stopTokens(model.config(), *tokenizer.value());
        r.stopStrings = args->all("stop");
        requests.push_back(std::move(r));
    }
    std::fprintf(stderr, "session %s: %zu questions on %s tokens of context\n", id->c_str(), requests.size(),
                 groupDigits(info->contextTokens).c_str());
    const std::vector<GenerationCallbacks> callbacks(requests.size());
    const auto start = SteadyClock::now();
    auto results = generateBatch(model, tokenizer.value().get(), *context.value(), requests, callbacks);
    STRATA_TRY(results);
    const double seconds = secondsSince(start);

    // A gpt-oss model's answers: the final channel to stdout, the reasoning kept with the turn (and
    // with --show-reasoning on stderr); one with no answer is said to have none.
    const bool onChannels = answersOnChannels(model.config().modelType, job->chat);
    std::vector<std::string> unanswered;
    int64_t generated = 0, prefilled = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
        const GenerationResult& r = results.value()[i];
        const TranscriptAnswer answer = transcriptAnswerOf(r.text, onChannels, r.stopReason);
        if (args->has("show-reasoning") && !answer.reasoning.empty()) {
            std::fflush(stdout);
            std::fprintf(stderr, "--- reasoning, question %zu ---\n%s\n--- end of reasoning ---\n", i + 1,
                         answer.reasoning.c_str());
        }
        std::printf("### %zu. %s\n\n%s\n\n", i + 1, questions.value()[i].c_str(), answer.text.c_str());
        if (!answer.missing.empty()) unanswered.push_back("question " + std::to_string(i + 1) + ": " + answer.missing);
        generated += r.generatedTokens;
        prefilled += r.promptTokens;
        Turn q{0, TurnRole::User, questions.value()[i], r.promptTokens, 0, 0, 0, {}};
        Turn a{0, TurnRole::Assistant, answer.text, r.generatedTokens, 0, r.prefillSeconds * 1000, r.decodeSeconds * 1000,
               answer.reasoning};
        STRATA_TRY(sessions.appendTurn(id.value(), q));
        STRATA_TRY(sessions.appendTurn(id.value(), a));
    }
    std::fflush(stdout);
    const GenerationResult& first = results.value().front();
    const KvCacheStats k = context.value()->stats();
    std::fprintf(stderr,
                 "answered %zu questions in %.2f s: prefill %s tokens in %.2f s, %s tokens generated in %.2f s; "
                 "context KV %s read from disk; weights streamed %s; peak RSS %s bytes (%s)\n",
                 requests.size(), seconds, groupDigits(prefilled).c_str(), first.prefillSeconds,
                 groupDigits(generated).c_str(), first.decodeSeconds, formatBytes(k.diskBytesRead).c_str(),
                 formatBytes(model.streamer().stats().bytesRead).c_str(), groupDigits(int64_t(peakResidentBytes())).c_str(),
                 formatBytes(peakResidentBytes()).c_str());
    if (unanswered.empty()) return {};
    std::string list;
    for (const std::string& u : unanswered) list += (list.empty() ? "" : "; ") + u;
    return badInput(std::to_string(unanswered.size()) + " of " + std::to_string(requests.size()) +
                    " questions have no answer (" + list + ")");
}

}  // namespace strata::cli
