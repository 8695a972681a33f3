#include "CliModel.h"

#include <chrono>
#include <filesystem>

#include "backend/cpu/CpuOps.h"
#include "core/ModelLocations.h"

namespace strata::cli {


Result<std::string> modelPath(const CliArguments& args, const std::string& sessionModel) {
    std::error_code ec;
    if (!args.has("model") && !sessionModel.empty()) {
        if (!std::filesystem::exists(sessionModel, ec))
            return badInput("the session's model " + sessionModel + " is gone; name where it is now with --model");
        return sessionModel;
    }
    if (auto given = args.get("model")) return givenModelPath(*given);
    const std::filesystem::path fallback = defaultModelPath();
    if (!std::filesystem::exists(fallback, ec))
        return badInput(std::string("no --model given and the default model is not installed at ") +
                        fallback.string() + "; install it with " + kDefaultModelInstaller +
                        " or name a model folder or GGUF file with --model");
    return fallback.string();
}

Result<std::string> givenModelPath(const std::string& given) {
    std::error_code ec;
    if (!std::filesystem::exists(given, ec))
        return badInput("--model " + given + ": no such file or folder (expected a Hugging Face model folder or a "
                        "GGUF file)");
    return given;
}

Result<ModelOptions> modelOptions(const CliArguments& args, int64_t contextTokens) {
    ModelOptions options;
    STRATA_ASSIGN(options.ramBudget, args.byteSize("ram-budget", 0));
    STRATA_ASSIGN(options.vramBudget, args.byteSize("vram-budget", 0));
    STRATA_ASSIGN(options.prefillChunk, args.integer("chunk", options.prefillChunk, 1, 1 << 20));
    STRATA_ASSIGN(options.contextTokens, args.integer("context", contextTokens, 1, 1 << 24));
    // The KV cache's share of backend memory, for the commands that take --kv-budget: the plan
    // keeps only that much of the device for it.
    STRATA_ASSIGN(options.kvBudget, args.byteSize("kv-budget", 0));
    return options;
}

Result<CliModel> loadCliModel(const CliArguments& args, int64_t contextTokens, const std::string& sessionModel) {
    std::string path;
    STRATA_ASSIGN(path, modelPath(args, sessionModel));
    ModelOptions options;
    STRATA_ASSIGN(options, modelOptions(args, contextTokens));
    return loadCliModel(args, path, options);
}

Result<CliModel> loadCliModel(const CliArguments& args, const std::string& path, const ModelOptions& options) {
    CliModel out;
    out.path = path;
    int64_t threads = 0;
    STRATA_ASSIGN(threads, args.integer("threads", 0, 0, 1024));
    STRATA_ASSIGN(out.ops, makeOps(options.vramBudget, int(threads)));
    out.threads = CpuOps::threadCount(int(threads));
    const auto t0 = std::chrono::steady_clock::now();
    STRATA_ASSIGN(out.model, TransformerModel::load(out.path, *out.ops, options));
    out.loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

// --temperature, --top-k, --top-p, --min-p, --repetition-penalty and --seed.
Result<SamplingParams> samplingParams(const CliArguments& args) {
    SamplingParams p;
    auto temperature = args.number("temperature", 0.0);
    STRATA_TRY(temperature);
    auto topK = args.integer("top-k", 0, 0, 1 << 30);
    STRATA_TRY(topK);
    auto topP = args.number("top-p", 1.0);
    STRATA_TRY(topP);
    auto minP = args.number("min-p", 0.0);
    STRATA_TRY(minP);
    auto penalty = args.number("repetition-penalty", 1.0);
    STRATA_TRY(penalty);
    auto seed = args.integer("seed", 0, 0, INT64_MAX);
    STRATA_TRY(seed);
    p.temperature = float(temperature.value());
    p.topK = int(topK.value());
    p.topP = float(topP.value());
    p.minP = float(minP.value());
    p.repetitionPenalty = float(penalty.value());
    p.seed = uint64_t(seed.value());
    if (auto problem = validate(p)) return badInput(*problem);
    return p;
}

}  // namespace strata::cli
