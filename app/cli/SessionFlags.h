#pragma once
// The session flags of run and ask: --store, --kv-budget, --kv-ram-budget, --checkpoint-tokens.
#include <filesystem>
#include <set>
#include <string>

#include "CliArguments.h"
#include "kv/KvCache.h"

namespace strata::cli {

// --store, else the default session folder.
std::filesystem::path storeRoot(const CliArguments& args);
// Block size, budgets (--kv-budget: backend memory, --kv-ram-budget: RAM beyond it on a GPU) and
// the session's folder.
Result<KvCacheOptions> kvCacheOptions(const CliArguments& args, const std::filesystem::path& sessionDir);
// --checkpoint-tokens, rounded up to whole KV blocks.
Result<int64_t> checkpointTokens(const CliArguments& args, int64_t blockTokens);

}  // namespace strata::cli
