#pragma once
// Where each weight unit lives while a model runs: VRAM, RAM (pinned on the GPU backend, plain
// on the CPU) or disk. Units outside the fastest tier pass through a few staging slots each time
// they are used: disk-tier units through RAM slots, and on the GPU every unit outside VRAM through
// device slots.
//
// Every layer and the output head are read in full once per decoded token, so a byte of VRAM (or
// RAM) saves the same traffic whichever of them it holds; the planner keeps the most bytes
// resident, which favours holding a large head over streaming it through equally large slots. The
// embedding table is different: a token reads one row of it. It gets a tier only with the space
// the layers and head leave over, and it is never streamed through slots.
#include <cstdint>
#include <string>
#include <vector>

#include "core/Result.h"
#include "runtime/WeightLayout.h"

namespace strata {

enum class Residency { Vram, Ram, Disk };

const char* residencyName(Residency r);  // "VRAM", "RAM", "disk"

// Room kept free in VRAM for activations and the KV cache by default.
inline constexpr uint64_t kDefaultVramReserve = uint64_t(512) << 20;
// Device memory a run keeps beside its activations for the GEMM's input copies (rounded to the
// weights' type) and the staging of host weights.
inline constexpr uint64_t kDeviceWorkspaceBytes = uint64_t(96) << 20;

struct ResidencyOptions {
    uint64_t vramBudget = 0;  // 0: no GPU tier (the CPU backend)
    uint64_t ramBudget = 0;   // 0: no limit
    uint64_t vramReserve = kDefaultVramReserve;  // part of vramBudget kept for activations / KV
    int deviceSlots = 2;  // VRAM staging buffers for units outside VRAM
    int ramSlots = 2;     // RAM buffers that disk-tier units are read into
};

// Expected bytes moved for one pass over the weights.
struct TierBytes {
    uint64_t fromVram = 0;      // read by kernels from VRAM-resident weights
    uint64_t fromRam = 0;       // RAM-tier weights (read by CPU kernels, or copied to the GPU)
    uint64_t fromDisk = 0;      // read from the checkpoint files
    uint64_t hostToDevice = 0;  // copied host->device: everything outside VRAM, on the GPU only
};

struct ResidencyPlan {
    std::vector<Residency> units;  // parallel to WeightLayout::units

    // RAM tier.
    int streamSlots = 0;           // RAM buffers that disk-tier units cycle through
    uint64_t slotBytes = 0;        // size of each
    uint64_t residentBytes = 0;    // units kept in RAM
    uint64_t ramBytes() const;     // resident units, RAM slots and the embedding when held in RAM
    uint64_t streamedBytesPerPass = 0;  // disk-tier units, read for each pass over the layers
    // Experts split into parts (WeightLayout::experts): RAM for the expert cache, which holds the
    // experts recent tokens used and reads the others when routed to. Not in the passes' bytes:
    // what a token reads of them depends on its routing.
    uint64_t expertCacheBytes = 0;

    // VRAM tier; all zero on the CPU backend.
    bool deviceTier = false;     // planned with a VRAM budget
    uint64_t vramBudget = 0;
    uint64_t vramReserve = 0;    // kept for activations and the KV cache
    int deviceSlots = 0;         // VRAM staging buffers that units outside VRAM are copied into
    uint64_t deviceSlotBytes = 0;
    uint64_t vramResidentBytes = 0;  // units kept in VRAM
    // Experts split into parts: VRAM for the device's expert cache, in front of the RAM one.
    uint64_t vramExpertCacheBytes = 0;
    // Resident units, device slots, the expert cache, the embedding when held, the reserve.
    uint64_t vramBytes() const;

    // The embedding table. On the CPU its rows are always read from the checkpoint (Disk). When
    // the output head is the same tensor (tied embeddings), the table costs nothing extra and
    // shares the head's tier.
    Residency embedding = Residency::Disk;
    uint64_t embeddingBytes = 0;
    uint64_t embeddingRowBytes = 0;
    bool embeddingSharesHead = false;

    // Weights read per decoded token, and per prefill pass of `tokens` tokens (each unit once,
    // one embedding row per token).
    TierBytes bytesPerPass(int64_t tokens) const;
    TierBytes bytesPerToken() const { return bytesPerPass(1); }
    uint64_t bytesIn(Residency tier) const;  // units (and the embedding, unless shared) held in it
    int unitsIn(Residency tier) const;
};

// Fails with a message naming the setting (--vram-budget or --ram-budget) and the smallest budget
// that works when a budget cannot hold even the staging slots.
Result<ResidencyPlan> planResidency(const WeightLayout& layout, const ResidencyOptions& options);

// The CPU plan: ramBudget 0 means no limit (everything resident). Otherwise the weights held in
// RAM at once, resident units plus stream slots, stay within the budget.
Result<ResidencyPlan> planResidency(const WeightLayout& layout, uint64_t ramBudget, int streamSlots = 2);


}  // namespace strata
