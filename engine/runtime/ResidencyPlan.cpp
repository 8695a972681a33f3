#include "runtime/ResidencyPlan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace strata {

Result<ResidencyPlan> planResidency(const WeightLayout& layout, uint64_t ramBudget, int streamSlots) {
    const size_t n = layout.units.size();
    ResidencyPlan plan;
    plan.units.assign(n, Residency::Ram);
    uint64_t total = 0;
    for (const WeightUnit& u : layout.units) total += u.bytes;
    if (ramBudget == 0 || total <= ramBudget) {
        plan.residentBytes = total;
        return plan;
    }
    // Try each unit size as the slot size m: units larger than m must be resident, the slots cost
    // streamSlots * m, and the rest of the budget keeps as many of the smaller units as fit. Keep
    // the choice that leaves the fewest bytes to stream per pass.
    std::vector<size_t> bySize(n);
    std::iota(bySize.begin(), bySize.end(), 0);
    std::stable_sort(bySize.begin(), bySize.end(),
                     [&](size_t a, size_t b) { return layout.units[a].bytes > layout.units[b].bytes; });
    bool found = false;
    uint64_t bestStreamed = 0;
    ResidencyPlan best;
    for (size_t k = 0; k < n; ++k) {
        const uint64_t slot = layout.units[bySize[k]].bytes;
        uint64_t used = uint64_t(streamSlots) * slot;
        if (used > ramBudget) continue;
        std::vector<Residency> where(n, Residency::Disk);
        bool fits = true;
        for (size_t j = 0; j < k; ++j) {  // larger than the slot: must stay in RAM
            used += layout.units[bySize[j]].bytes;
            where[bySize[j]] = Residency::Ram;
            if (used > ramBudget) fits = false;
        }
        if (!fits) continue;
        // Among units that fit a slot, keep the earliest layers resident while the budget lasts.
        for (size_t u = 0; u < n; ++u) {
            if (where[u] == Residency::Ram || layout.units[u].bytes > slot) continue;
            if (used + layout.units[u].bytes <= ramBudget) {
                used += layout.units[u].bytes;
                where[u] = Residency::Ram;
            }
        }
        uint64_t streamed = 0, resident = 0, maxStreamed = 0;
        for (size_t u = 0; u < n; ++u) {
            if (where[u] == Residency::Disk) {
                streamed += layout.units[u].bytes;
                maxStreamed = std::max(maxStreamed, layout.units[u].bytes);
            } else {
                resident += layout.units[u].bytes;
            }
        }
        if (!found || streamed < bestStreamed) {
            found = true;
            bestStreamed = streamed;
            best.units = where;
            best.residentBytes = resident;
            best.streamSlots = maxStreamed ? streamSlots : 0;
            best.slotBytes = maxStreamed;
            best.streamedBytesPerPass = streamed;
        }
    }
    if (!found) {
        const uint64_t smallest = layout.units[bySize.back()].bytes;
        return badInput("RAM budget " + formatBytes(ramBudget) + " is too small for this model: streaming needs at least " +
                        formatBytes(uint64_t(streamSlots) * layout.units[bySize.front()].bytes) + " (" +
                        std::to_string(streamSlots) + " slots of the largest unit, " +
                        formatBytes(layout.units[bySize.front()].bytes) + "; the smallest unit is " +
                        formatBytes(smallest) + ")");
    }
    return best;
}

std::string formatBytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
    return buf;
}

Result<uint64_t> parseByteSize(const std::string& text) {
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    const std::string number = text.substr(0, i);
    std::string unit = text.substr(i);
    for (char& ch : unit) ch = char(std::toupper(static_cast<unsigned char>(ch)));
    double value = 0;
    try {
        size_t used = 0;
        value = std::stod(number, &used);
        if (used != number.size()) throw 0;
    } catch (...) {
        return badInput("cannot read size '" + text + "': write a number with an optional unit such as 512MiB or 2GiB");
    }
    double scale = 1;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "K" || unit == "KB" || unit == "KIB") scale = 1024.0;
    else if (unit == "M" || unit == "MB" || unit == "MIB") scale = 1024.0 * 1024;
    else if (unit == "G" || unit == "GB" || unit == "GIB") scale = 1024.0 * 1024 * 1024;
    else if (unit == "T" || unit == "TB" || unit == "TIB") scale = 1024.0 * 1024 * 1024 * 1024;
    else return badInput("unknown size unit in '" + text + "': use B, KiB, MiB, GiB or TiB");
    const double bytes = value * scale;
    if (!(bytes >= 0) || bytes > 1.8e19) return badInput("size '" + text + "' is out of range");
    return uint64_t(std::llround(bytes));
}

}  // namespace strata
