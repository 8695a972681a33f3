#include "session/SessionStore.h"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <iterator>
#include <random>

#include "core/Sha256.h"

namespace strata {

namespace {

namespace fs = std::filesystem;

// PRAGMA application_id: "STRA". Together with user_version it tells our database from any other.
constexpr int32_t kApplicationId = 0x53545241;
constexpr int kBusyTimeoutMs = 10000;
constexpr size_t kIdDigits = 12;

// Constant text only: everything a user typed is bound as a parameter.
constexpr const char* kSchema = R"sql(
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  model_path TEXT NOT NULL,
  model_fingerprint TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('prefilling', 'ready', 'paused', 'failed')),
  context_tokens INTEGER NOT NULL
);
CREATE INDEX sessions_by_update ON sessions (updated_at);
CREATE TABLE turns (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  text TEXT NOT NULL,
  token_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  prefill_ms REAL NOT NULL,
  decode_ms REAL NOT NULL,
  reasoning TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (session_id, idx)
);
CREATE TABLE attachments (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  kind TEXT NOT NULL,
  token_count INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  turn_index INTEGER,
  UNIQUE (session_id, path)
);
CREATE TABLE kv_blocks (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  layer INTEGER NOT NULL,
  block_index INTEGER NOT NULL,
  first_token INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  file_name TEXT NOT NULL,
  file_offset INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  checksum INTEGER NOT NULL,
  PRIMARY KEY (session_id, layer, block_index)
) WITHOUT ROWID;
CREATE TABLE prefill_progress (
  session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  tokens_done INTEGER NOT NULL,
  tokens_total INTEGER NOT NULL,
  chunk INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
PRAGMA application_id = 1398035009;
PRAGMA user_version = 3;
)sql";

// From each schema version to the next, run in one transaction: version 2 records the turn each
// attachment came with (NULL for the attachments of version 1); version 3 keeps a turn's
// reasoning apart from its text (empty for the turns of version 2).
constexpr const char* kMigrations[] = {
    nullptr,
    "ALTER TABLE attachments ADD COLUMN turn_index INTEGER; PRAGMA user_version = 2;",
    "ALTER TABLE turns ADD COLUMN reasoning TEXT NOT NULL DEFAULT ''; PRAGMA user_version = 3;",
};

static_assert(kApplicationId == 1398035009 && SessionStore::kSchemaVersion == 3 &&
                  std::size(kMigrations) == SessionStore::kSchemaVersion,
              "kSchema spells out the application id and schema version, and every older version migrates");

constexpr const char* kSessionColumns = R"sql(
SELECT s.id, s.title, s.model_path, s.model_fingerprint, s.created_at, s.updated_at, s.state,
       s.context_tokens, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id)
FROM sessions s )sql";

int64_t nowMs() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Error sqliteError(sqlite3* db, const fs::path& file, int rc, std::string_view what) {
    const int primary = rc & 0xff;
    std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    std::string message = std::string(what) + " in " + file.string() + ": " + detail;
    if (primary == SQLITE_FULL || (primary == SQLITE_IOERR && db && sqlite3_system_errno(db) == ENOSPC))
        return diskFull(std::move(message));
    if (primary == SQLITE_NOTADB)
        return badInput(file.string() + " is not a SQLite database, so it cannot hold Strata's "
                        "sessions; move it away or choose another sessions folder");
    if (primary == SQLITE_BUSY)
        message += " (another Strata process held it for more than " +
                   std::to_string(kBusyTimeoutMs / 1000) + " s)";
    return internalError(std::move(message));
}

// A prepared statement that finalises itself; values are bound, never spliced into the SQL.
class Statement {
public:
    Statement(sqlite3* db, const fs::path& file, const char* sql) : db_(db), file_(file) {
        firstError_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bindInt(int index, int64_t value) {
        return check(stmt_ ? sqlite3_bind_int64(stmt_, index, value) : SQLITE_OK);
    }
    Statement& bindReal(int index, double value) {
        return check(stmt_ ? sqlite3_bind_double(stmt_, index, value) : SQLITE_OK);
    }
    Statement& bindText(int index, std::string_view value) {
        // A null pointer would bind SQL NULL; an empty view must stay an empty string.
        const char* data = value.data() ? value.data() : "";
        return check(stmt_ ? sqlite3_bind_text(stmt_, index, data, int(value.size()), SQLITE_TRANSIENT)
                           : SQLITE_OK);
    }

    // One step: true with a row to read, false when the statement is done.
    Result<bool> next(std::string_view what) {
        if (firstError_ != SQLITE_OK) return sqliteError(db_, file_, firstError_, what);
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        return sqliteError(db_, file_, rc, what);
    }
    // Steps to the end, ignoring rows (some PRAGMAs answer with one).
    Status run(std::string_view what) {
        for (;;) {
            Result<bool> row = next(what);
            if (!row) return row.error();
            if (!*row) return Status::success();
        }
    }
    // Every row, each made into a T by read(*this).
    template <typename T, typename Read>
    Result<std::vector<T>> collect(std::string_view what, Read read) {
        std::vector<T> out;
        for (;;) {
            Result<bool> row = next(what);
            if (!row) return row.error();
            if (!*row) return out;
            out.push_back(read(*this));
        }
    }
    // Ready to bind and run again, as for the next row of a batch insert.
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    double real(int column) const { return sqlite3_column_double(stmt_, column); }
    std::string text(int column) const {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return data ? std::string(data, size_t(sqlite3_column_bytes(stmt_, column))) : std::string();
    }

private:
    Statement& check(int rc) {
        if (rc != SQLITE_OK && firstError_ == SQLITE_OK) firstError_ = rc;
        return *this;
    }

    sqlite3* db_;
    const fs::path& file_;
    sqlite3_stmt* stmt_ = nullptr;
    int firstError_ = SQLITE_OK;
};

// BEGIN IMMEDIATE takes the write lock at once, so a writer waits (busy timeout) at the start
// instead of failing when it later upgrades a read lock another writer also wants.
class Transaction {
public:
    Transaction(sqlite3* db, const fs::path& file) : db_(db), file_(file) {}
    ~Transaction() {
        if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    Status begin(std::string_view what) { return Statement(db_, file_, "BEGIN IMMEDIATE").run(what); }
    Status commit(std::string_view what) { return Statement(db_, file_, "COMMIT").run(what); }

private:
    sqlite3* db_;
    const fs::path& file_;
};

bool isSessionId(const std::string& id) {
    if (id.size() != kIdDigits) return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::string randomSessionId() {
    static thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t bits = generator();
    std::string id;
    for (size_t i = 0; i < kIdDigits; ++i, bits >>= 4)
        id.push_back(kHex[bits & 15]);
    return id;
}

// LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally (ESCAPE '\').
std::string containsPattern(std::string_view text) {
    std::string pattern = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
        pattern.push_back(c);
    }
    pattern.push_back('%');
    return pattern;
}

bool isPlainFileName(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\0') == std::string::npos;
}

SessionInfo readSession(const Statement& row) {
    SessionInfo info;
    info.id = row.text(0);
    info.title = row.text(1);
    info.modelPath = row.text(2);
    info.modelFingerprint = row.text(3);
    info.createdAt = row.integer(4);
    info.updatedAt = row.integer(5);
    info.state = sessionStateFromString(row.text(6)).value_or(SessionState::Failed);
    info.contextTokens = row.integer(7);
    info.turnCount = row.integer(8);
    return info;
}

}  // namespace

const char* toString(SessionState state) {
    switch (state) {
    case SessionState::Prefilling: return "prefilling";
    case SessionState::Ready: return "ready";
    case SessionState::Paused: return "paused";
    case SessionState::Failed: return "failed";
    }
    return "failed";
}

std::optional<SessionState> sessionStateFromString(std::string_view name) {
    for (SessionState s : {SessionState::Prefilling, SessionState::Ready, SessionState::Paused,
                           SessionState::Failed})
        if (name == toString(s)) return s;
    return std::nullopt;
}

const char* toString(TurnRole role) {
    switch (role) {
    case TurnRole::System: return "system";
    case TurnRole::User: return "user";
    case TurnRole::Assistant: return "assistant";
    }
    return "user";
}

std::optional<TurnRole> turnRoleFromString(std::string_view name) {
    for (TurnRole r : {TurnRole::System, TurnRole::User, TurnRole::Assistant})
        if (name == toString(r)) return r;
    return std::nullopt;
}

SessionStore::SessionStore(sqlite3* db, std::filesystem::path root)
    : db_(db), root_(std::move(root)), databaseFile_(root_ / kDatabaseName) {}

SessionStore::~SessionStore() { sqlite3_close_v2(db_); }

Error SessionStore::sqlError(int rc, std::string_view what) const {
    return sqliteError(db_, databaseFile_, rc, what);
}

Result<std::unique_ptr<SessionStore>> SessionStore::open(const std::filesystem::path& root) {
    std::error_code ec;
    fs::path folder = fs::absolute(root, ec);
    if (ec) folder = root;
    fs::create_directories(folder, ec);
    if (ec || !fs::is_directory(folder))
        return badInput("cannot use " + folder.string() + " as the sessions folder: " +
                        (ec ? ec.message() : std::string("it is not a folder")));

    const fs::path file = folder / kDatabaseName;
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    // The store owns the handle from here on, even a failed one, so it is always closed.
    std::unique_ptr<SessionStore> store(new SessionStore(db, folder));
    if (rc != SQLITE_OK) return store->sqlError(rc, "cannot open the session database");
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);

    // synchronous=FULL: a committed change survives a power cut, not only a crash; the store
    // commits a few times per prefill chunk, so the extra flush is cheap.
    for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON",
                               "PRAGMA synchronous = FULL"})
        STRATA_TRY(Statement(db, store->databaseFile_, pragma).run("cannot configure the session database"));
    STRATA_TRY(store->initialiseSchema());
    return store;
}

Status SessionStore::initialiseSchema() {
    const std::string_view what = "cannot read the schema of the session database";
    auto readHeader = [&](int64_t& applicationId, int64_t& version, int64_t& objects) -> Status {
        Statement header(db_, databaseFile_,
                         "SELECT (SELECT application_id FROM pragma_application_id), "
                         "(SELECT user_version FROM pragma_user_version), "
                         "(SELECT COUNT(*) FROM sqlite_schema)");
        Result<bool> row = header.next(what);
        if (!row) return row.error();
        applicationId = header.integer(0);
        version = header.integer(1);
        objects = header.integer(2);
        return Status::success();
    };
    auto judge = [&](int64_t applicationId, int64_t version) -> Status {
        if (applicationId != kApplicationId)
            return badInput(databaseFile_.string() +
                            " is a SQLite database but not a Strata session store; move it away "
                            "or choose another sessions folder");
        if (version > kSchemaVersion)
            return badInput(databaseFile_.string() + " has session schema version " +
                            std::to_string(version) + ", newer than the version " +
                            std::to_string(kSchemaVersion) +
                            " this Strata understands; open it with a newer Strata");
        if (version < 1)
            return badInput(databaseFile_.string() + " has an unknown session schema version " +
                            std::to_string(version));
        return Status::success();
    };

    int64_t applicationId = 0, version = 0, objects = 0;
    STRATA_TRY(readHeader(applicationId, version, objects));
    if (applicationId != 0 || version != 0 || objects != 0) {
        STRATA_TRY(judge(applicationId, version));
        if (version == kSchemaVersion) return Status::success();
        // An older store: brought up to date once, by whichever process gets the lock first.
        Transaction tx(db_, databaseFile_);
        STRATA_TRY(tx.begin("cannot update the session schema"));
        STRATA_TRY(readHeader(applicationId, version, objects));
        for (; version < kSchemaVersion; ++version)
            if (int rc = sqlite3_exec(db_, kMigrations[version], nullptr, nullptr, nullptr); rc != SQLITE_OK)
                return sqlError(rc, "cannot update the session schema from version " + std::to_string(version));
        return tx.commit("cannot update the session schema");
    }

    // An empty file: create the schema, unless another process got there first.
    Transaction tx(db_, databaseFile_);
    STRATA_TRY(tx.begin("cannot create the session schema"));
    STRATA_TRY(readHeader(applicationId, version, objects));
    if (applicationId != 0 || version != 0 || objects != 0) return judge(applicationId, version);
    if (int rc = sqlite3_exec(db_, kSchema, nullptr, nullptr, nullptr); rc != SQLITE_OK)
        return sqlError(rc, "cannot create the session schema");
    return tx.commit("cannot create the session schema");
}

Status SessionStore::requireSession(const std::string& id) {
    if (isSessionId(id)) {
        Statement find(db_, databaseFile_, "SELECT 1 FROM sessions WHERE id = ?1");
        find.bindText(1, id);
        Result<bool> found = find.next("cannot look up session " + id);
        if (!found) return found.error();
        if (*found) return Status::success();
    }
    return badInput("no session " + id + " in " + root_.string());
}

Result<int64_t> SessionStore::nextChangeTime() {
    // Strictly after every recorded change, so listing by updated_at orders changes exactly even
    // when two land in the same millisecond or the clock steps back.
    Statement next(db_, databaseFile_,
                   "SELECT MAX(?1, (SELECT COALESCE(MAX(updated_at), 0) + 1 FROM sessions))");
    next.bindInt(1, nowMs());
    Result<bool> row = next.next("cannot read the session clock");
    if (!row) return row.error();
    return next.integer(0);
}

Result<bool> SessionStore::idTaken(const std::string& id) {
    Statement find(db_, databaseFile_, "SELECT 1 FROM sessions WHERE id = ?1");
    find.bindText(1, id);
    Result<bool> found = find.next("cannot look up session " + id);
    if (!found) return found.error();
    std::error_code ec;
    // A folder left by a crash between deleting rows and removing files must not be reused.
    return *found || fs::exists(sessionDir(id), ec);
}

template <typename Body>
Status SessionStore::changeSession(const std::string& id, std::string_view what, Body&& body) {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, databaseFile_);
    STRATA_TRY(tx.begin(what));
    STRATA_TRY(requireSession(id));
    STRATA_TRY(body());
    int64_t changedAt = 0;
    STRATA_ASSIGN(changedAt, nextChangeTime());
    Statement touch(db_, databaseFile_, "UPDATE sessions SET updated_at = ?1 WHERE id = ?2");
    touch.bindInt(1, changedAt).bindText(2, id);
    STRATA_TRY(touch.run(what));
    return tx.commit(what);
}

Result<std::string> SessionStore::createSession(const SessionInfo& info) {
    const std::string what = "cannot create a session";
    std::lock_guard lock(mutex_);
    Transaction tx(db_, databaseFile_);
    STRATA_TRY(tx.begin(what));

    std::string id;
    for (int attempt = 0;; ++attempt) {
        if (attempt == 16) return internalError(what + " in " + root_.string() + ": no free id");
        id = randomSessionId();
        bool taken = true;
        STRATA_ASSIGN(taken, idTaken(id));
        if (!taken) break;
    }
    int64_t now = 0;
    STRATA_ASSIGN(now, nextChangeTime());
    Statement insert(db_, databaseFile_,
                     "INSERT INTO sessions (id, title, model_path, model_fingerprint, created_at, "
                     "updated_at, state, context_tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)");
    insert.bindText(1, id).bindText(2, info.title).bindText(3, info.modelPath);
    insert.bindText(4, info.modelFingerprint).bindInt(5, now).bindText(6, toString(info.state));
    insert.bindInt(7, info.contextTokens);
    STRATA_TRY(insert.run(what));

    const fs::path dir = sessionDir(id);
    std::error_code ec;
    fs::create_directory(dir, ec);
    if (ec) {
        std::string message = what + ": cannot create its folder " + dir.string() + ": " + ec.message();
        return ec == std::errc::no_space_on_device ? diskFull(std::move(message))
                                                   : internalError(std::move(message));
    }
    if (Status committed = tx.commit(what); !committed) {
        fs::remove(dir, ec);
        return committed.error();
    }
    return id;
}

Result<SessionInfo> SessionStore::session(const std::string& id) {
    std::lock_guard lock(mutex_);
    if (!isSessionId(id)) return badInput("no session " + id + " in " + root_.string());
    Statement select(db_, databaseFile_, (std::string(kSessionColumns) + "WHERE s.id = ?1").c_str());
    select.bindText(1, id);
    Result<bool> row = select.next("cannot read session " + id);
    if (!row) return row.error();
    if (!*row) return badInput("no session " + id + " in " + root_.string());
    return readSession(select);
}

Result<std::vector<SessionInfo>> SessionStore::listSessions(std::string_view search) {
    std::lock_guard lock(mutex_);
    Statement select(db_, databaseFile_,
                     (std::string(kSessionColumns) +
                      "WHERE ?1 = 0 OR s.title LIKE ?2 ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns t "
                      "WHERE t.session_id = s.id AND t.text LIKE ?2 ESCAPE '\\') "
                      "ORDER BY s.updated_at DESC, s.rowid DESC")
                         .c_str());
    select.bindInt(1, search.empty() ? 0 : 1).bindText(2, containsPattern(search));
    return select.collect<SessionInfo>("cannot list sessions", readSession);
}

Status SessionStore::renameSession(const std::string& id, const std::string& title) {
    return changeSession(id, "cannot rename session " + id, [&]() -> Status {
        Statement update(db_, databaseFile_, "UPDATE sessions SET title = ?1 WHERE id = ?2");
        update.bindText(1, title).bindText(2, id);
        return update.run("cannot rename session " + id);
    });
}

Status SessionStore::setState(const std::string& id, SessionState state) {
    return changeSession(id, "cannot set the state of session " + id, [&]() -> Status {
        Statement update(db_, databaseFile_, "UPDATE sessions SET state = ?1 WHERE id = ?2");
        update.bindText(1, toString(state)).bindText(2, id);
        return update.run("cannot set the state of session " + id);
    });
}

Status SessionStore::setContextTokens(const std::string& id, int64_t tokens) {
    if (tokens < 0) return badInput("context token count " + std::to_string(tokens) + " is negative");
    return changeSession(id, "cannot set the context size of session " + id, [&]() -> Status {
        Statement update(db_, databaseFile_, "UPDATE sessions SET context_tokens = ?1 WHERE id = ?2");
        update.bindInt(1, tokens).bindText(2, id);
        return update.run("cannot set the context size of session " + id);
    });
}

Status SessionStore::deleteSession(const std::string& id) {
    const std::string what = "cannot delete session " + id;
    std::lock_guard lock(mutex_);
    {
        Transaction tx(db_, databaseFile_);
        STRATA_TRY(tx.begin(what));
        STRATA_TRY(requireSession(id));
        // Turns, attachments, KV manifest and progress go with it (ON DELETE CASCADE).
        Statement remove(db_, databaseFile_, "DELETE FROM sessions WHERE id = ?1");
        remove.bindText(1, id);
        STRATA_TRY(remove.run(what));
        STRATA_TRY(tx.commit(what));
    }
    std::error_code ec;
    fs::remove_all(sessionDir(id), ec);
    if (ec)
        return internalError("session " + id + " was deleted from " + databaseFile_.string() +
                             " but its folder " + sessionDir(id).string() +
                             " could not be removed: " + ec.message());
    return Status::success();
}

Result<int64_t> SessionStore::appendTurn(const std::string& id, const Turn& turn) {
    const std::string what = "cannot append a turn to session " + id;
    int64_t index = 0;
    STRATA_TRY(changeSession(id, what, [&]() -> Status {
        Statement last(db_, databaseFile_,
                       "SELECT COALESCE(MAX(idx) + 1, 0) FROM turns WHERE session_id = ?1");
        last.bindText(1, id);
        Result<bool> row = last.next(what);
        if (!row) return row.error();
        index = last.integer(0);
        Statement insert(db_, databaseFile_,
                         "INSERT INTO turns (session_id, idx, role, text, token_count, created_at, "
                         "prefill_ms, decode_ms, reasoning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        insert.bindText(1, id).bindInt(2, index).bindText(3, toString(turn.role));
        insert.bindText(4, turn.text).bindInt(5, turn.tokenCount).bindInt(6, nowMs());
        insert.bindReal(7, turn.prefillMs).bindReal(8, turn.decodeMs).bindText(9, turn.reasoning);
        return insert.run(what);
    }));
    return index;
}

Status SessionStore::replaceTurn(const std::string& id, int64_t index, const Turn& turn) {
    const std::string what = "cannot rewrite turn " + std::to_string(index) + " of session " + id;
    return changeSession(id, what, [&]() -> Status {
        Statement update(db_, databaseFile_,
                         "UPDATE turns SET role = ?1, text = ?2, token_count = ?3, prefill_ms = ?4, decode_ms = ?5, "
                         "reasoning = ?8 WHERE session_id = ?6 AND idx = ?7");
        update.bindText(1, toString(turn.role)).bindText(2, turn.text).bindInt(3, turn.tokenCount);
        update.bindReal(4, turn.prefillMs).bindReal(5, turn.decodeMs).bindText(6, id).bindInt(7, index);
        update.bindText(8, turn.reasoning);
        STRATA_TRY(update.run(what));
        if (sqlite3_changes(db_) != 1) return badInput(what + ": there is no such turn");
        return {};
    });
}

Result<std::vector<Turn>> SessionStore::turns(const std::string& id) {
    std::lock_guard lock(mutex_);
    STRATA_TRY(requireSession(id));
    Statement select(db_, databaseFile_,
                     "SELECT idx, role, text, token_count, created_at, prefill_ms, decode_ms, reasoning "
                     "FROM turns WHERE session_id = ?1 ORDER BY idx");
    select.bindText(1, id);
    return select.collect<Turn>("cannot read the turns of session " + id, [](Statement& row) {
        Turn turn;
        turn.index = row.integer(0);
        turn.role = turnRoleFromString(row.text(1)).value_or(TurnRole::User);
        turn.text = row.text(2);
        turn.tokenCount = row.integer(3);
        turn.createdAt = row.integer(4);
        turn.prefillMs = row.real(5);
        turn.decodeMs = row.real(6);
        turn.reasoning = row.text(7);
        return turn;
    });
}

Result<Attachment> SessionStore::addAttachment(const std::string& id, const std::filesystem::path& file,
                                               std::string_view kind, int64_t tokenCount, int64_t turnIndex) {
    std::error_code ec;
    Attachment attachment;
    attachment.path = fs::absolute(file, ec).lexically_normal();
    if (ec) attachment.path = file;
    // Hashing a large document takes a while: do it before taking the write lock.
    FileDigest digest;
    STRATA_ASSIGN(digest, sha256OfFile(attachment.path));
    attachment.sha256 = digest.sha256;
    attachment.bytes = digest.bytes;
    attachment.kind = std::string(kind);
    attachment.tokenCount = tokenCount;
    attachment.addedAt = nowMs();
    attachment.turnIndex = turnIndex;

    const std::string what = "cannot add " + attachment.path.string() + " to session " + id;
    STRATA_TRY(changeSession(id, what, [&]() -> Status {
        Statement upsert(db_, databaseFile_,
                         "INSERT INTO attachments (session_id, path, sha256, bytes, kind, token_count, "
                         "added_at, turn_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                         "ON CONFLICT (session_id, path) DO UPDATE SET sha256 = excluded.sha256, "
                         "bytes = excluded.bytes, kind = excluded.kind, token_count = excluded.token_count, "
                         "added_at = excluded.added_at, turn_index = excluded.turn_index");
        upsert.bindText(1, id).bindText(2, attachment.path.string()).bindText(3, attachment.sha256);
        upsert.bindInt(4, int64_t(attachment.bytes)).bindText(5, attachment.kind);
        upsert.bindInt(6, attachment.tokenCount).bindInt(7, attachment.addedAt);
        if (turnIndex >= 0) upsert.bindInt(8, turnIndex);
        return upsert.run(what);
    }));
    return attachment;
}

Result<std::vector<Attachment>> SessionStore::attachments(const std::string& id) {
    std::lock_guard lock(mutex_);
    STRATA_TRY(requireSession(id));
    Statement select(db_, databaseFile_,
                     "SELECT path, sha256, bytes, kind, token_count, added_at, COALESCE(turn_index, -1) "
                     "FROM attachments WHERE session_id = ?1 ORDER BY id");
    select.bindText(1, id);
    return select.collect<Attachment>("cannot read the attachments of session " + id, [](Statement& row) {
        Attachment a;
        a.path = row.text(0);
        a.sha256 = row.text(1);
        a.bytes = uint64_t(row.integer(2));
        a.kind = row.text(3);
        a.tokenCount = row.integer(4);
        a.addedAt = row.integer(5);
        a.turnIndex = row.integer(6);
        return a;
    });
}

Status SessionStore::addKvBlocks(const std::string& id, const std::vector<KvManifestEntry>& blocks) {
    for (const KvManifestEntry& b : blocks) {
        const std::string where = "KV block (layer " + std::to_string(b.layer) + ", block " +
                                  std::to_string(b.blockIndex) + ") of session " + id;
        if (!isPlainFileName(b.fileName))
            return badInput(where + " names the file \"" + b.fileName +
                            "\"; it must be a plain name inside the session folder");
        if (b.layer < 0 || b.blockIndex < 0 || b.firstToken < 0 || b.tokens <= 0)
            return badInput(where + " has a negative position or no tokens");
    }
    const std::string what = "cannot record the KV blocks of session " + id;
    return changeSession(id, what, [&]() -> Status {
        Statement insert(db_, databaseFile_,
                         "INSERT OR REPLACE INTO kv_blocks (session_id, layer, block_index, "
                         "first_token, tokens, file_name, file_offset, bytes, checksum) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        for (const KvManifestEntry& b : blocks) {
            insert.reset();
            insert.bindText(1, id).bindInt(2, b.layer).bindInt(3, b.blockIndex);
            insert.bindInt(4, b.firstToken).bindInt(5, b.tokens).bindText(6, b.fileName);
            // SQLite integers are signed 64-bit; the checksum keeps its bit pattern.
            insert.bindInt(7, int64_t(b.offset)).bindInt(8, int64_t(b.bytes));
            insert.bindInt(9, int64_t(b.checksum));
            STRATA_TRY(insert.run(what));
        }
        return Status::success();
    });
}

Result<std::vector<KvManifestEntry>> SessionStore::kvBlocks(const std::string& id) {
    std::lock_guard lock(mutex_);
    STRATA_TRY(requireSession(id));
    Statement select(db_, databaseFile_,
                     "SELECT layer, block_index, first_token, tokens, file_name, file_offset, bytes, "
                     "checksum FROM kv_blocks WHERE session_id = ?1 ORDER BY layer, block_index");
    select.bindText(1, id);
    return select.collect<KvManifestEntry>("cannot read the KV manifest of session " + id, [](Statement& row) {
        KvManifestEntry b;
        b.layer = int32_t(row.integer(0));
        b.blockIndex = row.integer(1);
        b.firstToken = row.integer(2);
        b.tokens = row.integer(3);
        b.fileName = row.text(4);
        b.offset = uint64_t(row.integer(5));
        b.bytes = uint64_t(row.integer(6));
        b.checksum = uint64_t(row.integer(7));
        return b;
    });
}

Status SessionStore::removeKvBlocksFrom(const std::string& id, int64_t tokenCount) {
    if (tokenCount < 0)
        return badInput("cannot truncate the KV of session " + id + " to " +
                        std::to_string(tokenCount) + " tokens");
    const std::string what = "cannot truncate the KV manifest of session " + id;
    return changeSession(id, what, [&]() -> Status {
        Statement drop(db_, databaseFile_,
                       "DELETE FROM kv_blocks WHERE session_id = ?1 AND first_token >= ?2");
        drop.bindText(1, id).bindInt(2, tokenCount);
        STRATA_TRY(drop.run(what));
        // KV of a position depends only on the tokens before it, so a straddling block's prefix
        // stays valid.
        Statement shorten(db_, databaseFile_,
                          "UPDATE kv_blocks SET tokens = ?2 - first_token "
                          "WHERE session_id = ?1 AND first_token + tokens > ?2");
        shorten.bindText(1, id).bindInt(2, tokenCount);
        return shorten.run(what);
    });
}

Status SessionStore::setPrefillProgress(const std::string& id, const PrefillProgress& progress) {
    if (progress.tokensDone < 0 || progress.tokensTotal < 0 || progress.chunk < 0 ||
        progress.tokensDone > progress.tokensTotal)
        return badInput("prefill progress of session " + id + " (" +
                        std::to_string(progress.tokensDone) + " of " +
                        std::to_string(progress.tokensTotal) + " tokens, chunk " +
                        std::to_string(progress.chunk) + ") is out of range");
    const std::string what = "cannot save the prefill progress of session " + id;
    return changeSession(id, what, [&]() -> Status {
        Statement upsert(db_, databaseFile_,
                         "INSERT INTO prefill_progress (session_id, tokens_done, tokens_total, chunk, "
                         "updated_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (session_id) DO UPDATE "
                         "SET tokens_done = excluded.tokens_done, tokens_total = excluded.tokens_total, "
                         "chunk = excluded.chunk, updated_at = excluded.updated_at");
        upsert.bindText(1, id).bindInt(2, progress.tokensDone).bindInt(3, progress.tokensTotal);
        upsert.bindInt(4, progress.chunk).bindInt(5, nowMs());
        return upsert.run(what);
    });
}

Result<std::optional<PrefillProgress>> SessionStore::prefillProgress(const std::string& id) {
    std::lock_guard lock(mutex_);
    STRATA_TRY(requireSession(id));
    Statement select(db_, databaseFile_,
                     "SELECT tokens_done, tokens_total, chunk, updated_at FROM prefill_progress "
                     "WHERE session_id = ?1");
    select.bindText(1, id);
    Result<bool> row = select.next("cannot read the prefill progress of session " + id);
    if (!row) return row.error();
    if (!*row) return std::optional<PrefillProgress>();
    PrefillProgress p;
    p.tokensDone = select.integer(0);
    p.tokensTotal = select.integer(1);
    p.chunk = select.integer(2);
    p.updatedAt = select.integer(3);
    return std::optional<PrefillProgress>(p);
}

Status SessionStore::clearPrefillProgress(const std::string& id) {
    const std::string what = "cannot clear the prefill progress of session " + id;
    return changeSession(id, what, [&]() -> Status {
        Statement drop(db_, databaseFile_, "DELETE FROM prefill_progress WHERE session_id = ?1");
        drop.bindText(1, id);
        return drop.run(what);
    });
}

}  // namespace strata
