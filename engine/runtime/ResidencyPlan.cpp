#include "runtime/ResidencyPlan.h"

#include "runtime/ExpertCache.h"
#include "core/ByteSize.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <tuple>

namespace strata {

namespace {

// One way to fill a tier: which candidate units it holds and the slots the others pass through.
struct TierFill {
    std::vector<bool> held;  // per layout unit
    int slots = 0;
    uint64_t slotBytes = 0;
    uint64_t heldBytes = 0;
    uint64_t outsideBytes = 0;  // candidates left to the tiers below
    uint64_t used() const { return heldBytes + uint64_t(slots) * slotBytes; }
};

// The cheapest budget that admits any fill, and what it is spent on, for error messages.
struct TierNeed {
    uint64_t minimum = 0;
    int slotUnit = -1;         // the largest unit left outside; -1: the minimum holds everything
    std::vector<int> forced;   // units larger than the slot, which must then be held
    uint64_t forcedBytes = 0;
};

// Every feasible fill of `budget` from `candidates` (layout indices, ascending), best first: the
// fewest bytes left outside. For each candidate size m taken as the slot size, units larger than
// m must be held, the slots cost slots * m, and the earliest units that fit take the rest.
std::vector<TierFill> tierFills(const WeightLayout& layout, const std::vector<int>& candidates, uint64_t budget,
                                int slots) {
    const size_t n = layout.units.size();
    std::vector<TierFill> fills;
    uint64_t total = 0;
    for (int u : candidates) total += layout.units[size_t(u)].bytes;
    if (total <= budget) {
        TierFill all;
        all.held.assign(n, false);
        for (int u : candidates) all.held[size_t(u)] = true;
        all.heldBytes = total;
        fills.push_back(std::move(all));
        return fills;
    }
    std::vector<int> bySize = candidates;
    std::stable_sort(bySize.begin(), bySize.end(), [&](int a, int b) {
        return layout.units[size_t(a)].bytes > layout.units[size_t(b)].bytes;
    });
    for (size_t k = 0; k < bySize.size(); ++k) {
        const uint64_t slot = layout.units[size_t(bySize[k])].bytes;
        uint64_t used = uint64_t(slots) * slot;
        if (used > budget) continue;
        std::vector<bool> held(n, false);
        bool fits = true;
        for (size_t j = 0; j < k; ++j) {
            used += layout.units[size_t(bySize[j])].bytes;
            held[size_t(bySize[j])] = true;
            if (used > budget) fits = false;
        }
        if (!fits) continue;
        for (int u : candidates) {
            const uint64_t bytes = layout.units[size_t(u)].bytes;
            if (held[size_t(u)] || bytes > slot) continue;
            if (used + bytes <= budget) {
                used += bytes;
                held[size_t(u)] = true;
            }
        }
        TierFill fill;
        fill.held = std::move(held);
        uint64_t maxOutside = 0;
        for (int u : candidates) {
            const uint64_t bytes = layout.units[size_t(u)].bytes;
            if (fill.held[size_t(u)]) {
                fill.heldBytes += bytes;
            } else {
                fill.outsideBytes += bytes;
                maxOutside = std::max(maxOutside, bytes);
            }
        }
        fill.slots = maxOutside ? slots : 0;
        fill.slotBytes = maxOutside;
        fills.push_back(std::move(fill));
    }
    std::stable_sort(fills.begin(), fills.end(),
                     [](const TierFill& a, const TierFill& b) { return a.outsideBytes < b.outsideBytes; });
    return fills;
}

TierNeed tierNeed(const WeightLayout& layout, const std::vector<int>& candidates, int slots) {
    TierNeed need;
    for (int u : candidates) need.minimum += layout.units[size_t(u)].bytes;
    std::vector<int> bySize = candidates;
    std::stable_sort(bySize.begin(), bySize.end(), [&](int a, int b) {
        return layout.units[size_t(a)].bytes > layout.units[size_t(b)].bytes;
    });
    uint64_t forcedBytes = 0;
    for (size_t k = 0; k < bySize.size(); ++k) {
        const uint64_t bytes = layout.units[size_t(bySize[k])].bytes;
        const uint64_t cost = uint64_t(slots) * bytes + forcedBytes;
        if (cost < need.minimum) {
            need.minimum = cost;
            need.slotUnit = bySize[k];
            need.forced.assign(bySize.begin(), bySize.begin() + std::ptrdiff_t(k));
            need.forcedBytes = forcedBytes;
        }
        forcedBytes += bytes;
    }
    return need;
}

std::string unitName(const WeightLayout& layout, int u) {
    const std::string& label = layout.units[size_t(u)].label;
    return label.empty() ? "unit " + std::to_string(u) : label;
}

std::string countWord(int n) {
    static const char* words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    return n >= 0 && n < 10 ? words[n] : std::to_string(n);
}

// "two 218.00 MiB staging buffers for the largest streamed unit (layer 0), plus 1.00 GiB for the
// head, which is larger and so must stay in VRAM"
std::string describeNeed(const WeightLayout& layout, const TierNeed& need, int slots, const char* tier) {
    if (need.slotUnit < 0) return "the " + formatBytes(need.minimum) + " of weights";
    const uint64_t slot = layout.units[size_t(need.slotUnit)].bytes;
    std::string text = countWord(slots) + " " + formatBytes(slot) + " staging buffer" + (slots == 1 ? "" : "s") +
                       " for the largest streamed unit (" + unitName(layout, need.slotUnit) + ")";
    if (!need.forced.empty()) {
        std::string names;
        if (need.forced.size() <= 3) {
            for (size_t i = 0; i < need.forced.size(); ++i)
                names += (i == 0 ? "" : i + 1 == need.forced.size() ? " and " : ", ") + unitName(layout, need.forced[i]);
        } else {
            names = std::to_string(need.forced.size()) + " larger units";
        }
        text += ", plus " + formatBytes(need.forcedBytes) + " for the " + names + ", which " +
                (need.forced.size() == 1 ? "is" : "are") + " larger and so must stay in " + tier;
    }
    return text;
}

std::vector<int> allUnits(const WeightLayout& layout) {
    std::vector<int> all(layout.units.size());
    std::iota(all.begin(), all.end(), 0);
    return all;
}

void describeEmbedding(const WeightLayout& layout, ResidencyPlan& plan) {
    if (!layout.embedding) return;
    plan.embeddingBytes = layout.embedding->nbytes;
    const int64_t rows = layout.embedding->shape.empty() ? 0 : layout.embedding->shape.front();
    plan.embeddingRowBytes = rows > 0 ? layout.embedding->nbytes / uint64_t(rows) : 0;
    if (layout.units.empty()) return;
    for (const UnitTensor& t : layout.units[size_t(layout.headUnit())].tensors)
        if (t.role == WeightRole::LmHead && t.info == layout.embedding) plan.embeddingSharesHead = true;
}

// Bytes of an expert cache that holds every expert: its slots each fit the largest part.
uint64_t allExpertBytes(const WeightLayout& layout) {
    uint64_t all = 0;
    for (const auto& parts : layout.experts) all += parts.size() * layout.expertBytes();
    return all;
}

Result<ResidencyPlan> planForDevice(const WeightLayout& layout, const ResidencyOptions& options) {
    ResidencyPlan plan;
    plan.deviceTier = true;
    plan.vramBudget = options.vramBudget;
    plan.vramReserve = options.vramReserve;
    describeEmbedding(layout, plan);
    const size_t n = layout.units.size();
    const std::vector<int> all = allUnits(layout);

    // Split experts: each tier keeps room for one expert per layer while the layers' other weights
    // are planned; its expert cache then takes what they leave.
    const uint64_t expertMinimum = ExpertCache::minimumBytes(layout);
    uint64_t vramForWeights = options.vramBudget > options.vramReserve ? options.vramBudget - options.vramReserve : 0;
    if (vramForWeights < expertMinimum)
        return badInput("--vram-budget " + formatBytes(options.vramBudget) + " cannot hold one expert of each layer (" +
                        formatBytes(expertMinimum) + ") beside the " + formatBytes(options.vramReserve) +
                        " reserved for activations and the KV cache; use at least " +
                        formatBytesAtLeast(options.vramReserve + 2 * expertMinimum));
    vramForWeights -= expertMinimum;
    uint64_t ramForWeights = options.ramBudget;
    if (options.ramBudget > 0) {
        if (ramForWeights < expertMinimum)
            return badInput("--ram-budget " + formatBytes(options.ramBudget) + " cannot hold one expert of each layer (" +
                            formatBytes(expertMinimum) + "); use at least " + formatBytesAtLeast(expertMinimum * 2));
        ramForWeights -= expertMinimum;
    }
    const std::vector<TierFill> vramFills = tierFills(layout, all, vramForWeights, options.deviceSlots);
    if (vramFills.empty()) {
        const TierNeed need = tierNeed(layout, all, options.deviceSlots);
        return badInput("--vram-budget " + formatBytes(options.vramBudget) + " cannot hold " +
                        describeNeed(layout, need, options.deviceSlots, "VRAM") + ", plus the " +
                        formatBytes(options.vramReserve) + " reserved for activations and the KV cache; use at least " +
                        formatBytesAtLeast(need.minimum + options.vramReserve) + ", or 0 to run on the CPU");
    }

    // Fewest bytes copied to the device per token first, then fewest read from disk, then the
    // least VRAM.
    const TierFill* bestVram = nullptr;
    TierFill bestRam;
    std::tuple<uint64_t, uint64_t, uint64_t> bestScore{};
    for (const TierFill& v : vramFills) {
        std::vector<int> rest;
        for (int u : all)
            if (!v.held[size_t(u)]) rest.push_back(u);
        TierFill ram;
        if (options.ramBudget == 0) {
            ram = tierFills(layout, rest, std::numeric_limits<uint64_t>::max(), options.ramSlots).front();
        } else {
            std::vector<TierFill> ramFills = tierFills(layout, rest, ramForWeights, options.ramSlots);
            if (ramFills.empty()) continue;
            ram = std::move(ramFills.front());
        }
        const std::tuple<uint64_t, uint64_t, uint64_t> score{v.outsideBytes, ram.outsideBytes, v.used()};
        if (!bestVram || score < bestScore) {
            bestVram = &v;
            bestRam = std::move(ram);
            bestScore = score;
        }
    }
    if (!bestVram) {
        std::vector<int> rest;
        for (int u : all)
            if (!vramFills.front().held[size_t(u)]) rest.push_back(u);
        const TierNeed need = tierNeed(layout, rest, options.ramSlots);
        return badInput("--ram-budget " + formatBytes(options.ramBudget) + " cannot hold, for the units that do not fit " +
                        formatBytes(options.vramBudget) + " of VRAM, " +
                        describeNeed(layout, need, options.ramSlots, "RAM") + "; use at least " +
                        formatBytesAtLeast(need.minimum) + ", or 0 for no limit");
    }

    plan.units.assign(n, Residency::Disk);
    for (size_t u = 0; u < n; ++u) {
        if (bestVram->held[u]) plan.units[u] = Residency::Vram;
        else if (bestRam.held[u]) plan.units[u] = Residency::Ram;
    }
    plan.vramResidentBytes = bestVram->heldBytes;
    plan.deviceSlots = bestVram->slots;
    plan.deviceSlotBytes = bestVram->slotBytes;
    plan.residentBytes = bestRam.heldBytes;
    plan.streamSlots = bestRam.slots;
    plan.slotBytes = bestRam.slotBytes;
    plan.streamedBytesPerPass = bestRam.outsideBytes;
    uint64_t vramLeft = vramForWeights - bestVram->used();
    if (layout.expertsSplit()) {
        // Experts come before the embedding, which a token reads one row of.
        const uint64_t all = allExpertBytes(layout);
        plan.vramExpertCacheBytes = std::clamp(vramLeft + expertMinimum, expertMinimum, all);
        vramLeft = vramLeft + expertMinimum - plan.vramExpertCacheBytes;
        // The RAM cache serves the experts VRAM does not hold, and stages each copy to the device.
        const uint64_t beyondVram = all - plan.vramExpertCacheBytes + expertMinimum;
        const uint64_t ramLeft = options.ramBudget == 0 ? beyondVram
                                                        : options.ramBudget - std::min(options.ramBudget, plan.ramBytes());
        plan.expertCacheBytes = std::clamp(ramLeft, expertMinimum, beyondVram);
    }

    if (plan.embeddingSharesHead) {
        plan.embedding = plan.units[size_t(layout.headUnit())];
    } else if (plan.embeddingBytes > 0) {
        const uint64_t ramUsed = plan.ramBytes();
        if (plan.embeddingBytes <= vramLeft) plan.embedding = Residency::Vram;
        else if (options.ramBudget == 0 || (ramUsed <= options.ramBudget && plan.embeddingBytes <= options.ramBudget - ramUsed))
            plan.embedding = Residency::Ram;
    }
    return plan;
}

}  // namespace

const char* residencyName(Residency r) {
    switch (r) {
    case Residency::Vram: return "VRAM";
    case Residency::Ram: return "RAM";
    case Residency::Disk: return "disk";
    }
    return "?";
}

uint64_t ResidencyPlan::ramBytes() const {
    const bool embeddingHeld = embedding == Residency::Ram && !embeddingSharesHead;
    return residentBytes + uint64_t(streamSlots) * slotBytes + (embeddingHeld ? embeddingBytes : 0) + expertCacheBytes;
}

uint64_t ResidencyPlan::vramBytes() const {
    if (!deviceTier) return 0;
    const bool embeddingHeld = embedding == Residency::Vram && !embeddingSharesHead;
    return vramResidentBytes + uint64_t(deviceSlots) * deviceSlotBytes + vramExpertCacheBytes +
           (embeddingHeld ? embeddingBytes : 0) + vramReserve;
}

uint64_t ResidencyPlan::bytesIn(Residency tier) const {
    uint64_t bytes = tier == Residency::Vram ? vramResidentBytes : tier == Residency::Ram ? residentBytes
                                                                                           : streamedBytesPerPass;
    if (embedding == tier && !embeddingSharesHead) bytes += embeddingBytes;
    return bytes;
}

int ResidencyPlan::unitsIn(Residency tier) const {
    return int(std::count(units.begin(), units.end(), tier));
}

TierBytes ResidencyPlan::bytesPerPass(int64_t tokens) const {
    TierBytes t;
    auto add = [&](Residency tier, uint64_t bytes) {
        switch (tier) {
        case Residency::Vram: t.fromVram += bytes; return;
        case Residency::Ram: t.fromRam += bytes; break;
        case Residency::Disk: t.fromDisk += bytes; break;
        }
        if (deviceTier) t.hostToDevice += bytes;
    };
    add(Residency::Vram, vramResidentBytes);
    add(Residency::Ram, residentBytes);
    add(Residency::Disk, streamedBytesPerPass);
    add(embedding, uint64_t(std::max<int64_t>(tokens, 0)) * embeddingRowBytes);
    return t;
}

Result<ResidencyPlan> planResidency(const WeightLayout& layout, const ResidencyOptions& options) {
    if (options.deviceSlots < 1 || options.ramSlots < 1)
        return badInput("the residency plan needs at least one staging slot per tier");
    if (options.vramBudget > 0) return planForDevice(layout, options);

    // The CPU backend: units are held in RAM or streamed from disk through RAM slots; embedding
    // rows are always read from the checkpoint.
    const size_t n = layout.units.size();
    ResidencyPlan plan;
    describeEmbedding(layout, plan);
    plan.units.assign(n, Residency::Ram);
    const std::vector<int> all = allUnits(layout);
    uint64_t budget = options.ramBudget == 0 ? std::numeric_limits<uint64_t>::max() : options.ramBudget;
    // Split experts: the layers' other weights are planned first, with room for one expert per layer
    // kept back; the expert cache takes what they leave.
    const uint64_t expertMinimum = ExpertCache::minimumBytes(layout);
    if (budget < expertMinimum)
        return badInput("--ram-budget " + formatBytes(options.ramBudget) + " cannot hold one expert of each layer (" +
                        formatBytes(expertMinimum) + "); use at least " + formatBytesAtLeast(expertMinimum * 2));
    if (options.ramBudget > 0) budget -= expertMinimum;
    const std::vector<TierFill> fills = tierFills(layout, all, budget, options.ramSlots);
    if (fills.empty()) {
        const TierNeed need = tierNeed(layout, all, options.ramSlots);
        return badInput("--ram-budget " + formatBytes(options.ramBudget) +
                        " is too small for this model: streaming from disk needs " +
                        describeNeed(layout, need, options.ramSlots, "RAM") +
                        (expertMinimum ? " besides " + formatBytes(expertMinimum) + " for one expert of each layer" : "") +
                        "; use at least " + formatBytesAtLeast(need.minimum + expertMinimum) + ", or 0 for no limit");
    }
    const TierFill& best = fills.front();
    for (size_t u = 0; u < n; ++u) plan.units[u] = best.held[u] ? Residency::Ram : Residency::Disk;
    plan.residentBytes = best.heldBytes;
    plan.streamSlots = best.slots;
    plan.slotBytes = best.slotBytes;
    plan.streamedBytesPerPass = best.outsideBytes;
    if (layout.expertsSplit()) {
        const uint64_t allExperts = allExpertBytes(layout);
        const uint64_t left = options.ramBudget == 0 ? allExperts : options.ramBudget - plan.ramBytes();
        plan.expertCacheBytes = std::clamp(left, expertMinimum, allExperts);
    }
    return plan;
}

Result<ResidencyPlan> planResidency(const WeightLayout& layout, uint64_t ramBudget, int streamSlots) {
    ResidencyOptions options;
    options.ramBudget = ramBudget;
    options.ramSlots = streamSlots;
    return planResidency(layout, options);
}

}  // namespace strata
