#pragma once
// What every model command shares: --model (default: the installed Gemma 3 270M), --ram-budget,
// --vram-budget, --context, --threads, --chunk, the choice of backend and the loading.
#include <memory>
#include <set>
#include <string>

#include "CliArguments.h"
#include "backend/Ops.h"
#include "model/TransformerModel.h"
#include "runtime/ResidencyPlan.h"

namespace strata::cli {

extern const std::set<std::string> kModelFlags;

struct CliModel {
    std::string path;  // the model folder or GGUF file
    std::unique_ptr<Ops> ops;  // CPU, or CUDA when --vram-budget is given
    int threads = 0;           // CPU threads (BLAS and OpenMP)
    std::unique_ptr<TransformerModel> model;
    double loadSeconds = 0;
};

// --model, or the default model when it is installed: a Hugging Face folder or a GGUF file.
Result<std::string> modelPath(const CliArguments& args);
// --ram-budget, --vram-budget (each 0 when absent), --chunk and --context (default contextTokens).
Result<ModelOptions> modelOptions(const CliArguments& args, int64_t contextTokens = ModelOptions{}.contextTokens);
// Bad input, suggesting how to run without one, when a VRAM budget is given and there is no CUDA
// backend or device. Commands check it before slow work.
Status backendAvailable(uint64_t vramBudget);
// The CPU backend, or the CUDA backend holding vramBudget bytes of device memory. Bad input,
// suggesting how to run without one, when there is no CUDA backend or device.
Result<std::unique_ptr<Ops>> makeOps(uint64_t vramBudget, int threads);
// contextTokens: positions to plan device memory for when --context is not given.
Result<CliModel> loadCliModel(const CliArguments& args, int64_t contextTokens = ModelOptions{}.contextTokens);

}  // namespace strata::cli
