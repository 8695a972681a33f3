#include <QtTest>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/AtomicFile.h"
#include "core/ModelLocations.h"
#include "core/Sha256.h"
#include "session/SessionExport.h"
#include "session/SessionStore.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

// Expected digests come from Python's hashlib (see each test).
constexpr const char* kSha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kSha256Abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeFile(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

std::unique_ptr<SessionStore> openStore(const fs::path& root) {
    auto store = SessionStore::open(root);
    if (!store) qFatal("cannot open the session store: %s", store.error().message.c_str());
    return std::move(store).value();
}

std::string newSession(SessionStore& store, const std::string& title) {
    SessionInfo info;
    info.title = title;
    info.modelPath = "/models/gemma-3-270m-q4_k_m.gguf";
    info.modelFingerprint = "gguf:1234abcd";
    auto id = store.createSession(info);
    if (!id) qFatal("createSession failed: %s", id.error().message.c_str());
    return *id;
}

Turn makeTurn(TurnRole role, std::string text, int64_t tokens = 3) {
    Turn t;
    t.role = role;
    t.text = std::move(text);
    t.tokenCount = tokens;
    t.prefillMs = 12.5;
    t.decodeMs = 40.25;
    return t;
}

KvManifestEntry block(int32_t layer, int64_t index, int64_t tokensPerBlock) {
    KvManifestEntry b;
    b.layer = layer;
    b.blockIndex = index;
    b.firstToken = index * tokensPerBlock;
    b.tokens = tokensPerBlock;
    b.fileName = "layer" + std::to_string(layer) + ".kv";
    b.offset = uint64_t(index) * 4096;
    b.bytes = 4096;
    b.checksum = 0xfedcba9876543210ull + uint64_t(index);  // above INT64_MAX on purpose
    return b;
}

void execSql(const fs::path& file, const char* sql) {
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    const std::string text = message ? message : "";
    sqlite3_free(message);
    sqlite3_close(db);
    QVERIFY2(rc == SQLITE_OK, text.c_str());
}

}  // namespace

class TestSessionStore : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    fs::path freshRoot(const char* name) { return fs::path(tmp_.path().toStdString()) / name; }

private slots:
    void sha256Vectors() {
        QCOMPARE(sha256Hex(""), std::string(kSha256Empty));
        QCOMPARE(sha256Hex("abc"), std::string(kSha256Abc));
        // Lengths around the padding boundary (55 fits one block, 56 needs two).
        QCOMPARE(sha256Hex(std::string(55, 'a')),
                 std::string("9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"));
        QCOMPARE(sha256Hex(std::string(56, 'a')),
                 std::string("b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"));
        QCOMPARE(sha256Hex(std::string(64, 'a')),
                 std::string("ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"));

        // python3 -c "import hashlib; print(hashlib.sha256(bytes((i*7+3)%251 for i in range(1<<20))).hexdigest())"
        std::string megabyte(size_t(1) << 20, '\0');
        for (size_t i = 0; i < megabyte.size(); ++i)
            megabyte[i] = char((i * 7 + 3) % 251);
        const std::string expected = "1ac437f476c488acba4000af7ae89ef53f7ffbeef2e937850985f5ceb8b5ae6f";
        QCOMPARE(sha256Hex(megabyte), expected);
        // Fed in odd-sized pieces, the digest is the same.
        Sha256 pieces;
        for (size_t at = 0; at < megabyte.size(); at += 1000)
            pieces.update(megabyte.data() + at, std::min<size_t>(1000, megabyte.size() - at));
        QCOMPARE(Sha256::toHex(pieces.finish()), expected);
    }

    void sessionsDirFollowsXdgRules() {
        const QByteArray savedOverride = qgetenv("STRATA_SESSIONS_DIR");
        const QByteArray savedXdg = qgetenv("XDG_DATA_HOME");
        const QByteArray savedHome = qgetenv("HOME");
        qputenv("STRATA_SESSIONS_DIR", "/srv/strata-sessions");
        QCOMPARE(sessionsDir(), fs::path("/srv/strata-sessions"));
        qunsetenv("STRATA_SESSIONS_DIR");
        qputenv("XDG_DATA_HOME", "/data/xdg");
        QCOMPARE(sessionsDir(), fs::path("/data/xdg/strata/sessions"));
        qunsetenv("XDG_DATA_HOME");
        qputenv("HOME", "/home/analyst");
        QCOMPARE(sessionsDir(), fs::path("/home/analyst/.local/share/strata/sessions"));
        auto restore = [](const char* name, const QByteArray& value) {
            if (value.isNull()) qunsetenv(name);
            else qputenv(name, value);
        };
        restore("STRATA_SESSIONS_DIR", savedOverride);
        restore("XDG_DATA_HOME", savedXdg);
        restore("HOME", savedHome);
    }

    void createListSearchShowDelete() {
        const fs::path root = freshRoot("basic");
        auto store = openStore(root);
        QVERIFY(fs::exists(root / "sessions.sqlite3"));

        const std::string audit = newSession(*store, "Audit of Q3 logs");
        const std::string paper = newSession(*store, "Reading the 100% paper");
        QCOMPARE(audit.size(), size_t(12));
        QVERIFY(audit != paper);
        QVERIFY(fs::is_directory(store->sessionDir(audit)));

        auto shown = store->session(audit);
        QVERIFY(shown);
        QCOMPARE(shown->title, std::string("Audit of Q3 logs"));
        QCOMPARE(shown->modelFingerprint, std::string("gguf:1234abcd"));
        QCOMPARE(shown->state, SessionState::Ready);
        QVERIFY(shown->createdAt > 0);

        // Newest change first: the audit moves to the top once it gets a turn.
        auto listed = store->listSessions();
        QVERIFY(listed);
        QCOMPARE(listed->size(), size_t(2));
        QCOMPARE(listed->at(0).id, paper);
        QVERIFY(store->appendTurn(audit, makeTurn(TurnRole::User, "Which hosts rebooted twice?")));
        listed = store->listSessions();
        QCOMPARE(listed->at(0).id, audit);
        QCOMPARE(listed->at(0).turnCount, int64_t(1));

        // Search looks at titles and turn text, ignores ASCII case, and takes % and _ literally.
        auto found = store->listSessions("REBOOTED");
        QVERIFY(found);
        QCOMPARE(found->size(), size_t(1));
        QCOMPARE(found->at(0).id, audit);
        found = store->listSessions("100%");
        QCOMPARE(found->size(), size_t(1));
        QCOMPARE(found->at(0).id, paper);
        QCOMPARE(store->listSessions("%")->size(), size_t(1));
        QCOMPARE(store->listSessions("_")->size(), size_t(0));
        QCOMPARE(store->listSessions("'; DROP TABLE sessions; --")->size(), size_t(0));

        QVERIFY(store->renameSession(paper, "Renamed"));
        QCOMPARE(store->session(paper)->title, std::string("Renamed"));
        QVERIFY(store->setState(paper, SessionState::Paused));
        QVERIFY(store->setContextTokens(paper, 4096));
        QCOMPARE(store->session(paper)->state, SessionState::Paused);
        QCOMPARE(store->session(paper)->contextTokens, int64_t(4096));

        writeFile(store->sessionDir(audit) / "layer0.kv", "kv bytes");
        QVERIFY(store->deleteSession(audit));
        QVERIFY(!fs::exists(store->sessionDir(audit)));
        QCOMPARE(store->listSessions()->size(), size_t(1));
        auto gone = store->session(audit);
        QVERIFY(!gone);
        QCOMPARE(gone.error().kind, ErrorKind::BadInput);
        QCOMPARE(gone.error().message, "no session " + audit + " in " + store->root().string());
        QVERIFY(!store->turns(audit));
        QVERIFY(!store->deleteSession(audit));

        // A session whose folder is already gone still deletes.
        fs::remove_all(store->sessionDir(paper));
        QVERIFY(store->deleteSession(paper));
        QVERIFY(store->listSessions()->empty());

        // Ids that are not ours never reach the file system.
        auto traversal = store->deleteSession("../basic");
        QVERIFY(!traversal);
        QCOMPARE(traversal.error().kind, ErrorKind::BadInput);
        QVERIFY(fs::exists(root / "sessions.sqlite3"));
    }

    void turnsKeepTheirOrder() {
        auto store = openStore(freshRoot("turns"));
        const std::string id = newSession(*store, "Order");
        const std::vector<std::pair<TurnRole, std::string>> script = {
            {TurnRole::System, "You are terse."},
            {TurnRole::User, "First question"},
            {TurnRole::Assistant, "First answer"},
            {TurnRole::User, "Second question with 'quotes' and \"double\" and ünïcödé"},
            {TurnRole::Assistant, ""},
        };
        for (size_t i = 0; i < script.size(); ++i) {
            auto index = store->appendTurn(id, makeTurn(script[i].first, script[i].second, int64_t(i)));
            QVERIFY(index);
            QCOMPARE(*index, int64_t(i));
        }
        auto turns = store->turns(id);
        QVERIFY(turns);
        QCOMPARE(turns->size(), script.size());
        for (size_t i = 0; i < script.size(); ++i) {
            QCOMPARE(turns->at(i).index, int64_t(i));
            QCOMPARE(turns->at(i).role, script[i].first);
            QCOMPARE(turns->at(i).text, script[i].second);
            QCOMPARE(turns->at(i).tokenCount, int64_t(i));
            QCOMPARE(turns->at(i).prefillMs, 12.5);
            QCOMPARE(turns->at(i).decodeMs, 40.25);
        }
        auto unknown = store->appendTurn("0123456789ab", makeTurn(TurnRole::User, "x"));
        QVERIFY(!unknown);
        QCOMPARE(unknown.error().kind, ErrorKind::BadInput);
    }

    void attachmentsRecordTheirHash() {
        auto store = openStore(freshRoot("attachments"));
        const std::string id = newSession(*store, "Docs");
        const fs::path doc = freshRoot("attachments") / "notes.txt";
        std::string text;
        for (int i = 0; i < 1000; ++i)
            text += "Strata attachment\n";
        writeFile(doc, text);
        // python3 -c "import hashlib; print(hashlib.sha256(b'Strata attachment\n'*1000).hexdigest())"
        const std::string expected = "de08a04a0672600de60bd32227a68f231ab53e85b62479b59371e3f2a7016a10";

        auto added = store->addAttachment(id, doc, "text", 4000);
        QVERIFY(added);
        QCOMPARE(added->sha256, expected);
        QCOMPARE(added->bytes, uint64_t(text.size()));
        const fs::path empty = freshRoot("attachments") / "empty.log";
        writeFile(empty, "");
        QVERIFY(store->addAttachment(id, empty, "text", 0));

        // The same path again replaces its record and keeps its place.
        writeFile(doc, "abc");
        QVERIFY(store->addAttachment(id, doc, "text", 1));
        auto list = store->attachments(id);
        QVERIFY(list);
        QCOMPARE(list->size(), size_t(2));
        QCOMPARE(list->at(0).path, doc);
        QCOMPARE(list->at(0).sha256, std::string(kSha256Abc));
        QCOMPARE(list->at(0).bytes, uint64_t(3));
        QCOMPARE(list->at(0).tokenCount, int64_t(1));
        QCOMPARE(list->at(1).sha256, std::string(kSha256Empty));
        QCOMPARE(list->at(1).kind, std::string("text"));

        auto missing = store->addAttachment(id, freshRoot("attachments") / "absent.pdf", "pdf", 0);
        QVERIFY(!missing);
        QCOMPARE(missing.error().kind, ErrorKind::BadInput);
        QVERIFY(missing.error().message.find("absent.pdf") != std::string::npos);
    }

    void kvManifestAddListTruncate() {
        auto store = openStore(freshRoot("kv"));
        const std::string id = newSession(*store, "KV");
        std::vector<KvManifestEntry> blocks;
        for (int32_t layer = 1; layer >= 0; --layer)
            for (int64_t i = 0; i < 4; ++i)
                blocks.push_back(block(layer, i, 16));
        QVERIFY(store->addKvBlocks(id, blocks));

        auto listed = store->kvBlocks(id);
        QVERIFY(listed);
        QCOMPARE(listed->size(), size_t(8));
        QCOMPARE(listed->at(0).layer, 0);
        QCOMPARE(listed->at(3).blockIndex, int64_t(3));
        QCOMPARE(listed->at(4).layer, 1);
        QCOMPARE(listed->at(2).checksum, 0xfedcba9876543210ull + 2);
        QCOMPARE(listed->at(2).offset, uint64_t(2 * 4096));
        QCOMPARE(listed->at(2).fileName, std::string("layer0.kv"));

        // Re-recording a block replaces it.
        KvManifestEntry again = block(0, 3, 16);
        again.checksum = 7;
        QVERIFY(store->addKvBlocks(id, {again}));
        QCOMPARE(store->kvBlocks(id)->size(), size_t(8));
        QCOMPARE(store->kvBlocks(id)->at(3).checksum, uint64_t(7));

        // Keep 40 tokens: blocks 0 and 1 whole, block 2 (32..47) cut to 8 tokens, block 3 gone.
        QVERIFY(store->removeKvBlocksFrom(id, 40));
        listed = store->kvBlocks(id);
        QCOMPARE(listed->size(), size_t(6));
        for (const KvManifestEntry& b : *listed) {
            QVERIFY(b.blockIndex <= 2);
            QCOMPARE(b.tokens, b.blockIndex == 2 ? int64_t(8) : int64_t(16));
        }
        QVERIFY(store->removeKvBlocksFrom(id, 0));
        QVERIFY(store->kvBlocks(id)->empty());

        // A bad record rejects the whole batch.
        KvManifestEntry escape = block(0, 0, 16);
        escape.fileName = "../../etc/passwd";
        auto refused = store->addKvBlocks(id, {block(0, 0, 16), escape});
        QVERIFY(!refused);
        QCOMPARE(refused.error().kind, ErrorKind::BadInput);
        QVERIFY(store->kvBlocks(id)->empty());
    }

    void prefillProgressResumes() {
        auto store = openStore(freshRoot("progress"));
        const std::string id = newSession(*store, "Long prefill");
        auto none = store->prefillProgress(id);
        QVERIFY(none);
        QVERIFY(!none->has_value());
        QVERIFY(store->setPrefillProgress(id, {2048, 100000, 1, 0}));
        QVERIFY(store->setPrefillProgress(id, {4096, 100000, 2, 0}));
        auto progress = store->prefillProgress(id);
        QVERIFY(progress && progress->has_value());
        QCOMPARE((*progress)->tokensDone, int64_t(4096));
        QCOMPARE((*progress)->chunk, int64_t(2));
        QVERIFY((*progress)->updatedAt > 0);
        QVERIFY(!store->setPrefillProgress(id, {5, 4, 0, 0}));
        QVERIFY(store->clearPrefillProgress(id));
        QVERIFY(!store->prefillProgress(id)->has_value());
    }

    void reopenedStoreSeesTheSameData() {
        const fs::path root = freshRoot("persist");
        std::string id;
        {
            auto first = openStore(root);
            id = newSession(*first, "Persistent");
            QVERIFY(first->appendTurn(id, makeTurn(TurnRole::User, "remember me")));
            QVERIFY(first->addKvBlocks(id, {block(0, 0, 32)}));
            QVERIFY(first->setState(id, SessionState::Prefilling));
            QVERIFY(first->setPrefillProgress(id, {32, 64, 1, 0}));

            // A second store on the same root sees committed changes at once.
            auto second = openStore(root);
            QCOMPARE(second->session(id)->title, std::string("Persistent"));
            QCOMPARE(second->turns(id)->at(0).text, std::string("remember me"));
        }
        auto reopened = openStore(root);
        auto info = reopened->session(id);
        QVERIFY(info);
        QCOMPARE(info->state, SessionState::Prefilling);
        QCOMPARE(info->turnCount, int64_t(1));
        QCOMPARE(reopened->kvBlocks(id)->size(), size_t(1));
        QCOMPARE((*reopened->prefillProgress(id))->tokensDone, int64_t(32));
    }

    // A store of schema 1 (no turn recorded with an attachment) is brought to schema 2 on open,
    // keeping everything it holds.
    void olderSchemaIsMigrated() {
        const fs::path root = freshRoot("older");
        std::string id;
        {
            auto store = openStore(root);
            id = newSession(*store, "from schema 1");
            writeFile(root / "a.txt", "abc");
            QVERIFY(store->addAttachment(id, root / "a.txt", "text", 1));
        }
        execSql(root / "sessions.sqlite3", "ALTER TABLE attachments DROP COLUMN turn_index; "
                                           "ALTER TABLE turns DROP COLUMN reasoning; PRAGMA user_version = 1;");
        auto store = openStore(root);
        auto before = store->attachments(id);
        QVERIFY(before);
        QCOMPARE(before->size(), size_t(1));
        QCOMPARE(before->front().turnIndex, int64_t(-1));
        auto question = store->appendTurn(id, makeTurn(TurnRole::User, "and now?"));
        QVERIFY(question);
        writeFile(root / "b.txt", "b");
        QVERIFY(store->addAttachment(id, root / "b.txt", "text", 1, question.value()));
        auto after = store->attachments(id);
        QCOMPARE(after->back().turnIndex, question.value());
        store.reset();
        QVERIFY(openStore(root));  // opens again, already migrated
    }

    // A store of schema 2 (turns without reasoning) is brought to schema 3 on open: its turns read
    // back with none, and new turns keep theirs.
    void schema2IsMigrated() {
        const fs::path root = freshRoot("schema2");
        std::string id;
        {
            auto store = openStore(root);
            id = newSession(*store, "from schema 2");
            QVERIFY(store->appendTurn(id, makeTurn(TurnRole::User, "When?")));
            QVERIFY(store->appendTurn(id, makeTurn(TurnRole::Assistant, "At noon.")));
        }
        execSql(root / "sessions.sqlite3", "ALTER TABLE turns DROP COLUMN reasoning; PRAGMA user_version = 2;");
        auto store = openStore(root);
        auto before = store->turns(id);
        QVERIFY(before);
        QCOMPARE(before->size(), size_t(2));
        QCOMPARE(before->back().text, std::string("At noon."));
        QVERIFY(before->back().reasoning.empty());
        Turn answer = makeTurn(TurnRole::Assistant, "At 02:14 UTC.");
        answer.reasoning = "The report says 02:14.";
        auto index = store->appendTurn(id, answer);
        QVERIFY(index);
        QCOMPARE(store->turns(id)->back().reasoning, answer.reasoning);
        store.reset();
        QVERIFY(openStore(root));  // opens again, already migrated
    }

    // A turn's reasoning is kept apart from its text: written, rewritten, read back and exported.
    void reasoningIsKeptApart() {
        const fs::path root = freshRoot("reasoning");
        auto store = openStore(root);
        const std::string id = newSession(*store, "reasoning");
        QVERIFY(store->appendTurn(id, makeTurn(TurnRole::User, "When did it start?")));
        Turn answer = makeTurn(TurnRole::Assistant, "");
        answer.reasoning = "We need page 3";
        auto index = store->appendTurn(id, answer);
        QVERIFY(index);
        answer.text = "At 02:14 UTC [report.pdf, page 3].";
        answer.reasoning = "We need page 3.\nIt says 02:14.";
        QVERIFY(store->replaceTurn(id, index.value(), answer));
        const Turn read = store->turns(id)->back();
        QCOMPARE(read.text, answer.text);
        QCOMPARE(read.reasoning, answer.reasoning);
        QVERIFY(store->turns(id)->front().reasoning.empty());

        const auto doc = nlohmann::json::parse(*exportJson(*store, id));
        QVERIFY(!doc.at("turns")[0].contains("reasoning"));
        QCOMPARE(doc.at("turns")[1].at("reasoning").get<std::string>(), answer.reasoning);
        QCOMPARE(doc.at("turns")[1].at("text").get<std::string>(), answer.text);
        const std::string md = *exportMarkdown(*store, id);
        const size_t quoted = md.find("> **Reasoning**\n>\n> We need page 3.\n> It says 02:14.\n\nAt 02:14 UTC");
        QVERIFY2(quoted != std::string::npos, md.c_str());
    }

    // The export names each question's attachments with it: names, hashes and tokens.
    void exportNamesEachTurnsAttachments() {
        const fs::path root = freshRoot("export-turns");
        auto store = openStore(root);
        const std::string id = newSession(*store, "two questions");
        writeFile(root / "first.txt", "abc");
        writeFile(root / "second.log", "b");
        auto q0 = store->appendTurn(id, makeTurn(TurnRole::User, "What does the first say?"));
        QVERIFY(store->addAttachment(id, root / "first.txt", "text", 1234, q0.value()));
        QVERIFY(store->appendTurn(id, makeTurn(TurnRole::Assistant, "abc")));
        auto q2 = store->appendTurn(id, makeTurn(TurnRole::User, "And the log?"));
        QVERIFY(store->addAttachment(id, root / "second.log", "text", 7, q2.value()));
        QVERIFY(store->appendTurn(id, makeTurn(TurnRole::Assistant, "b")));

        const auto doc = nlohmann::json::parse(*exportJson(*store, id));
        const auto& turns = doc.at("turns");
        QCOMPARE(turns[0].at("attachments").size(), size_t(1));
        QCOMPARE(turns[0].at("attachments")[0].at("name").get<std::string>(), std::string("first.txt"));
        QCOMPARE(turns[0].at("attachments")[0].at("sha256").get<std::string>(), std::string(kSha256Abc));
        QCOMPARE(turns[0].at("attachments")[0].at("tokens").get<int64_t>(), int64_t(1234));
        QCOMPARE(turns[1].at("attachments").size(), size_t(0));
        QCOMPARE(turns[2].at("attachments")[0].at("name").get<std::string>(), std::string("second.log"));
        const std::string md = *exportMarkdown(*store, id);
        const size_t first = md.find("> Attached: first.txt (text, 1,234 tokens, SHA-256 `" + std::string(kSha256Abc) + "`)");
        const size_t second = md.find("> Attached: second.log");
        QVERIFY2(first != std::string::npos && second != std::string::npos, md.c_str());
        QVERIFY(md.find("What does the first say?") > first && md.find("And the log?") > second && second > first);
    }

    void newerSchemaIsRefused() {
        const fs::path root = freshRoot("newer");
        openStore(root).reset();
        execSql(root / "sessions.sqlite3", "PRAGMA user_version = 99");
        auto refused = SessionStore::open(root);
        QVERIFY(!refused);
        QCOMPARE(refused.error().kind, ErrorKind::BadInput);
        const std::string& message = refused.error().message;
        QVERIFY2(message.find((root / "sessions.sqlite3").string()) != std::string::npos, message.c_str());
        QVERIFY2(message.find("version 99") != std::string::npos, message.c_str());
        QVERIFY2(message.find("newer") != std::string::npos, message.c_str());
    }

    void foreignSqliteFileIsRefused() {
        const fs::path root = freshRoot("foreign");
        fs::create_directories(root);
        execSql(root / "sessions.sqlite3", "CREATE TABLE photos (id INTEGER)");
        auto refused = SessionStore::open(root);
        QVERIFY(!refused);
        QCOMPARE(refused.error().kind, ErrorKind::BadInput);
        QVERIFY2(refused.error().message.find("not a Strata session store") != std::string::npos,
                 refused.error().message.c_str());
    }

    void garbageFileGivesAClearError() {
        const fs::path root = freshRoot("garbage");
        fs::create_directories(root);
        std::string garbage;
        for (int i = 0; i < 4096; ++i)
            garbage.push_back(char(i * 31 + 7));
        writeFile(root / "sessions.sqlite3", garbage);
        auto refused = SessionStore::open(root);
        QVERIFY(!refused);
        QCOMPARE(refused.error().kind, ErrorKind::BadInput);
        const std::string& message = refused.error().message;
        QVERIFY2(message.find((root / "sessions.sqlite3").string()) != std::string::npos, message.c_str());
        QVERIFY2(message.find("not a SQLite database") != std::string::npos, message.c_str());
        QCOMPARE(readFile(root / "sessions.sqlite3"), garbage);

        // A root that is a file is refused too.
        auto notAFolder = SessionStore::open(root / "sessions.sqlite3");
        QVERIFY(!notAFolder);
        QCOMPARE(notAFolder.error().kind, ErrorKind::BadInput);
    }

    void twoStoresWriteAtOnce() {
        const fs::path root = freshRoot("concurrent");
        auto a = openStore(root);
        auto b = openStore(root);
        const std::string shared = newSession(*a, "Shared");
        constexpr int kRounds = 40;
        std::vector<std::string> errors[2];
        auto writer = [&](SessionStore* store, int which) {
            auto own = store->createSession(SessionInfo{});
            if (!own) {
                errors[which].push_back(own.error().message);
                return;
            }
            for (int i = 0; i < kRounds; ++i) {
                auto note = [&](const Status& s) {
                    if (!s) errors[which].push_back(s.error().message);
                };
                auto turn = store->appendTurn(shared, makeTurn(TurnRole::User, "turn " + std::to_string(i)));
                if (!turn) errors[which].push_back(turn.error().message);
                note(store->addKvBlocks(*own, {block(0, i, 8), block(1, i, 8)}));
                note(store->setPrefillProgress(*own, {8 * (i + 1), 8 * kRounds, i, 0}));
                auto list = store->listSessions("turn");
                if (!list) errors[which].push_back(list.error().message);
            }
        };
        std::thread first(writer, a.get(), 0);
        std::thread second(writer, b.get(), 1);
        first.join();
        second.join();
        for (const auto& list : errors)
            for (const std::string& e : list)
                qWarning("%s", e.c_str());
        QVERIFY(errors[0].empty() && errors[1].empty());

        auto turns = a->turns(shared);
        QCOMPARE(turns->size(), size_t(2 * kRounds));
        for (size_t i = 0; i < turns->size(); ++i)
            QCOMPARE(turns->at(i).index, int64_t(i));
        QCOMPARE(b->listSessions()->size(), size_t(3));
    }

    void exportContainsTheTurns() {
        auto store = openStore(freshRoot("export"));
        const std::string id = newSession(*store, "Export | me");
        const fs::path doc = freshRoot("export") / "report.txt";
        writeFile(doc, "abc");
        QVERIFY(store->addAttachment(id, doc, "text", 1));
        QVERIFY(store->appendTurn(id, makeTurn(TurnRole::User, "What does the report say?")));
        QVERIFY(store->appendTurn(id, makeTurn(TurnRole::Assistant, "It says \"abc\".\nNothing more.")));
        QVERIFY(store->appendTurn(id, makeTurn(TurnRole::Assistant, std::string("bad \xff byte"))));

        auto md = exportMarkdown(*store, id);
        QVERIFY(md);
        QVERIFY(md->starts_with("# Export | me\n"));
        QVERIFY(md->find("report.txt") != std::string::npos);
        QVERIFY(md->find(kSha256Abc) != std::string::npos);
        const size_t question = md->find("### User\n\nWhat does the report say?");
        const size_t answer = md->find("### Assistant\n\nIt says \"abc\".\nNothing more.");
        QVERIFY(question != std::string::npos && answer != std::string::npos && question < answer);

        auto json = exportJson(*store, id);
        QVERIFY(json);
        const auto doc2 = nlohmann::json::parse(*json);
        QCOMPARE(doc2.at("format").get<std::string>(), std::string("strata-session"));
        QCOMPARE(doc2.at("id").get<std::string>(), id);
        QCOMPARE(doc2.at("title").get<std::string>(), std::string("Export | me"));
        QCOMPARE(doc2.at("model").at("fingerprint").get<std::string>(), std::string("gguf:1234abcd"));
        QCOMPARE(doc2.at("attachments").size(), size_t(1));
        QCOMPARE(doc2.at("attachments")[0].at("name").get<std::string>(), std::string("report.txt"));
        QCOMPARE(doc2.at("attachments")[0].at("sha256").get<std::string>(), std::string(kSha256Abc));
        const auto& turns = doc2.at("turns");
        QCOMPARE(turns.size(), size_t(3));
        // Recorded with no turn (as a store of schema 1 did): listed with the session only.
        QCOMPARE(turns[0].at("attachments").size(), size_t(0));
        QCOMPARE(turns[0].at("role").get<std::string>(), std::string("user"));
        QCOMPARE(turns[1].at("text").get<std::string>(), std::string("It says \"abc\".\nNothing more."));
        QCOMPARE(turns[2].at("text").get<std::string>(), std::string("bad \xef\xbf\xbd byte"));
        QVERIFY(doc2.at("created_at").get<std::string>().ends_with("Z"));

        auto unknown = exportJson(*store, "ffffffffffff");
        QVERIFY(!unknown);
        QCOMPARE(unknown.error().kind, ErrorKind::BadInput);
    }

    void atomicWriteReplacesOrKeepsTheOldFile() {
        const fs::path dir = freshRoot("atomic");
        fs::create_directories(dir);
        const fs::path target = dir / "export.md";
        QVERIFY(writeFileAtomically(target, "old contents"));
        QCOMPARE(readFile(target), std::string("old contents"));
        QVERIFY(writeFileAtomically(target, "new contents"));
        QCOMPARE(readFile(target), std::string("new contents"));

        // The temporary file cannot be created (its name is taken by a folder): the target stays.
        const fs::path blocker = dir / ("export.md.tmp-" + std::to_string(::getpid()));
        fs::create_directory(blocker);
        auto failed = writeFileAtomically(target, "lost");
        QVERIFY(!failed);
        QCOMPARE(failed.error().kind, ErrorKind::Internal);
        QVERIFY(failed.error().message.find(blocker.string()) != std::string::npos);
        QCOMPARE(readFile(target), std::string("new contents"));
        fs::remove(blocker);

        // A parent that is a file.
        auto underFile = writeFileAtomically(target / "inner.json", "{}");
        QVERIFY(!underFile);
        QVERIFY(underFile.error().message.find(target.string()) != std::string::npos);
        QCOMPARE(readFile(target), std::string("new contents"));

        // A read-only folder (root ignores permissions, so only checked for other users).
        if (::geteuid() != 0) {
            fs::permissions(dir, fs::perms::owner_write, fs::perm_options::remove);
            auto readOnly = writeFileAtomically(target, "lost");
            fs::permissions(dir, fs::perms::owner_write, fs::perm_options::add);
            QVERIFY(!readOnly);
            QCOMPARE(readFile(target), std::string("new contents"));
        }
        for (const auto& entry : fs::directory_iterator(dir))
            QCOMPARE(entry.path().filename().string(), std::string("export.md"));
    }
};

QTEST_GUILESS_MAIN(TestSessionStore)
#include "test_session_store.moc"
