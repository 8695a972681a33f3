#include "session/SessionExport.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "core/NumberFormat.h"

namespace strata {

namespace {

struct SessionContent {
    SessionInfo info;
    std::vector<Attachment> attachments;
    std::vector<Turn> turns;
};

Result<SessionContent> readContent(SessionStore& store, const std::string& id) {
    SessionContent content;
    STRATA_ASSIGN(content.info, store.session(id));
    STRATA_ASSIGN(content.attachments, store.attachments(id));
    STRATA_ASSIGN(content.turns, store.turns(id));
    return content;
}

// A title or file name on one Markdown line: line breaks would end the heading or table row.
std::string oneLine(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

std::string tableCell(const std::string& text) {
    std::string out;
    for (char c : oneLine(text)) {
        if (c == '|') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

// The attachments that went with each turn. Stores of schema 1 did not record it; their
// attachments are listed with the session only (times to the millisecond cannot tell).
std::vector<std::vector<const Attachment*>> attachmentsByTurn(const SessionContent& c) {
    std::vector<std::vector<const Attachment*>> byTurn(c.turns.size());
    for (const Attachment& a : c.attachments)
        if (a.turnIndex >= 0 && size_t(a.turnIndex) < c.turns.size()) byTurn[size_t(a.turnIndex)].push_back(&a);
    return byTurn;
}

// A turn's reasoning (a gpt-oss answer's analysis channel) before its answer, as a quote.
std::string quotedReasoning(const std::string& reasoning) {
    std::string md = "> **Reasoning**\n>\n> ";
    for (char c : reasoning) md += c == '\n' ? std::string("\n> ") : std::string(1, c);
    return md + "\n\n";
}

std::string roleHeading(TurnRole role) {
    switch (role) {
    case TurnRole::System: return "System";
    case TurnRole::User: return "User";
    case TurnRole::Assistant: return "Assistant";
    }
    return "User";
}

}  // namespace

std::string formatUtcTime(int64_t unixMs) {
    const std::time_t seconds = std::time_t(unixMs / 1000);
    std::tm utc{};
    if (!gmtime_r(&seconds, &utc)) return std::to_string(unixMs);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

Result<std::string> exportMarkdown(SessionStore& store, const std::string& id) {
    SessionContent c;
    STRATA_ASSIGN(c, readContent(store, id));
    const SessionInfo& info = c.info;

    std::string md = "# " + oneLine(info.title.empty() ? "Untitled session" : info.title) + "\n\n";
    md += "- Session: " + info.id + "\n";
    md += "- Model: " + oneLine(info.modelPath);
    if (!info.modelFingerprint.empty()) md += " (" + oneLine(info.modelFingerprint) + ")";
    md += "\n- Created: " + formatUtcTime(info.createdAt) + "\n";
    md += "- Updated: " + formatUtcTime(info.updatedAt) + "\n";
    md += "- State: " + std::string(toString(info.state)) + ", " + groupDigits(info.contextTokens) +
          " tokens of context\n";

    if (!c.attachments.empty()) {
        md += "\n## Attachments\n\n| File | Kind | SHA-256 | Tokens |\n|---|---|---|---|\n";
        for (const Attachment& a : c.attachments)
            md += "| " + tableCell(a.path.filename().string()) + " | " + tableCell(a.kind) + " | `" + a.sha256 +
                  "` | " + groupDigits(a.tokenCount) + " |\n";
    }

    md += "\n## Transcript\n";
    const auto byTurn = attachmentsByTurn(c);
    for (size_t i = 0; i < c.turns.size(); ++i) {
        const Turn& t = c.turns[i];
        md += "\n### " + roleHeading(t.role) + "\n\n";
        for (const Attachment* a : byTurn[i])
            md += "> Attached: " + oneLine(a->path.filename().string()) + " (" + a->kind + ", " +
                  groupDigits(a->tokenCount) + " tokens, SHA-256 `" + a->sha256 + "`)\n";
        if (!byTurn[i].empty()) md += "\n";
        if (!t.reasoning.empty()) md += quotedReasoning(t.reasoning);
        md += t.text;
        if (t.text.empty() || t.text.back() != '\n') md += "\n";
    }
    return md;
}

Result<std::string> exportJson(SessionStore& store, const std::string& id) {
    SessionContent c;
    STRATA_ASSIGN(c, readContent(store, id));
    const SessionInfo& info = c.info;

    nlohmann::ordered_json doc;
    doc["format"] = "strata-session";
    doc["version"] = 1;
    doc["id"] = info.id;
    doc["title"] = info.title;
    doc["model"] = {{"path", info.modelPath}, {"fingerprint", info.modelFingerprint}};
    doc["created_at"] = formatUtcTime(info.createdAt);
    doc["updated_at"] = formatUtcTime(info.updatedAt);
    doc["state"] = toString(info.state);
    doc["context_tokens"] = info.contextTokens;
    doc["attachments"] = nlohmann::ordered_json::array();
    for (const Attachment& a : c.attachments)
        doc["attachments"].push_back({{"name", a.path.filename().string()},
                                      {"path", a.path.string()},
                                      {"sha256", a.sha256},
                                      {"bytes", a.bytes},
                                      {"kind", a.kind},
                                      {"tokens", a.tokenCount},
                                      {"added_at", formatUtcTime(a.addedAt)}});
    doc["turns"] = nlohmann::ordered_json::array();
    const auto byTurn = attachmentsByTurn(c);
    for (size_t i = 0; i < c.turns.size(); ++i) {
        const Turn& t = c.turns[i];
        nlohmann::ordered_json attached = nlohmann::ordered_json::array();
        for (const Attachment* a : byTurn[i])
            attached.push_back({{"name", a->path.filename().string()}, {"sha256", a->sha256}, {"tokens", a->tokenCount}});
        nlohmann::ordered_json turn = {{"index", t.index}, {"role", toString(t.role)}, {"text", t.text}};
        if (!t.reasoning.empty()) turn["reasoning"] = t.reasoning;
        turn["tokens"] = t.tokenCount;
        turn["created_at"] = formatUtcTime(t.createdAt);
        turn["prefill_ms"] = t.prefillMs;
        turn["decode_ms"] = t.decodeMs;
        turn["attachments"] = attached;
        doc["turns"].push_back(std::move(turn));
    }
    // Text that is not valid UTF-8 (a model can emit a broken byte sequence) is replaced by
    // U+FFFD rather than making the export fail.
    return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace strata
