#pragma once
// A saved session as a document someone can read or another program can parse: title, model,
// dates, attachments (name, SHA-256, tokens) and the turns in order. Write the text out with
// writeFileAtomically (core/AtomicFile.h).
#include <cstdint>
#include <string>

#include "core/Result.h"
#include "session/SessionStore.h"

namespace strata {

Result<std::string> exportMarkdown(SessionStore& store, const std::string& id);

// {"format": "strata-session", "version": 1, "id", "title", "model": {"path", "fingerprint"},
//  "created_at", "updated_at" (ISO 8601 UTC), "state", "context_tokens",
//  "attachments": [{"name", "path", "sha256", "bytes", "kind", "tokens", "added_at"}],
//  "turns": [{"index", "role", "text", ["reasoning",] "tokens", "created_at", "prefill_ms", "decode_ms"}]}
// A turn's "reasoning" (a gpt-oss answer's analysis channel) is there when the turn has any.
Result<std::string> exportJson(SessionStore& store, const std::string& id);

// "2024-05-01T12:34:56Z" for a Unix time in milliseconds.
std::string formatUtcTime(int64_t unixMs);

}  // namespace strata
