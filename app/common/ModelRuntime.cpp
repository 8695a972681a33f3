#include "ModelRuntime.h"

#include <algorithm>
#include <chrono>

#include "backend/cpu/CpuOps.h"
#include "multimodal/MediaPrompt.h"
#include "tokenizer/ChatTemplate.h"
#include "arch/Registry.h"
#ifdef STRATA_HAVE_CUDA
#include "CudaDevice.h"
#include "CudaOps.h"
#endif

namespace strata {

Status backendAvailable(uint64_t vramBudget) {
    if (vramBudget == 0) return {};
#ifdef STRATA_HAVE_CUDA
    std::string reason;
    if (!cudaDeviceAvailable(&reason))
        return badInput("a VRAM budget (--vram-budget) needs a CUDA device, and none is usable here (" + reason +
                        "); leave it out to run on the CPU");
    return {};
#else
    return badInput("a VRAM budget (--vram-budget) needs the CUDA backend, and this build of Strata has none (no "
                    "nvcc); leave it out to run on the CPU");
#endif
}

Result<std::unique_ptr<Ops>> makeOps(uint64_t vramBudget, int threads) {
    STRATA_TRY(backendAvailable(vramBudget));
    if (vramBudget == 0) return std::unique_ptr<Ops>(std::make_unique<CpuOps>(threads));
#ifdef STRATA_HAVE_CUDA
    auto ops = CudaOps::create(vramBudget);
    STRATA_TRY(ops);
    return std::unique_ptr<Ops>(std::move(ops.value()));
#else
    return internalError("unreachable: no CUDA backend");
#endif
}

std::string backendDescription() {
#ifdef STRATA_HAVE_CUDA
    std::string reason;
    if (cudaDeviceAvailable(&reason)) {
        auto info = cudaDeviceInfo(0);
        return info.ok() ? "CUDA available: " + info->name : std::string("CUDA available");
    }
#endif
    return "CPU backend";
}

#ifdef STRATA_HAVE_CUDA
namespace {

class CudaMemoryProbe : public GpuMemoryProbe {
public:
    explicit CudaMemoryProbe(std::string name) : name_(std::move(name)) {}
    bool query(std::string& name, uint64_t& total, uint64_t& used) override {
        size_t free = 0, all = 0;
        if (!cudaStatus(cudaMemGetInfo(&free, &all), "cudaMemGetInfo").ok()) return false;
        name = name_;
        total = all;
        used = all - free;
        return true;
    }

private:
    std::string name_;
};

}  // namespace
#endif

std::unique_ptr<GpuMemoryProbe> makeGpuMemoryProbe() {
#ifdef STRATA_HAVE_CUDA
    if (cudaDeviceAvailable(nullptr)) {
        auto info = cudaDeviceInfo(0);
        return std::make_unique<CudaMemoryProbe>(info.ok() ? info->name : std::string("CUDA device"));
    }
#endif
    return nullptr;
}

Result<LoadedModel> loadModel(const std::filesystem::path& path, const ModelOptions& options, int threads) {
    LoadedModel out;
    out.path = path.string();
    STRATA_ASSIGN(out.ops, makeOps(options.vramBudget, threads));
    out.threads = CpuOps::threadCount(threads);
    const auto t0 = std::chrono::steady_clock::now();
    STRATA_ASSIGN(out.model, TransformerModel::load(path, *out.ops, options));
    STRATA_ASSIGN(out.tokenizer, loadTokenizer(path));
    out.loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

std::vector<int32_t> stopTokens(const ModelConfig& config, const Tokenizer& tokenizer) {
    std::vector<int32_t> ids = config.eosTokenIds;
    for (int32_t id : tokenizer.eosIds()) ids.push_back(id);
    // End-of-turn markers of the chat formats. Harmony (gpt-oss) ends its turn with <|return|>, or
    // with <|call|> for a tool call (Strata runs none: the answer is said to be missing).
    for (const char* marker : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end_of_text|>", "<|return|>", "<|call|>"})
        if (auto id = tokenizer.tokenId(marker)) ids.push_back(*id);
    // Harmony's <|end|> ends a message, after which the model goes on with the next (the answer
    // after the reasoning): it never stops generation, whatever a converted vocabulary calls it.
    if (auto format = chatFormatForModelType(config.modelType); format.ok() && format.value() == ChatFormat::Harmony)
        if (auto end = tokenizer.tokenId("<|end|>"))
            ids.erase(std::remove(ids.begin(), ids.end(), *end), ids.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

Status checkReasoningEffort(const ModelConfig& config, const std::string& effort) {
    auto chat = chatFormatForModelType(config.modelType);
    if (!chat.ok() || chat.value() != ChatFormat::Harmony)
        return badInput("a reasoning effort is a setting of the harmony chat format; the " + config.modelType +
                        " model has none");
    if (effort != "low" && effort != "medium" && effort != "high")
        return badInput("the reasoning effort must be low, medium or high, not '" + effort + "'");
    return {};
}

Result<std::vector<int32_t>> firstTurnIds(const ModelConfig& config, const Tokenizer& tokenizer,
                                          const std::string& text, const PromptFormat& format) {
    if (!format.chat) return tokenizer.encode(text, tokenizer.addsBosByDefault());
    // Mistral's format is built from ids: Tekken reads no special token out of text.
    if (chatTurnsFromTokenIds(config.modelType)) return voxtralChatIds(tokenizer, VoxtralAudioConfig{}, {}, text);
    auto chat = chatFormatForModelType(config.modelType);
    STRATA_TRY(chat);
    std::vector<ChatMessage> messages;
    if (!format.system.empty()) messages.push_back({"system", format.system});
    messages.push_back({"user", text});
    ChatOptions options;
    options.enableThinking = format.enableThinking;
    options.reasoningEffort = format.reasoningEffort;
    auto rendered = renderChat(chat.value(), messages, options);
    STRATA_TRY(rendered);
    return tokenizer.encode(rendered.value(), false);
}

}  // namespace strata
