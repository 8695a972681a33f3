#include "session/SessionJob.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "core/AtomicFile.h"
#include "format/FileReading.h"
#include "multimodal/MediaPrompt.h"
#include "tokenizer/ChatTemplate.h"
#include "arch/Registry.h"

namespace strata {

namespace fs = std::filesystem;

namespace {
constexpr const char* kJobFile = "job.json";
// The prompt ids of a 1M-token turn as JSON are about 8 MB.
constexpr uint64_t kMaxJobFileBytes = uint64_t(64) << 20;
// One image of a wide model is a few MB; an hour of audio (450 chunks of 375 rows) of a 5120-wide
// one is under 4 GB.
constexpr uint64_t kMaxMediaFileBytes = uint64_t(4) << 30;
}  // namespace

GenerationRequest requestFor(const SavedJob& job, int64_t from) {
    GenerationRequest request;
    request.maxNewTokens = job.maxNewTokens;
    request.sampling = job.sampling;
    request.stopTokenIds = job.stopTokenIds;
    request.stopStrings = job.stopStrings;
    if (!job.answerIds.empty()) {
        request.promptIds = {job.answerIds.back()};
        request.answerSoFar = AnswerSoFar{job.promptIds, job.answerIds, job.samplerDraws};
        return request;
    }
    request.promptIds.assign(job.promptIds.begin() + from, job.promptIds.end());
    if (job.media.empty() || job.media.front().rows <= 0) return request;
    std::vector<EmbeddedSpan> all;
    for (const SavedMedia& m : job.media) all.push_back({m.offset, m.rows, m.values.data(), m.bidirectional});
    const int64_t width = int64_t(job.media.front().values.size()) / job.media.front().rows;
    request.embedded = spansWithin(all, from, int64_t(request.promptIds.size()), width);
    return request;
}

namespace {

std::string mediaFileName(size_t index) { return "media-" + std::to_string(index) + ".f32"; }

}  // namespace

Status writeSavedJob(const fs::path& sessionDir, const SavedJob& job) {
    nlohmann::json media = nlohmann::json::array();
    for (size_t i = 0; i < job.media.size(); ++i) {
        const SavedMedia& m = job.media[i];
        const std::string_view bytes(reinterpret_cast<const char*>(m.values.data()), m.values.size() * sizeof(float));
        STRATA_TRY(writeFileAtomically(sessionDir / mediaFileName(i), bytes));
        media.push_back({{"offset", m.offset}, {"rows", m.rows}, {"bidirectional", m.bidirectional},
                         {"file", mediaFileName(i)}});
    }
    const nlohmann::json j = {
        {"prompt_ids", job.promptIds},
        {"context_before", job.contextBefore},
        {"max_new_tokens", job.maxNewTokens},
        {"sampling",
         {{"temperature", job.sampling.temperature},
          {"top_k", job.sampling.topK},
          {"top_p", job.sampling.topP},
          {"min_p", job.sampling.minP},
          {"repetition_penalty", job.sampling.repetitionPenalty},
          {"seed", job.sampling.seed}}},
        {"stop_token_ids", job.stopTokenIds},
        {"stop_strings", job.stopStrings},
        {"pending_ids", job.pendingIds},
        {"chat", job.chat},
        {"enable_thinking", job.enableThinking},
        {"media", media},
        {"answer_ids", job.answerIds},
        {"sampler_draws", job.samplerDraws},
        {"answer_turn", job.answerTurn},
        {"answer_prefill_ms", job.answerPrefillMs},
        {"answer_decode_ms", job.answerDecodeMs}};
    STRATA_TRY(writeFileAtomically(sessionDir / kJobFile, j.dump()));
    // Rows of an earlier job are in the cache by now.
    std::error_code ec;
    for (size_t i = job.media.size(); fs::exists(sessionDir / mediaFileName(i), ec); ++i)
        fs::remove(sessionDir / mediaFileName(i), ec);
    return {};
}

Result<SavedJob> readSavedJob(const fs::path& sessionDir) {
    const fs::path path = sessionDir / kJobFile;
    auto text = readWholeFile(path, kMaxJobFileBytes);
    STRATA_TRY(text);
    try {
        const auto j = nlohmann::json::parse(text.value());
        SavedJob job;
        job.promptIds = j.at("prompt_ids").get<std::vector<int32_t>>();
        job.contextBefore = j.at("context_before").get<int64_t>();
        job.maxNewTokens = j.at("max_new_tokens").get<int64_t>();
        const auto& s = j.at("sampling");
        job.sampling.temperature = s.at("temperature").get<float>();
        job.sampling.topK = s.at("top_k").get<int>();
        job.sampling.topP = s.at("top_p").get<float>();
        job.sampling.minP = s.at("min_p").get<float>();
        job.sampling.repetitionPenalty = s.at("repetition_penalty").get<float>();
        job.sampling.seed = s.at("seed").get<uint64_t>();
        job.stopTokenIds = j.at("stop_token_ids").get<std::vector<int32_t>>();
        job.stopStrings = j.at("stop_strings").get<std::vector<std::string>>();
        job.pendingIds = j.value("pending_ids", std::vector<int32_t>{});
        job.chat = j.at("chat").get<bool>();
        job.enableThinking = j.at("enable_thinking").get<bool>();
        // Jobs saved before answers could pause have none of these.
        job.answerIds = j.value("answer_ids", std::vector<int32_t>{});
        job.samplerDraws = j.value("sampler_draws", uint64_t(0));
        job.answerTurn = j.value("answer_turn", int64_t(-1));
        job.answerPrefillMs = j.value("answer_prefill_ms", 0.0);
        job.answerDecodeMs = j.value("answer_decode_ms", 0.0);
        if (!job.answerIds.empty() && job.answerTurn < 0)
            return badInput(path.string() + " is damaged: a paused answer without its turn");
        for (const auto& m : j.value("media", nlohmann::json::array())) {
            SavedMedia media;
            media.offset = m.at("offset").get<int64_t>();
            media.rows = m.at("rows").get<int64_t>();
            media.bidirectional = m.at("bidirectional").get<bool>();
            const fs::path file = sessionDir / m.at("file").get<std::string>();
            auto bytes = readWholeFile(file, kMaxMediaFileBytes);
            STRATA_TRY(bytes);
            if (media.rows <= 0 || bytes->empty() || bytes->size() % (sizeof(float) * size_t(media.rows)) != 0)
                return badInput(file.string() + " is damaged: its size does not fit " + std::to_string(media.rows) +
                                " rows");
            media.values.resize(bytes->size() / sizeof(float));
            std::memcpy(media.values.data(), bytes->data(), bytes->size());
            job.media.push_back(std::move(media));
        }
        return job;
    } catch (const nlohmann::json::exception& e) {
        return badInput(path.string() + " is damaged: " + e.what());
    }
}

namespace {

std::vector<KvManifestEntry> manifestOf(const std::vector<KvFlushedBlock>& blocks) {
    std::vector<KvManifestEntry> out;
    for (const KvFlushedBlock& b : blocks)
        out.push_back({int32_t(b.layer), b.record.blockIndex, b.record.firstPos, b.record.tokens, b.fileName,
                       b.record.offset, b.record.bytes, 0});
    return out;
}

// A full disk leaves the session paused with everything saved so far; the message says how to go on.
Status pauseOnFullDisk(SessionStore& store, const std::string& id, const Error& error, int64_t savedTokens) {
    if (error.kind != ErrorKind::DiskFull) return error;
    (void)store.setState(id, SessionState::Paused);
    return diskFull(error.message + "; session " + id + " is paused with " + std::to_string(savedTokens) +
                    " prompt tokens saved: free some space and run `strata-cli run --resume " + id + "`");
}

}  // namespace

Status saveCheckpoint(SessionStore& store, const std::string& id, KvCache& kv, const PrefillProgress& progress) {
    auto saved = store.prefillProgress(id);
    STRATA_TRY(saved);
    const int64_t before = saved.value() ? saved.value()->tokensDone : 0;
    auto flushed = kv.flush();
    if (!flushed.ok()) return pauseOnFullDisk(store, id, flushed.error(), before);
    Status recorded = store.addKvBlocks(id, manifestOf(flushed.value()));
    if (recorded.ok()) recorded = store.setPrefillProgress(id, progress);
    // What `sessions list` shows for a session whose job has not finished: what is saved.
    if (recorded.ok()) recorded = store.setContextTokens(id, kv.length());
    if (!recorded.ok()) return pauseOnFullDisk(store, id, recorded.error(), before);
    return {};
}

namespace {

// The answer as the transcript shows it, with the figures of a paused run before this one.
Turn answerTurn(const SavedJob& job, const GenerationResult& result, const TranscriptAnswer& answer) {
    Turn turn;
    turn.role = TurnRole::Assistant;
    turn.text = answer.text;
    turn.reasoning = answer.reasoning;
    turn.tokenCount = result.generatedTokens;
    turn.prefillMs = job.answerPrefillMs + result.prefillSeconds * 1000;
    turn.decodeMs = job.answerDecodeMs + result.decodeSeconds * 1000;
    return turn;
}

// Writes the answer's turn in place of a paused answer's (answerTurn), or after the question when
// there is none (or a pause was cut off before its turn was written).
Result<int64_t> recordAnswerTurn(SessionStore& store, const std::string& id, int64_t answerTurn, const Turn& turn) {
    if (answerTurn >= 0) {
        auto turns = store.turns(id);
        STRATA_TRY(turns);
        if (answerTurn < int64_t(turns->size())) {
            STRATA_TRY(store.replaceTurn(id, answerTurn, turn));
            return answerTurn;
        }
    }
    return store.appendTurn(id, turn);
}

}  // namespace

Status saveAnswer(SessionStore& store, const std::string& id, KvCache& kv, SavedJob job,
                  const GenerationResult& result, const TranscriptAnswer& answer) {
    auto flushed = kv.flush();
    if (!flushed.ok()) return pauseOnFullDisk(store, id, flushed.error(), 0);
    const Turn turn = answerTurn(job, result, answer);
    const int64_t pausedTurn = job.answerTurn;
    job.pendingIds = result.unfedIds;
    job.media.clear();  // in the cache now
    job.answerIds.clear();
    job.samplerDraws = 0;
    job.answerTurn = -1;
    job.answerPrefillMs = job.answerDecodeMs = 0;
    if (Status saved = writeSavedJob(store.sessionDir(id), job); !saved.ok())
        return pauseOnFullDisk(store, id, saved.error(), 0);
    Status s = store.addKvBlocks(id, manifestOf(flushed.value()));
    if (s.ok()) s = store.setContextTokens(id, kv.length());
    if (s.ok()) {
        auto recorded = recordAnswerTurn(store, id, pausedTurn, turn);
        if (!recorded.ok()) s = recorded.error();
    }
    if (s.ok()) s = store.clearPrefillProgress(id);
    if (s.ok()) s = store.setState(id, SessionState::Ready);
    if (!s.ok()) return pauseOnFullDisk(store, id, s.error(), 0);
    return {};
}

Status savePausedAnswer(SessionStore& store, const std::string& id, KvCache& kv, SavedJob job,
                        const GenerationResult& result, const TranscriptAnswer& answer) {
    auto flushed = kv.flush();
    if (!flushed.ok()) return pauseOnFullDisk(store, id, flushed.error(), 0);
    STRATA_TRY(store.addKvBlocks(id, manifestOf(flushed.value())));
    STRATA_TRY(store.setContextTokens(id, kv.length()));
    const Turn turn = answerTurn(job, result, answer);
    // The job is written first, naming the turn the answer will have: a process cut off between
    // the two still resumes the answer, and then writes its turn.
    if (job.answerTurn < 0) {
        auto turns = store.turns(id);
        STRATA_TRY(turns);
        job.answerTurn = int64_t(turns->size());
    }
    job.media.clear();  // in the cache now
    job.answerIds = result.outputIds;
    job.samplerDraws = result.samplerDraws;
    job.answerPrefillMs = turn.prefillMs;
    job.answerDecodeMs = turn.decodeMs;
    STRATA_TRY(writeSavedJob(store.sessionDir(id), job));
    STRATA_TRY(recordAnswerTurn(store, id, job.answerTurn, turn));
    return store.setState(id, SessionState::Paused);
}

std::string sessionTitleOf(const std::string& question) {
    std::string line = question.substr(0, question.find('\n'));
    if (line.size() > 80) {
        size_t cut = 77;
        while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
        line = line.substr(0, cut) + "...";
    }
    return line.empty() ? "untitled" : line;
}

Status requireReady(const SessionInfo& session) {
    if (session.state == SessionState::Ready) return {};
    return badInput("session " + session.id + " is " + toString(session.state) + "; resume its job first (strata-cli run --resume " +
                    session.id + ")");
}

namespace {

Result<std::string> followUpText(const std::string& modelType, bool chat, bool enableThinking,
                                 const std::string& message) {
    if (!chat) return message;
    auto format = chatFormatForModelType(modelType);
    STRATA_TRY(format);
    // Rendered around placeholders, the template itself says how a turn ends and the next begins.
    const std::string question = "strata-question", answer = "strata-answer";
    ChatOptions closed;
    closed.addGenerationPrompt = false;
    closed.enableThinking = enableThinking;
    auto before = renderChat(format.value(), {{"user", question}, {"assistant", answer}}, closed);
    STRATA_TRY(before);
    ChatOptions open;
    open.enableThinking = enableThinking;
    auto after = renderChat(format.value(), {{"user", question}, {"assistant", answer}, {"user", message}}, open);
    STRATA_TRY(after);
    // What follows the answer comes from the rendering that goes on: a template may end the last
    // answer otherwise than an earlier one (harmony writes <|return|> there, <|end|> here). Kept
    // in the cache after harmony's final answer is the reasoning before it, which the template
    // would drop from an earlier turn: the model goes on from what it wrote.
    const size_t end = before.value().rfind(answer);
    if (end == std::string::npos || after.value().compare(0, end + answer.size(), before.value(), 0, end + answer.size()) != 0)
        return internalError("the " + modelType + " chat format cannot continue a conversation");
    return after.value().substr(end + answer.size());
}

}  // namespace

Result<std::vector<int32_t>> followUpIds(const std::string& modelType, const Tokenizer& tokenizer,
                                         const SavedJob& previous, const std::string& message) {
    if (chatTurnsFromTokenIds(modelType) && previous.chat) {
        std::vector<int32_t> ids = previous.pendingIds;
        std::vector<int32_t> turn;
        STRATA_ASSIGN(turn, mistralFollowUpIds(tokenizer, message));
        ids.insert(ids.end(), turn.begin(), turn.end());
        return ids;
    }
    auto text = followUpText(modelType, previous.chat, previous.enableThinking, message);
    STRATA_TRY(text);
    std::vector<int32_t> ids = previous.pendingIds;
    const std::vector<int32_t> turn = tokenizer.encode(text.value(), false);
    ids.insert(ids.end(), turn.begin(), turn.end());
    return ids;
}

}  // namespace strata
