// strata-cli info: the architecture, sizes and memory plan of a model folder.
#include <cstdio>
#include <filesystem>

#include "CliModel.h"
#include "Commands.h"
#include "runtime/KvCache.h"
#include "runtime/ResidencyPlan.h"

namespace strata::cli {

namespace {
const char* architectureName(Architecture a) {
    switch (a) {
    case Architecture::Llama: return "Llama";
    case Architecture::Qwen3: return "Qwen3";
    case Architecture::Gemma3Text: return "Gemma 3 (text)";
    }
    return "?";
}

const char* ropeScalingName(RopeScalingType t) {
    switch (t) {
    case RopeScalingType::None: return "none";
    case RopeScalingType::Llama3: return "llama3";
    case RopeScalingType::Linear: return "linear";
    }
    return "?";
}
}  // namespace

Status infoCommand(const std::vector<std::string>& argv) {
    auto args = CliArguments::parse(argv, kModelFlags, {});
    STRATA_TRY(args);
    auto loaded = loadCliModel(args.value());
    STRATA_TRY(loaded);
    const TransformerModel& model = *loaded->model;
    const ModelConfig& c = model.config();
    const WeightLayout& layout = model.layout();
    const ResidencyPlan& plan = model.streamer().plan();

    uint64_t params = 0, bytes = 0;
    std::set<std::string> dtypes;
    for (const auto& [name, info] : model.checkpoint().tensors()) {
        params += uint64_t(info.numel());
        bytes += info.nbytes;
        dtypes.insert(std::string(dtypeName(info.dtype)));
    }
    std::string dtypeList;
    for (const auto& d : dtypes) dtypeList += (dtypeList.empty() ? "" : ", ") + d;
    int64_t sliding = 0;
    for (LayerAttention t : c.layerTypes) sliding += t == LayerAttention::Sliding;

    std::printf("model          %s\n", loaded->path.c_str());
    std::printf("architecture   %s (model_type %s)\n", architectureName(c.arch), c.modelType.c_str());
    uint64_t onDisk = 0;
    for (const auto& file : model.checkpoint().files()) {
        std::error_code ec;
        onDisk += std::filesystem::file_size(file, ec);
    }
    std::printf("parameters     %.3f B (%llu) in %s: %s as loaded, %s on disk in %zu file(s)%s\n",
                double(params) / 1e9, static_cast<unsigned long long>(params), dtypeList.c_str(),
                formatBytes(bytes).c_str(), formatBytes(onDisk).c_str(), model.checkpoint().files().size(),
                model.checkpoint().gguf() ? " (GGUF, dequantised as read)" : "");
    std::printf("layers         %lld (%lld sliding-window, window %lld)\n", static_cast<long long>(c.numLayers),
                static_cast<long long>(sliding), static_cast<long long>(c.slidingWindow));
    std::printf("hidden         %lld, ffn %lld, heads %lld q / %lld kv, head_dim %lld, vocab %lld\n",
                static_cast<long long>(c.hiddenSize), static_cast<long long>(c.intermediateSize),
                static_cast<long long>(c.numHeads), static_cast<long long>(c.numKvHeads),
                static_cast<long long>(c.headDim), static_cast<long long>(c.vocabSize));
    std::printf("context        %lld tokens; rope theta %g (local %g), scaling %s x%g\n",
                static_cast<long long>(c.maxPositions), c.ropeTheta, c.ropeLocalTheta,
                ropeScalingName(c.ropeScaling.type), c.ropeScaling.factor);
    std::printf("head           %s\n", c.tieWordEmbeddings ? "tied to the embeddings" : "separate lm_head");
    std::printf("bytes/layer    %s (layer 0)\n", formatBytes(layout.units.front().bytes).c_str());
    std::printf("head unit      %s (final norm + output head)\n", formatBytes(layout.units.back().bytes).c_str());
    std::printf("embeddings     %s on disk, rows read per token\n", formatBytes(layout.embedding->nbytes).c_str());
    std::printf("KV cache       %s per 1k tokens (fp32, in RAM)\n",
                formatBytes(KvCache::bytesFor(c, 1000)).c_str());
    std::printf("memory plan    RAM budget %s\n",
                args->has("ram-budget") ? args->get("ram-budget")->c_str() : "unlimited");
    int resident = 0;
    for (Residency r : plan.units) resident += r == Residency::Ram;
    std::printf("  resident     %d of %zu units, %s\n", resident, plan.units.size(),
                formatBytes(plan.residentBytes).c_str());
    std::printf("  streamed     %zu units through %d slots of %s; %s read from disk per token\n",
                plan.units.size() - size_t(resident), plan.streamSlots, formatBytes(plan.slotBytes).c_str(),
                formatBytes(plan.streamedBytesPerPass).c_str());
    std::printf("  weights RAM  %s at most\n", formatBytes(plan.ramBytes()).c_str());
    for (size_t u = 0; u < plan.units.size(); ++u)
        std::printf("    %-10s %10s  %s\n", layout.units[u].label.c_str(), formatBytes(layout.units[u].bytes).c_str(),
                    plan.units[u] == Residency::Ram ? "RAM" : "disk");
    return {};
}

}  // namespace strata::cli
