#include "core/ByteSize.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace strata {

std::string formatBytesAtLeast(uint64_t bytes) {
    constexpr uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
    if (bytes < KiB) return std::to_string(bytes) + " B";
    if (bytes < MiB) return std::to_string((bytes + KiB - 1) / KiB) + " KiB";
    if (bytes % GiB == 0) return std::to_string(bytes / GiB) + " GiB";
    return std::to_string((bytes + MiB - 1) / MiB) + " MiB";
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
