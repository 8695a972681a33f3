#pragma once
// Saved sessions: one SQLite database (root/sessions.sqlite3, WAL journal) holding every session's
// title, model, turns, attachments (with SHA-256), KV manifest and prefill checkpoint, plus one
// folder per session (root/<id>/) where the KV block files live. Every change is one transaction,
// so a crash or a full disk leaves each session as it was before the change or after it.
//
// Several stores (threads or processes) may open the same root: writers take the write lock up
// front (BEGIN IMMEDIATE) and wait for each other up to a busy timeout. One SessionStore may be
// shared between threads; its calls are serialised.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

struct sqlite3;

namespace strata {

enum class SessionState { Prefilling, Ready, Paused, Failed };
const char* toString(SessionState state);  // "prefilling", "ready", "paused", "failed"
std::optional<SessionState> sessionStateFromString(std::string_view name);

enum class TurnRole { System, User, Assistant };
const char* toString(TurnRole role);  // "system", "user", "assistant"
std::optional<TurnRole> turnRoleFromString(std::string_view name);

// Times are Unix milliseconds (UTC). A store keeps updated_at strictly increasing across its
// sessions, so sorting by it gives the exact order of the last changes.
struct SessionInfo {
    std::string id;  // assigned by createSession: 12 lower-case hex digits
    std::string title;
    std::string modelPath;
    std::string modelFingerprint;
    int64_t createdAt = 0;
    int64_t updatedAt = 0;
    SessionState state = SessionState::Ready;
    int64_t contextTokens = 0;
    int64_t turnCount = 0;  // filled when read back
};

struct Turn {
    int64_t index = 0;  // assigned by appendTurn: 0, 1, 2, ... per session
    TurnRole role = TurnRole::User;
    std::string text;
    int64_t tokenCount = 0;
    int64_t createdAt = 0;  // assigned by appendTurn
    double prefillMs = 0;
    double decodeMs = 0;
    // The model's reasoning before its answer (a gpt-oss answer's analysis channel), kept apart
    // from the text; empty for most turns and for stores of schema 2 and older.
    std::string reasoning;
};

struct Attachment {
    std::filesystem::path path;  // absolute
    std::string sha256;          // lower-case hex of the file's bytes when it was added
    uint64_t bytes = 0;
    std::string kind;  // what ingest made of it: "pdf", "text", "image", "audio", ...
    int64_t tokenCount = 0;
    int64_t addedAt = 0;
    int64_t turnIndex = -1;  // the question it came with; -1: not recorded (stores of schema 1)
};

// One KV block written to a file in the session folder. Blocks cover token positions
// [firstToken, firstToken + tokens) of one layer.
struct KvManifestEntry {
    int32_t layer = 0;
    int64_t blockIndex = 0;
    int64_t firstToken = 0;
    int64_t tokens = 0;
    std::string fileName;  // a plain name inside the session folder
    uint64_t offset = 0;
    uint64_t bytes = 0;
    uint64_t checksum = 0;
};

// Checkpoint of a resumable prefill, written after each finished chunk.
struct PrefillProgress {
    int64_t tokensDone = 0;
    int64_t tokensTotal = 0;
    int64_t chunk = 0;
    int64_t updatedAt = 0;  // assigned by setPrefillProgress
};

class SessionStore {
public:
    static constexpr int kSchemaVersion = 3;
    static constexpr const char* kDatabaseName = "sessions.sqlite3";

    // Creates root if needed and opens (or initialises) root/sessions.sqlite3. A file that is
    // not a Strata session database, or one written by a newer schema, is refused with badInput.
    static Result<std::unique_ptr<SessionStore>> open(const std::filesystem::path& root);
    ~SessionStore();
    SessionStore(const SessionStore&) = delete;
    SessionStore& operator=(const SessionStore&) = delete;

    const std::filesystem::path& root() const { return root_; }
    const std::filesystem::path& databaseFile() const { return databaseFile_; }
    std::filesystem::path sessionDir(const std::string& id) const { return root_ / id; }

    // Creates the session row and its folder; returns the new id. Title, model path and
    // fingerprint, state and context tokens come from info; its id and times are ignored.
    Result<std::string> createSession(const SessionInfo& info);
    Result<SessionInfo> session(const std::string& id);
    // Most recently changed first. A non-empty search keeps the sessions whose title or any turn
    // text contains it (case-insensitive for ASCII; % and _ match themselves).
    Result<std::vector<SessionInfo>> listSessions(std::string_view search = {});
    Status renameSession(const std::string& id, const std::string& title);
    Status setState(const std::string& id, SessionState state);
    Status setContextTokens(const std::string& id, int64_t tokens);
    // Removes the rows in one transaction, then the folder (a folder already gone is fine).
    Status deleteSession(const std::string& id);

    // Appends after the last turn; returns the turn's index.
    Result<int64_t> appendTurn(const std::string& id, const Turn& turn);
    // Rewrites turn `index` (its text, token count and times): a paused answer that was finished.
    Status replaceTurn(const std::string& id, int64_t index, const Turn& turn);
    Result<std::vector<Turn>> turns(const std::string& id);

    // Hashes the file now and records it, with the turn it came with (-1: none). Adding a path the
    // session already has replaces its record (the file changed) and keeps its place in the list.
    Result<Attachment> addAttachment(const std::string& id, const std::filesystem::path& file,
                                     std::string_view kind, int64_t tokenCount, int64_t turnIndex = -1);
    Result<std::vector<Attachment>> attachments(const std::string& id);  // in the order added

    // All records in one transaction. A record for a (layer, blockIndex) the manifest already
    // has replaces it (a partly filled last block that was written again).
    Status addKvBlocks(const std::string& id, const std::vector<KvManifestEntry>& blocks);
    Result<std::vector<KvManifestEntry>> kvBlocks(const std::string& id);  // by layer, then block
    // Truncates the manifest to the first tokenCount tokens: blocks starting at or after it are
    // dropped, a block straddling it keeps only its first (tokenCount - firstToken) tokens.
    // The block files are left alone; their owner reclaims the space.
    Status removeKvBlocksFrom(const std::string& id, int64_t tokenCount);

    Status setPrefillProgress(const std::string& id, const PrefillProgress& progress);
    // Empty when the session has no prefill checkpoint.
    Result<std::optional<PrefillProgress>> prefillProgress(const std::string& id);
    Status clearPrefillProgress(const std::string& id);  // the prefill finished or was abandoned

private:
    SessionStore(sqlite3* db, std::filesystem::path root);
    Status initialiseSchema();
    Error sqlError(int rc, std::string_view what) const;
    Status requireSession(const std::string& id);
    Result<int64_t> nextChangeTime();
    Result<bool> idTaken(const std::string& id);
    // Runs body inside BEGIN IMMEDIATE ... COMMIT after checking the session exists, marks the
    // session changed, and rolls back if anything fails.
    template <typename Body>
    Status changeSession(const std::string& id, std::string_view what, Body&& body);

    sqlite3* db_ = nullptr;
    std::filesystem::path root_;
    std::filesystem::path databaseFile_;
    std::mutex mutex_;
};

}  // namespace strata
