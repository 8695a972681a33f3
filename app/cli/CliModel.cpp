#include "CliModel.h"

#include <chrono>
#include <filesystem>

#include "core/ModelLocations.h"

namespace strata::cli {

const std::set<std::string> kModelFlags = {"model", "ram-budget", "vram-budget", "threads", "chunk"};

Result<std::string> modelPath(const CliArguments& args) {
    std::error_code ec;
    if (auto given = args.get("model")) {
        if (!std::filesystem::exists(*given, ec))
            return badInput("--model " + *given + ": no such file or folder (expected a Hugging Face model folder or a "
                            "GGUF file)");
        return *given;
    }
    const std::filesystem::path fallback = defaultModelPath();
    if (!std::filesystem::exists(fallback, ec))
        return badInput(std::string("no --model given and the default model is not installed at ") +
                        fallback.string() + "; install it with " + kDefaultModelInstaller +
                        " or name a model folder or GGUF file with --model");
    return fallback.string();
}

Result<ResidencyOptions> residencyOptions(const CliArguments& args) {
    auto ram = args.byteSize("ram-budget", 0);
    STRATA_TRY(ram);
    auto vram = args.byteSize("vram-budget", 0);
    STRATA_TRY(vram);
    ResidencyOptions options;
    options.ramBudget = ram.value();
    options.vramBudget = vram.value();
    return options;
}

Status checkRunnableBudgets(const CliArguments& args) {
    auto residency = residencyOptions(args);
    STRATA_TRY(residency);
    // Models run on CpuOps, which has no VRAM to plan for.
    if (residency->vramBudget > 0)
        return badInput("--vram-budget " + *args.get("vram-budget") +
                        " needs a CUDA backend and device, and none is available to strata-cli here; leave "
                        "--vram-budget out (or give 0) to run on the CPU, or see the plan with strata-cli info "
                        "--vram-budget " + *args.get("vram-budget"));
    return {};
}

Result<CliModel> loadCliModel(const CliArguments& args) {
    STRATA_TRY(checkRunnableBudgets(args));
    auto residency = residencyOptions(args);
    STRATA_TRY(residency);
    auto dir = modelPath(args);
    STRATA_TRY(dir);
    auto threads = args.integer("threads", 0, 0, 1024);
    STRATA_TRY(threads);
    auto chunk = args.integer("chunk", 256, 1, 1 << 20);
    STRATA_TRY(chunk);

    CliModel out;
    out.path = dir.value();
    out.ops = std::make_unique<CpuOps>(int(threads.value()));
    ModelOptions options;
    options.ramBudget = residency->ramBudget;
    options.vramBudget = residency->vramBudget;
    options.prefillChunk = chunk.value();
    const auto t0 = std::chrono::steady_clock::now();
    auto model = TransformerModel::load(dir.value(), *out.ops, options);
    STRATA_TRY(model);
    out.model = std::move(model.value());
    out.loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

}  // namespace strata::cli
