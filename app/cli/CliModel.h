#pragma once
// What every model command shares: --model (default: the installed Gemma 3 270M), --ram-budget,
// --vram-budget, --threads, --chunk, and the loading.
#include <memory>
#include <set>
#include <string>

#include "CliArguments.h"
#include "backend/cpu/CpuOps.h"
#include "model/TransformerModel.h"
#include "runtime/ResidencyPlan.h"

namespace strata::cli {

extern const std::set<std::string> kModelFlags;

struct CliModel {
    std::string path;  // the model folder or GGUF file
    std::unique_ptr<CpuOps> ops;
    std::unique_ptr<TransformerModel> model;
    double loadSeconds = 0;
};

// --model, or the default model when it is installed: a Hugging Face folder or a GGUF file.
Result<std::string> modelPath(const CliArguments& args);
// --ram-budget and --vram-budget (each 0 when absent).
Result<ResidencyOptions> residencyOptions(const CliArguments& args);
// Bad input for a non-zero --vram-budget: models run on the CPU backend. Commands check it before
// slow work.
Status checkRunnableBudgets(const CliArguments& args);
Result<CliModel> loadCliModel(const CliArguments& args);

}  // namespace strata::cli
