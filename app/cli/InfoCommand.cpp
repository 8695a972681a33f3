// strata-cli info: the architecture, sizes and memory plan of a model folder. It only plans: no
// weights are read, so it can show the plan for a GPU budget on a machine without one.
#include <cstdio>
#include <filesystem>

#include "CliModel.h"
#include "CommandSpec.h"
#include "Commands.h"
#include "core/NumberFormat.h"
#include "format/Checkpoint.h"
#include "kv/KvCache.h"
#include "model/TransformerModel.h"
#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"
#include "arch/DecoderWeights.h"
#include "arch/ModelFamily.h"

namespace strata::cli {

namespace {

const char* ropeScalingName(RopeScalingType t) {
    switch (t) {
    case RopeScalingType::None: return "none";
    case RopeScalingType::Llama3: return "llama3";
    case RopeScalingType::Linear: return "linear";
    case RopeScalingType::Yarn: return "yarn";
    }
    return "?";
}

std::string tierTraffic(const TierBytes& t, bool device) {
    std::string text = "from VRAM " + formatBytes(t.fromVram) + ", from RAM " + formatBytes(t.fromRam) +
                       ", from disk " + formatBytes(t.fromDisk);
    if (device) text += "; copied host->device " + formatBytes(t.hostToDevice);
    return text;
}

void printPlan(uint64_t ramBudget, const WeightLayout& layout, const ResidencyPlan& plan) {
    const int units = int(plan.units.size());
    const std::string ram = ramBudget ? formatBytes(ramBudget) : std::string("unlimited");
    if (plan.deviceTier)
        std::printf("memory plan    VRAM budget %s, RAM budget %s\n", formatBytes(plan.vramBudget).c_str(), ram.c_str());
    else
        std::printf("memory plan    CPU backend (no --vram-budget), RAM budget %s\n", ram.c_str());
    if (plan.deviceTier) {
        std::printf("  VRAM         %d of %d units, %s; %d staging slots of %s; %s reserved for activations/KV; "
                    "%s in all\n",
                    plan.unitsIn(Residency::Vram), units, formatBytes(plan.vramResidentBytes).c_str(), plan.deviceSlots,
                    formatBytes(plan.deviceSlotBytes).c_str(), formatBytes(plan.vramReserve).c_str(),
                    formatBytes(plan.vramBytes()).c_str());
    }
    std::printf("  RAM          %d of %d units, %s%s; %s in all\n", plan.unitsIn(Residency::Ram), units,
                formatBytes(plan.residentBytes).c_str(), plan.deviceTier ? " (pinned)" : "",
                formatBytes(plan.ramBytes()).c_str());
    std::printf("  disk         %d of %d units, %s, streamed through %d slots of %s\n", plan.unitsIn(Residency::Disk),
                units, formatBytes(plan.streamedBytesPerPass).c_str(), plan.streamSlots,
                formatBytes(plan.slotBytes).c_str());
    if (plan.embeddingBytes > 0) {
        std::printf("  embeddings   %s %s %s%s; one %s row read per token\n", formatBytes(plan.embeddingBytes).c_str(),
                    plan.embedding == Residency::Disk ? "on" : "in", residencyName(plan.embedding), plan.embeddingSharesHead ? " (the head's tensor, tied)" : "",
                    formatBytes(plan.embeddingRowBytes).c_str());
    }
    const int64_t promptTokens = 512;
    std::printf("per token      (decode) %s\n", tierTraffic(plan.bytesPerToken(), plan.deviceTier).c_str());
    std::printf("per prefill    pass of a %s-token prompt: %s\n", groupDigits(promptTokens).c_str(),
                tierTraffic(plan.bytesPerPass(promptTokens), plan.deviceTier).c_str());
    for (size_t u = 0; u < plan.units.size(); ++u)
        std::printf("    %-10s %12s  %s\n", layout.units[u].label.c_str(), formatBytes(layout.units[u].bytes).c_str(),
                    residencyName(plan.units[u]));
    if (plan.embeddingBytes > 0)
        std::printf("    %-10s %12s  %s (rows)\n", "embeddings", formatBytes(plan.embeddingBytes).c_str(),
                    residencyName(plan.embedding));
}
// A mixture of experts: what a token reads of its experts, against what streaming whole layers
// would read. `whole` is the layout before its experts were split (the same when they were not).
void printExperts(const ModelConfig& c, const WeightLayout& whole, const WeightLayout& layout,
                  const ResidencyPlan& plan) {
    uint64_t expertBytes = 0, wholeLayers = 0;
    for (int u = 0; u < whole.headUnit(); ++u) {
        wholeLayers += whole.units[size_t(u)].bytes;
        for (const UnitTensor& t : whole.units[size_t(u)].tensors)
            if (isExpertMatrix(t.role)) expertBytes += t.info->nbytes;
    }
    const uint64_t perExpert = expertBytes / uint64_t(c.numLayers * c.numExperts);
    const uint64_t active = perExpert * uint64_t(c.expertsPerToken * c.numLayers);
    const uint64_t shared = wholeLayers - expertBytes + whole.units.back().bytes;
    std::printf("experts        %lld per layer, %lld routed per token, %s each (%s)\n",
                static_cast<long long>(c.numExperts), static_cast<long long>(c.expertsPerToken),
                formatBytes(perExpert).c_str(), c.expertsMxfp4 ? "MXFP4, kept packed" : "as stored");
    if (layout.expertsSplit()) {
        const uint64_t slot = layout.expertBytes();
        auto perLayer = [&](uint64_t bytes) {
            return static_cast<long long>(std::min<uint64_t>(std::max<uint64_t>(bytes / slot / uint64_t(c.numLayers), 1),
                                                             uint64_t(c.numExperts)));
        };
        if (plan.deviceTier)
            std::printf("expert cache   %s of VRAM: %lld of %lld experts per layer, LRU, filled from RAM\n",
                        formatBytes(plan.vramExpertCacheBytes).c_str(), perLayer(plan.vramExpertCacheBytes),
                        static_cast<long long>(c.numExperts));
        std::printf("expert cache   %s of RAM: %lld of %lld experts per layer, LRU; the rest read from disk when routed to\n",
                    formatBytes(plan.expertCacheBytes).c_str(), perLayer(plan.expertCacheBytes),
                    static_cast<long long>(c.numExperts));
    } else {
        std::printf("expert cache   none: every layer is held whole (set --ram-budget or --vram-budget to stream experts "
                    "one by one)\n");
    }
    std::printf("per token      the active-parameter bound: %s of experts (%lld x %lld layers) + %s of attention, "
                "routers and head = %s; streaming whole layers would move %s\n",
                formatBytes(active).c_str(), static_cast<long long>(c.expertsPerToken),
                static_cast<long long>(c.numLayers), formatBytes(shared).c_str(), formatBytes(active + shared).c_str(),
                formatBytes(wholeLayers + whole.units.back().bytes).c_str());
}

}  // namespace

Status infoCommand(const std::vector<std::string>& argv) {
    auto args = parseCommand("info", argv);
    STRATA_TRY(args);
    auto path = modelPath(args.value());
    STRATA_TRY(path);
    auto options = modelOptions(args.value());
    STRATA_TRY(options);
    auto opened = Checkpoint::open(path.value());
    STRATA_TRY(opened);
    // As the model will be loaded: the CPU backend multiplies Q8_0 packed (CpuOps::multipliesPacked).
    const bool packed = options.value().vramBudget == 0;
    if (packed) opened.value()->keepPacked(DType::Q8_0);
    const Checkpoint& checkpoint = *opened.value();
    auto config = loadModelConfig(checkpoint);
    STRATA_TRY(config);
    STRATA_TRY(resolveTensorNames(config.value(), checkpoint));
    auto built = buildWeightLayout(config.value(), checkpoint);
    STRATA_TRY(built);
    const WeightLayout whole = built.value();
    if (splitsExperts(config.value(), options.value())) splitExperts(built.value(), config.value().numExperts);
    const WeightLayout& layout = built.value();
    auto planned = planResidency(layout, residencyOptionsFor(config.value(), options.value()));
    STRATA_TRY(planned);
    const ResidencyPlan& plan = planned.value();
    const ModelConfig& c = config.value();

    uint64_t params = 0, bytes = 0;
    std::set<std::string> dtypes;
    for (const auto& [name, info] : checkpoint.tensors()) {
        // MXFP4 as safetensors stores it: two weights a byte of blocks; the scale bytes are none.
        const bool blocks = info.dtype == DType::U8 && name.ends_with("_blocks");
        const bool scales = info.dtype == DType::U8 && name.ends_with("_scales");
        params += scales ? 0 : uint64_t(info.numel()) * (blocks ? 2 : 1);
        bytes += info.nbytes;
        dtypes.insert(std::string(dtypeName(info.dtype)));
    }
    std::string dtypeList;
    for (const auto& d : dtypes) dtypeList += (dtypeList.empty() ? "" : ", ") + d;
    int64_t sliding = 0;
    for (LayerAttention t : c.layerTypes) sliding += t == LayerAttention::Sliding;

    std::printf("model          %s\n", path->c_str());
    std::printf("architecture   %s (model_type %s)\n", c.family->displayName(), c.modelType.c_str());
    uint64_t onDisk = 0;
    for (const auto& file : checkpoint.files()) {
        std::error_code ec;
        onDisk += std::filesystem::file_size(file, ec);
    }
    std::printf("parameters     %.3f B (%s) in %s: %s as loaded, %s on disk in %zu file(s)%s\n",
                double(params) / 1e9, groupDigits(int64_t(params)).c_str(), dtypeList.c_str(),
                formatBytes(bytes).c_str(), formatBytes(onDisk).c_str(), checkpoint.files().size(),
                !checkpoint.gguf() ? ""
                : packed           ? " (GGUF; Q8_0 kept packed, other quantised types widened to F16 as read)"
                                   : " (GGUF, quantised types widened to F16 as read)");
    std::printf("layers         %lld (%lld sliding-window, window %s)\n", static_cast<long long>(c.numLayers),
                static_cast<long long>(sliding), groupDigits(c.slidingWindow).c_str());
    std::printf("hidden         %s, ffn %s, heads %lld q / %lld kv, head_dim %lld, vocab %s\n",
                groupDigits(c.hiddenSize).c_str(), groupDigits(c.intermediateSize).c_str(),
                static_cast<long long>(c.numHeads), static_cast<long long>(c.numKvHeads),
                static_cast<long long>(c.headDim), groupDigits(c.vocabSize).c_str());
    std::printf("context        %s tokens; rope theta %s (local %s), scaling %s x%g\n",
                groupDigits(c.maxPositions).c_str(), groupDigits(c.ropeTheta, 0).c_str(),
                groupDigits(c.ropeLocalTheta, 0).c_str(),
                ropeScalingName(c.ropeScaling.type), c.ropeScaling.factor);
    std::printf("head           %s\n", c.tieWordEmbeddings ? "tied to the embeddings" : "separate lm_head");
    std::printf("bytes/layer    %s (layer 0)\n", formatBytes(layout.units.front().bytes).c_str());
    std::printf("head unit      %s (final norm + output head)\n", formatBytes(layout.units.back().bytes).c_str());
    std::printf("embeddings     %s, rows read per token\n", formatBytes(layout.embedding->nbytes).c_str());
    std::printf("KV cache       %s per 1k tokens (fp32, in RAM)\n",
                formatBytes(KvCache::bytesFor(c, 1000)).c_str());
    printPlan(options->ramBudget, layout, plan);
    if (c.isMixtureOfExperts()) printExperts(c, whole, layout, plan);
    return {};
}

}  // namespace strata::cli
