#pragma once
// What every model command shares: --model (default: the installed Gemma 3 270M), --ram-budget,
// --vram-budget, --context, --threads, --chunk, the choice of backend and the loading.
#include <memory>
#include <set>
#include <string>

#include "CliArguments.h"
#include "ModelRuntime.h"
#include "backend/Ops.h"
#include "model/TransformerModel.h"
#include "runtime/ResidencyPlan.h"
#include "sampling/Sampler.h"
#include "tokenizer/Tokenizer.h"

namespace strata::cli {

// What strata-cli says on stderr when a stop signal comes (see StopSignals.h).
inline constexpr const char* kStopNote =
    "\nstrata-cli: stopping: the job pauses at its next token or checkpoint and is saved (the same signal "
    "again quits at once)\n";

struct CliModel {
    std::string path;  // the model folder or GGUF file
    std::unique_ptr<Ops> ops;  // CPU, or CUDA when --vram-budget is given
    int threads = 0;           // CPU threads (BLAS and OpenMP)
    std::unique_ptr<TransformerModel> model;
    double loadSeconds = 0;
};

// --model, or the default model when it is installed: a Hugging Face folder or a GGUF file.
// sessionModel: the model of the session being continued, used when --model is not given.
Result<std::string> modelPath(const CliArguments& args, const std::string& sessionModel = {});
// A model named by --model: badInput naming it when there is no such file or folder.
Result<std::string> givenModelPath(const std::string& given);
// --ram-budget, --vram-budget (each 0 when absent), --chunk and --context (default contextTokens).
Result<ModelOptions> modelOptions(const CliArguments& args, int64_t contextTokens = ModelOptions{}.contextTokens);
// The sampling flags of run and ask: --temperature, --top-k, --top-p, --min-p,
// --repetition-penalty, --seed.
Result<SamplingParams> samplingParams(const CliArguments& args);

// contextTokens: positions to plan device memory for when --context is not given.
Result<CliModel> loadCliModel(const CliArguments& args, int64_t contextTokens = ModelOptions{}.contextTokens,
                              const std::string& sessionModel = {});
// The model at path with options, on the backend options.vramBudget asks for, with --threads.
Result<CliModel> loadCliModel(const CliArguments& args, const std::string& path, const ModelOptions& options);

}  // namespace strata::cli
