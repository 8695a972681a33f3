#include "SessionFlags.h"

#include "core/ModelLocations.h"
#include "session/SessionJob.h"

namespace strata::cli {

namespace fs = std::filesystem;


fs::path storeRoot(const CliArguments& args) {
    if (auto store = args.get("store")) return fs::path(*store);
    return sessionsDir();
}

Result<KvCacheOptions> kvCacheOptions(const CliArguments& args, const fs::path& sessionDir) {
    KvCacheOptions options;
    options.blockTokens = kSessionKvBlockTokens;
    STRATA_ASSIGN(options.residentBytes, args.byteSize("kv-budget", 0));
    STRATA_ASSIGN(options.hostBytes, args.byteSize("kv-ram-budget", 0));
    options.directory = sessionDir;
    options.persist = true;
    return options;
}

Result<int64_t> checkpointTokens(const CliArguments& args, int64_t blockTokens) {
    int64_t tokens = 0;
    STRATA_ASSIGN(tokens, args.integer("checkpoint-tokens", 4096, 1, 1 << 24));
    return (tokens + blockTokens - 1) / blockTokens * blockTokens;
}

}  // namespace strata::cli
