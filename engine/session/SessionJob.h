#pragma once
// What a new question, a resumed job, a follow-up and batched questions share: a job saved in the
// session store, its KV cache in the session folder, prefill checkpoints, and the text that
// continues a conversation. Used by strata-cli and the window alike.
//
// A session folder holds the KV block files (one per layer) and job.json: the prompt ids of the turn
// being prefilled and the settings of the job, so that a resume repeats exactly what was asked.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kv/KvCache.h"
#include "model/Generator.h"
#include "session/AnswerChannels.h"
#include "session/SessionStore.h"

namespace strata {

// Rows given in place of placeholder tokens (an image's or a recording's features), kept with the
// job until its prompt is in the cache, so that a resumed prefill puts them back without reading
// the source files again. Saved beside job.json as media-N.f32.
struct SavedMedia {
    int64_t offset = 0;  // into promptIds
    int64_t rows = 0;
    bool bidirectional = false;
    std::vector<float> values;  // [rows, hidden]
};

struct SavedJob {
    std::vector<int32_t> promptIds;  // the turn's tokens, run after the session's context
    int64_t contextBefore = 0;       // session context tokens before this turn
    int64_t maxNewTokens = 256;
    SamplingParams sampling;
    std::vector<int32_t> stopTokenIds;
    std::vector<std::string> stopStrings;
    // Tokens the cache lacks after the last answer (its final token, when decoding stopped before
    // running it): the next turn runs them first.
    std::vector<int32_t> pendingIds;
    bool chat = false;  // the conversation uses the model's chat format
    bool enableThinking = true;
    std::vector<SavedMedia> media;  // in order; empty once the prompt is in the cache
    // An answer paused part-way (by a signal, a logout, the window closed with the job left for
    // later): its tokens are in the cache after the prompt, the transcript holds its text so far
    // as turn answerTurn, and a resume goes on decoding from where it stopped.
    std::vector<int32_t> answerIds;
    uint64_t samplerDraws = 0;
    int64_t answerTurn = -1;
    double answerPrefillMs = 0;  // the paused run's figures, added to the finished turn's
    double answerDecodeMs = 0;
};

// The request that runs the job's prompt ids from `from` on, with its settings and the media rows
// from there on (which point into job: it must outlive the request). For a job with a paused
// answer, the request continues the answer instead (from is then ignored).
GenerationRequest requestFor(const SavedJob& job, int64_t from = 0);

Status writeSavedJob(const std::filesystem::path& sessionDir, const SavedJob& job);
Result<SavedJob> readSavedJob(const std::filesystem::path& sessionDir);

// KV blocks of a saved session hold this many tokens.
constexpr int64_t kSessionKvBlockTokens = 256;

// Saves what the cache holds beyond the last checkpoint: flushes the blocks, then records them and
// the progress in one transaction each. A full disk pauses the session and says how to resume.
Status saveCheckpoint(SessionStore& store, const std::string& id, KvCache& kv, const PrefillProgress& progress);
// Makes the cache durable after an answer and records the turn (answer: result's text as the
// transcript keeps it; in place of a paused answer's turn) and the tokens the cache lacks
// (job.pendingIds): the session is ready for a follow-up.
Status saveAnswer(SessionStore& store, const std::string& id, KvCache& kv, SavedJob job,
                  const GenerationResult& result, const TranscriptAnswer& answer);
// Saves an answer paused part-way: the cache with every token generated so far, the answer so far
// as the transcript's turn, and the job with what a resume needs to continue it exactly. The
// session is paused.
Status savePausedAnswer(SessionStore& store, const std::string& id, KvCache& kv, SavedJob job,
                        const GenerationResult& result, const TranscriptAnswer& answer);

// The first line of a question, shortened to whole UTF-8 characters: a new session's title until
// the user renames it ("untitled" for an empty line).
std::string sessionTitleOf(const std::string& question);

// Bad input saying how to resume unless the session is ready for a new turn.
Status requireReady(const SessionInfo& session);

// The ids that continue a saved conversation (previous: its job) with a new user message: the
// previous answer's tokens the cache lacks, then the text that ends the assistant's turn (which
// the cache never holds: decoding stops before it) and the new turn up to the assistant's answer.
// Without the chat format, the message itself follows the missing tokens.
Result<std::vector<int32_t>> followUpIds(const std::string& modelType, const Tokenizer& tokenizer,
                                         const SavedJob& previous, const std::string& message);

}  // namespace strata
