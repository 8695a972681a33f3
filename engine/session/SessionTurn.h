#pragma once
// One turn of a saved session, as strata-cli and the window both run it: a new session or a
// follow-up on a ready one, or the resume of a job that was cut off. The turn's job is written
// before anything runs, the prefill is checkpointed, and the answer is saved with the KV cache so
// that the next question prefills only its own tokens.
//
// A stop asked for during prefill (GenerationCallbacks::cancelRequested) leaves the session
// paused at its last checkpoint, resumable; during decode the answer so far is saved as the turn.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kv/KvCache.h"
#include "model/Generator.h"
#include "session/SessionJob.h"
#include "session/SessionStore.h"

namespace strata {

struct TurnAttachment {
    std::filesystem::path path;
    std::string kind;  // "pdf", "text", ...
    int64_t tokens = 0;
};

struct SessionTurnRequest {
    std::string sessionId;  // empty: a new session
    std::string title;      // of a new session
    std::string modelPath;  // of a new session
    std::string userText;   // the question as the transcript shows it
    std::vector<TurnAttachment> attachments;
    SavedJob job;           // the prompt ids (after the session's context) and the settings
    KvCacheOptions kv;      // budgets; the directory is the session's folder
    int64_t checkpointTokens = 4096;
};

struct SessionTurnCallbacks {
    // Its onCheckpoint is the turn's own. For answers on harmony channels (a gpt-oss chat) onText
    // streams the final channel alone.
    GenerationCallbacks generation;
    // Answers on harmony channels: the analysis channel, the model's reasoning, as it streams.
    std::function<void(std::string_view)> onReasoning;
    // The session exists and its job is saved: from here on it can be resumed. promptTokensSaved
    // of the job's promptTokens are in the cache already (a resume's starting point).
    std::function<void(const std::string& sessionId, int64_t promptTokensSaved, int64_t promptTokens)> onSessionSaved;
    // After each prefill checkpoint is saved: prompt tokens now saved of the job's.
    std::function<void(int64_t promptTokensSaved, int64_t promptTokens)> onCheckpointSaved;
};

struct SessionTurnResult {
    std::string sessionId;
    GenerationResult generation;  // its text as generated, with any channel markers
    TranscriptAnswer answer;      // as the transcript keeps it: the answer, the reasoning apart
    KvCacheStats kv;
    int64_t resumedAt = 0;  // resume: prompt tokens that were already saved
};

Result<SessionTurnResult> runSessionTurn(SessionStore& store, TransformerModel& model, const Tokenizer& tokenizer,
                                         SessionTurnRequest request, const SessionTurnCallbacks& callbacks = {});

// The answer a paused job had when it stopped (what a resume continues), with its token count;
// nothing when the session's job has no answer under way.
struct PausedAnswer {
    std::string text;
    int64_t tokens = 0;
    std::string reasoning;  // answers on harmony channels: the reasoning so far
};
Result<std::optional<PausedAnswer>> pausedAnswer(SessionStore& store, const std::string& sessionId);

// Finishes the saved job of a paused or cut-off session from its last checkpoint.
Result<SessionTurnResult> resumeSessionTurn(SessionStore& store, TransformerModel& model, const Tokenizer& tokenizer,
                                            const std::string& sessionId, KvCacheOptions kvOptions,
                                            int64_t checkpointTokens, const SessionTurnCallbacks& callbacks = {});

}  // namespace strata
