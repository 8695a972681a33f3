#include "session/SessionTurn.h"

#include <algorithm>
#include <optional>

namespace strata {

namespace {

std::string resumeHint(const std::string& id) {
    return "; session " + id + " is paused: `strata-cli run --resume " + id + "` finishes it";
}

// Prefill from `from` (prompt tokens of the job already in kv) with checkpoints, then decode and
// save the answer; or, for a job whose answer was paused, go on decoding it. A prefill stopped
// early leaves the session paused at its last checkpoint; an answer paused part-way is saved
// with the session paused, to go on where it stopped.
Result<SessionTurnResult> runJob(SessionStore& store, TransformerModel& model, const Tokenizer& tokenizer,
                                 const std::string& id, KvCache& kv, const SavedJob& job, int64_t from,
                                 int64_t checkpointTokens, const SessionTurnCallbacks& callbacks) {
    GenerationRequest request = requestFor(job, from);
    const int64_t total = int64_t(job.promptIds.size());
    GenerationCallbacks generation = callbacks.generation;
    if (job.answerIds.empty()) {
        request.checkpointTokens = checkpointTokens;
        generation.onCheckpoint = [&](int64_t done) -> Status {
            STRATA_TRY(saveCheckpoint(store, id, kv, {from + done, total, checkpointTokens, 0}));
            if (callbacks.onCheckpointSaved) callbacks.onCheckpointSaved(from + done, total);
            return {};
        };
    }
    // A gpt-oss chat's answer reaches the reader split into its channels; a paused one goes on in
    // the channel it stopped in.
    const bool onChannels = answersOnChannels(model.config().modelType, job.chat);
    std::optional<ChannelStream> channels;
    if (onChannels) {
        channels.emplace(generation.onText, callbacks.onReasoning);
        StreamingDecoder decoder(tokenizer);
        for (int32_t id : job.answerIds) channels->prime(decoder.push(id));
        generation.onText = [&channels](std::string_view piece) { channels->push(piece); };
    }
    auto result = generate(model, &tokenizer, kv, request, generation);
    if (!result.ok()) {
        if (result.error().kind == ErrorKind::Cancelled) {
            (void)store.setState(id, SessionState::Paused);
            return cancelled(result.error().message + resumeHint(id));
        }
        return result.error();
    }
    TranscriptAnswer answer = transcriptAnswerOf(result->text, onChannels, result->stopReason);
    if (result->stopReason == "paused") {
        STRATA_TRY(savePausedAnswer(store, id, kv, job, result.value(), answer));
        return cancelled("paused after " + std::to_string(result->generatedTokens) + " tokens of the answer, which are saved" +
                         resumeHint(id));
    }
    if (channels) channels->finish();
    STRATA_TRY(saveAnswer(store, id, kv, job, result.value(), answer));
    return SessionTurnResult{id, std::move(result.value()), std::move(answer), kv.stats(), from};
}

}  // namespace

Result<SessionTurnResult> runSessionTurn(SessionStore& store, TransformerModel& model, const Tokenizer& tokenizer,
                                         SessionTurnRequest request, const SessionTurnCallbacks& callbacks) {
    std::string id = request.sessionId;
    int64_t contextBefore = 0;
    if (!id.empty()) {
        auto previous = store.session(id);
        STRATA_TRY(previous);
        STRATA_TRY(requireReady(previous.value()));
        contextBefore = previous->contextTokens;
    } else {
        SessionInfo info;
        info.title = request.title;
        info.modelPath = request.modelPath;
        info.state = SessionState::Prefilling;
        STRATA_ASSIGN(id, store.createSession(info));
    }
    request.job.contextBefore = contextBefore;
    const std::filesystem::path dir = store.sessionDir(id);
    Turn question;
    question.role = TurnRole::User;
    question.text = request.userText;
    question.tokenCount = int64_t(request.job.promptIds.size());
    STRATA_TRY(writeSavedJob(dir, request.job));
    auto questionIndex = store.appendTurn(id, question);
    STRATA_TRY(questionIndex);
    for (const TurnAttachment& a : request.attachments)
        STRATA_TRY(store.addAttachment(id, std::filesystem::absolute(a.path), a.kind, a.tokens, questionIndex.value()));
    STRATA_TRY(store.setState(id, SessionState::Prefilling));
    if (callbacks.onSessionSaved) callbacks.onSessionSaved(id, 0, int64_t(request.job.promptIds.size()));

    request.kv.directory = dir;
    request.kv.persist = true;
    auto kv = request.sessionId.empty() ? KvCache::create(model.ops(), model.config(), request.kv)
                                        : KvCache::open(model.ops(), model.config(), request.kv, contextBefore);
    STRATA_TRY(kv);
    return runJob(store, model, tokenizer, id, *kv.value(), request.job, 0, request.checkpointTokens, callbacks);
}

Result<std::optional<PausedAnswer>> pausedAnswer(SessionStore& store, const std::string& id) {
    auto info = store.session(id);
    STRATA_TRY(info);
    if (info->state == SessionState::Ready) return std::optional<PausedAnswer>();
    auto job = readSavedJob(store.sessionDir(id));
    STRATA_TRY(job);
    auto turns = store.turns(id);
    STRATA_TRY(turns);
    if (job->answerTurn < 0 || job->answerTurn >= int64_t(turns->size())) return std::optional<PausedAnswer>();
    const Turn& turn = (*turns)[size_t(job->answerTurn)];
    return std::optional<PausedAnswer>(PausedAnswer{turn.text, int64_t(job->answerIds.size()), turn.reasoning});
}

Result<SessionTurnResult> resumeSessionTurn(SessionStore& store, TransformerModel& model, const Tokenizer& tokenizer,
                                            const std::string& id, KvCacheOptions kvOptions, int64_t checkpointTokens,
                                            const SessionTurnCallbacks& callbacks) {
    auto info = store.session(id);
    STRATA_TRY(info);
    if (info->state == SessionState::Ready)
        return badInput("session " + id + " has no unfinished job; ask it a follow-up instead");
    const std::filesystem::path dir = store.sessionDir(id);
    auto job = readSavedJob(dir);
    STRATA_TRY(job);
    auto saved = store.prefillProgress(id);
    STRATA_TRY(saved);
    const int64_t total = int64_t(job->promptIds.size());
    // The last prompt token runs again when the whole prompt was saved: its logits start the answer.
    // A paused answer's last token runs again likewise, for the logits of the next.
    const int64_t done = std::min(saved.value() ? saved.value()->tokensDone : 0, total - 1);
    const int64_t answered = int64_t(job->answerIds.size());
    const int64_t start = answered > 0 ? job->contextBefore + total + answered - 1 : job->contextBefore + done;
    if (start == 0)  // nothing was saved: start the files afresh
        for (int64_t layer = 0; layer < model.config().numLayers; ++layer)
            std::filesystem::remove(dir / KvCache::layerFileName(layer));
    kvOptions.directory = dir;
    kvOptions.persist = true;
    auto kv = KvCache::open(model.ops(), model.config(), kvOptions, start);
    STRATA_TRY(kv);
    STRATA_TRY(store.setState(id, SessionState::Prefilling));
    if (callbacks.onSessionSaved) callbacks.onSessionSaved(id, answered > 0 ? total : done, total);
    return runJob(store, model, tokenizer, id, *kv.value(), job.value(), done, checkpointTokens, callbacks);
}

}  // namespace strata
