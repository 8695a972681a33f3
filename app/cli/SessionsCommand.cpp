// strata-cli sessions: list, show, export and delete the saved sessions of the session store.
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "CliArguments.h"
#include "Commands.h"
#include "SessionFlags.h"
#include "core/AtomicFile.h"
#include "core/ModelLocations.h"
#include "session/SessionExport.h"
#include "session/SessionStore.h"

namespace strata::cli {

namespace {

namespace fs = std::filesystem;

const char* kSubcommands = "list, show, export, delete";

// CliArguments takes flags only, so the session id (a bare word) is taken out first. A bare word
// that follows a flag taking a value is that flag's value, not the id.
struct SplitArguments {
    std::vector<std::string> flags;
    std::vector<std::string> positional;
};

SplitArguments splitPositional(const std::vector<std::string>& args, const std::set<std::string>& valueFlags) {
    SplitArguments out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0) {
            out.positional.push_back(arg);
            continue;
        }
        out.flags.push_back(arg);
        const std::string name = arg.substr(2);
        if (name.find('=') == std::string::npos && valueFlags.count(name) && i + 1 < args.size())
            out.flags.push_back(args[++i]);
    }
    return out;
}

Result<std::string> sessionId(const SplitArguments& split, const std::string& subcommand) {
    if (split.positional.empty()) return badInput("sessions " + subcommand + " needs a session id");
    if (split.positional.size() > 1) return badInput("unexpected argument '" + split.positional[1] + "'");
    return split.positional[0];
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
    auto args = CliArguments::parse(argv, {"search", "store"}, {"json"});
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
    std::printf("%-12s  %-20s  %-10s  %5s  %8s  %s\n", "ID", "UPDATED", "STATE", "TURNS", "CONTEXT", "TITLE");
    for (const SessionInfo& s : sessions)
        std::printf("%-12s  %-20s  %-10s  %5lld  %8lld  %s\n", s.id.c_str(), formatUtcTime(s.updatedAt).c_str(),
                    toString(s.state), static_cast<long long>(s.turnCount), static_cast<long long>(s.contextTokens),
                    oneLine(s.title).c_str());
    return {};
}

Status showSession(const std::vector<std::string>& argv) {
    const SplitArguments split = splitPositional(argv, {"store"});
    auto args = CliArguments::parse(split.flags, {"store"}, {});
    STRATA_TRY(args);
    auto id = sessionId(split, "show");
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
    std::printf("context  %lld tokens\n", static_cast<long long>(info->contextTokens));
    if (!attachments->empty()) {
        std::printf("\nattachments:\n");
        for (const Attachment& a : *attachments)
            std::printf("  %s  %llu bytes  sha256 %s  %lld tokens\n", a.path.filename().c_str(),
                        static_cast<unsigned long long>(a.bytes), a.sha256.substr(0, 12).c_str(),
                        static_cast<long long>(a.tokenCount));
    }
    std::printf("\nturns:\n");
    if (turns->empty()) std::printf("  (none)\n");
    for (const Turn& t : *turns) std::printf("%s: %s\n", toString(t.role), t.text.c_str());
    return {};
}

Status exportSession(const std::vector<std::string>& argv) {
    const std::set<std::string> valueFlags = {"format", "out", "store"};
    const SplitArguments split = splitPositional(argv, valueFlags);
    auto args = CliArguments::parse(split.flags, valueFlags, {});
    STRATA_TRY(args);
    auto id = sessionId(split, "export");
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
    const SplitArguments split = splitPositional(argv, {"store"});
    auto args = CliArguments::parse(split.flags, {"store"}, {});
    STRATA_TRY(args);
    auto id = sessionId(split, "delete");
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
