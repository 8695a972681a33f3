// strata-cli sessions: list, show, export and delete the saved sessions of the session store.
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "CommandSpec.h"
#include "Commands.h"
#include "SessionFlags.h"
#include "core/AtomicFile.h"
#include "core/NumberFormat.h"
#include "core/ModelLocations.h"
#include "session/SessionExport.h"
#include "session/SessionStore.h"

namespace strata::cli {

namespace {

namespace fs = std::filesystem;

const char* kSubcommands = "list, show, export, delete";

// The one session id a subcommand takes.
Result<std::string> sessionId(const CliArguments& args, const std::string& subcommand) {
    if (args.positional().empty()) return badInput("sessions " + subcommand + " needs a session id");
    if (args.positional().size() > 1) return badInput("unexpected argument '" + args.positional()[1] + "'");
    return args.positional()[0];
}

// Reading commands do not create a store where none exists: an empty or missing root simply has
// no sessions.
bool storeExists(const fs::path& root) {
    std::error_code ec;
    return fs::exists(root / SessionStore::kDatabaseName, ec);
}

Result<std::unique_ptr<SessionStore>> openExisting(const fs::path& root, const std::string& id) {
    if (!storeExists(root)) return badInput("no session " + id + " in " + root.string());
    return SessionStore::open(root);
}

std::string oneLine(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return text;
}

Status listSessions(const std::vector<std::string>& argv) {
    auto args = parseCommand("sessions list", argv);
    STRATA_TRY(args);
    const fs::path root = storeRoot(*args);
    std::vector<SessionInfo> sessions;
    if (storeExists(root)) {
        auto store = SessionStore::open(root);
        STRATA_TRY(store);
        auto listed = (*store)->listSessions(args->get("search").value_or(""));
        STRATA_TRY(listed);
        sessions = std::move(listed.value());
    }
    if (args->has("json")) {
        nlohmann::json doc = nlohmann::json::array();
        for (const SessionInfo& s : sessions)
            doc.push_back({{"id", s.id},
                           {"title", s.title},
                           {"model_path", s.modelPath},
                           {"created_at", formatUtcTime(s.createdAt)},
                           {"updated_at", formatUtcTime(s.updatedAt)},
                           {"state", toString(s.state)},
                           {"turns", s.turnCount},
                           {"context_tokens", s.contextTokens}});
        // Titles come from users and may hold invalid UTF-8; replace rather than fail the listing.
        std::printf("%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return {};
    }
    if (sessions.empty()) {
        if (args->has("search"))
            std::printf("no saved sessions matching '%s' in %s\n", args->get("search")->c_str(), root.c_str());
        else
            std::printf("no saved sessions in %s\n", root.c_str());
        return {};
    }
    std::printf("%-12s  %-20s  %-10s  %5s  %10s  %s\n", "ID", "UPDATED", "STATE", "TURNS", "CONTEXT", "TITLE");
    for (const SessionInfo& s : sessions)
        std::printf("%-12s  %-20s  %-10s  %5s  %10s  %s\n", s.id.c_str(), formatUtcTime(s.updatedAt).c_str(),
                    toString(s.state), groupDigits(s.turnCount).c_str(), groupDigits(s.contextTokens).c_str(),
                    oneLine(s.title).c_str());
    return {};
}

Status showSession(const std::vector<std::string>& argv) {
    auto args = parseCommand("sessions show", argv);
    STRATA_TRY(args);
    auto id = sessionId(*args, "show");
    STRATA_TRY(id);
    auto store = openExisting(storeRoot(*args), *id);
    STRATA_TRY(store);
    auto info = (*store)->session(*id);
    STRATA_TRY(info);
    auto attachments = (*store)->attachments(*id);
    STRATA_TRY(attachments);
    auto turns = (*store)->turns(*id);
    STRATA_TRY(turns);

    std::printf("session  %s\n", info->id.c_str());
    std::printf("title    %s\n", oneLine(info->title).c_str());
    std::printf("model    %s\n", info->modelPath.c_str());
    std::printf("created  %s\n", formatUtcTime(info->createdAt).c_str());
    std::printf("updated  %s\n", formatUtcTime(info->updatedAt).c_str());
    std::printf("state    %s\n", toString(info->state));
    std::printf("context  %s tokens\n", groupDigits(info->contextTokens).c_str());
    if (!attachments->empty()) {
        std::printf("\nattachments:\n");
        for (const Attachment& a : *attachments)
            std::printf("  %s  %s bytes  sha256 %s  %s tokens\n", a.path.filename().c_str(),
                        groupDigits(int64_t(a.bytes)).c_str(), a.sha256.substr(0, 12).c_str(),
                        groupDigits(a.tokenCount).c_str());
    }
    std::printf("\nturns:\n");
    if (turns->empty()) std::printf("  (none)\n");
    for (const Turn& t : *turns) std::printf("%s: %s\n", toString(t.role), t.text.c_str());
    return {};
}

Status exportSession(const std::vector<std::string>& argv) {
    auto args = parseCommand("sessions export", argv);
    STRATA_TRY(args);
    auto id = sessionId(*args, "export");
    STRATA_TRY(id);
    auto format = args->required("format");
    STRATA_TRY(format);
    if (*format != "md" && *format != "json")
        return badInput("--format '" + *format + "' is not supported (md or json)");
    auto store = openExisting(storeRoot(*args), *id);
    STRATA_TRY(store);
    auto text = *format == "md" ? exportMarkdown(**store, *id) : exportJson(**store, *id);
    STRATA_TRY(text);
    if (auto out = args->get("out")) {
        STRATA_TRY(writeFileAtomically(*out, *text));
        std::fprintf(stderr, "wrote %s\n", out->c_str());
        return {};
    }
    std::fwrite(text->data(), 1, text->size(), stdout);
    if (!text->empty() && text->back() != '\n') std::fputc('\n', stdout);
    return {};
}

Status deleteSession(const std::vector<std::string>& argv) {
    auto args = parseCommand("sessions delete", argv);
    STRATA_TRY(args);
    auto id = sessionId(*args, "delete");
    STRATA_TRY(id);
    auto store = openExisting(storeRoot(*args), *id);
    STRATA_TRY(store);
    // deleteSession accepts an id that is already gone; the user asked for one that exists.
    STRATA_TRY((*store)->session(*id));
    STRATA_TRY((*store)->deleteSession(*id));
    std::printf("deleted %s\n", id->c_str());
    return {};
}

}  // namespace

Status sessionsCommand(const std::vector<std::string>& argv) {
    if (argv.empty()) return badInput(std::string("sessions needs a subcommand (") + kSubcommands + ")");
    const std::string sub = argv[0];
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (sub == "list") return listSessions(rest);
    if (sub == "show") return showSession(rest);
    if (sub == "export") return exportSession(rest);
    if (sub == "delete") return deleteSession(rest);
    return badInput("unknown sessions subcommand '" + sub + "' (" + kSubcommands + ")");
}

}  // namespace strata::cli
