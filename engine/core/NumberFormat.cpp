#include "core/NumberFormat.h"

#include <cmath>
#include <cstdio>

namespace strata {

namespace {

// Groups the leading run of digits in text (after an optional minus sign).
std::string groupLeadingDigits(const std::string& text) {
    const size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
    size_t end = start;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    std::string out = text.substr(0, start);
    for (size_t i = start; i < end; ++i) {
        if (i > start && (end - i) % 3 == 0) out += ',';
        out += text[i];
    }
    return out + text.substr(end);
}

}  // namespace

std::string groupDigits(int64_t n) { return groupLeadingDigits(std::to_string(n)); }

std::string groupDigits(double x, int decimals) {
    if (!std::isfinite(x)) return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals < 0 ? 0 : decimals, x);
    return groupLeadingDigits(buf);
}

}  // namespace strata
