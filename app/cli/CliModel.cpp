#include "CliModel.h"

#include <chrono>
#include <filesystem>

namespace strata::cli {

const std::set<std::string> kModelFlags = {"model", "ram-budget", "threads", "chunk"};

Result<CliModel> loadCliModel(const CliArguments& args) {
    auto dir = args.required("model");
    STRATA_TRY(dir);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir.value(), ec))
        return badInput("--model " + dir.value() + ": not a folder (expected a Hugging Face model folder)");
    auto budget = args.byteSize("ram-budget", 0);
    STRATA_TRY(budget);
    auto threads = args.integer("threads", 0, 0, 1024);
    STRATA_TRY(threads);
    auto chunk = args.integer("chunk", 256, 1, 1 << 20);
    STRATA_TRY(chunk);

    CliModel out;
    out.ops = std::make_unique<CpuOps>(int(threads.value()));
    ModelOptions options;
    options.ramBudget = budget.value();
    options.prefillChunk = chunk.value();
    const auto t0 = std::chrono::steady_clock::now();
    auto model = TransformerModel::load(dir.value(), *out.ops, options);
    STRATA_TRY(model);
    out.model = std::move(model.value());
    out.loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

}  // namespace strata::cli
