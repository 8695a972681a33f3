#pragma once
// Where each weight unit lives while a model runs. On the CPU backend a unit is either kept in
// RAM for the whole run or streamed from disk into one of a few RAM slots each time it is used.
#include <cstdint>
#include <string>
#include <vector>

#include "core/Result.h"
#include "model/WeightLayout.h"

namespace strata {

enum class Residency { Ram, Disk };

struct ResidencyPlan {
    std::vector<Residency> units;  // parallel to WeightLayout::units
    int streamSlots = 0;           // RAM buffers that streamed units cycle through
    uint64_t slotBytes = 0;        // size of each slot
    uint64_t residentBytes = 0;    // units kept in RAM
    uint64_t ramBytes() const { return residentBytes + uint64_t(streamSlots) * slotBytes; }
    uint64_t streamedBytesPerPass = 0;  // read from disk for each pass over the layers
};

// ramBudget 0: no limit (everything resident). Otherwise the weights held in RAM at once, resident
// units plus stream slots, stay within the budget; fails when even two slots of the largest
// streamed unit do not fit.
Result<ResidencyPlan> planResidency(const WeightLayout& layout, uint64_t ramBudget, int streamSlots = 2);

std::string formatBytes(uint64_t bytes);
// "512MiB", "2GiB", "1.5G", "300000000": binary units (K/M/G/T, with or without "iB"/"B").
Result<uint64_t> parseByteSize(const std::string& text);

}  // namespace strata
