#pragma once
// What strata-cli and the window share to run a model: the backend (the CPU, or CUDA when a VRAM
// budget is given and a device is there), the model and its tokenizer loaded together, the ids
// that end an answer, and a question put into the model's chat format. Qt-free.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "backend/Ops.h"
#include "model/TransformerModel.h"
#include "telemetry/SystemTelemetry.h"
#include "tokenizer/Tokenizer.h"

namespace strata {

// Bad input, suggesting how to run without one, when a VRAM budget is given and there is no CUDA
// backend or device.
Status backendAvailable(uint64_t vramBudget);
// The CPU backend, or the CUDA backend holding vramBudget bytes of device memory.
Result<std::unique_ptr<Ops>> makeOps(uint64_t vramBudget, int threads);
// "CUDA: NVIDIA H100 ..." or "CPU backend": what the window's status bar says.
std::string backendDescription();

// The whole GPU's memory in use, for the gauges (CUDA builds with a usable device); null otherwise.
std::unique_ptr<GpuMemoryProbe> makeGpuMemoryProbe();

struct LoadedModel {
    std::string path;  // the model folder or GGUF file
    std::unique_ptr<Ops> ops;
    std::unique_ptr<TransformerModel> model;  // uses *ops: declared after it, destroyed before it
    std::unique_ptr<Tokenizer> tokenizer;
    int threads = 0;
    double loadSeconds = 0;
};

// The backend for options.vramBudget, the model with options, and its tokenizer.
Result<LoadedModel> loadModel(const std::filesystem::path& path, const ModelOptions& options, int threads = 0);

// The ids that end an answer: the config's and tokenizer's EOS and the chat formats' end-of-turn
// markers (for gpt-oss <|return|> and <|call|>, never <|end|>).
std::vector<int32_t> stopTokens(const ModelConfig& config, const Tokenizer& tokenizer);

struct PromptFormat {
    bool chat = true;  // the family's chat format around the text; false: the text as it is
    std::string system;
    bool enableThinking = true;
    // The harmony chat format's "Reasoning: low|medium|high": how long the model reasons before it
    // answers. Other chat formats have no such setting (checkReasoningEffort refuses one).
    std::string reasoningEffort = "medium";
};

// Whether `effort` is a reasoning effort the model's chat format takes: low, medium or high, for
// the harmony format only.
Status checkReasoningEffort(const ModelConfig& config, const std::string& effort);

// The ids of a first turn: text in the chat format (which carries its own BOS) or, without it,
// the text with the tokenizer's default BOS.
Result<std::vector<int32_t>> firstTurnIds(const ModelConfig& config, const Tokenizer& tokenizer,
                                          const std::string& text, const PromptFormat& format);

}  // namespace strata
