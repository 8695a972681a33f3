#include "SourceAnchor.h"

#include <cstdio>

namespace strata {

namespace {
std::string clock(double seconds) {
    const long long s = static_cast<long long>(seconds);
    char text[32];
    if (s >= 3600) std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
    return text;
}
}  // namespace

std::string describe(const SourceAnchor& a) {
    std::string out = a.file.filename().string();
    if (a.page > 0) out += ", page " + std::to_string(a.page);
    if (a.firstLine > 0) {
        out += a.lastLine > a.firstLine ? ", lines " + std::to_string(a.firstLine) + "-" + std::to_string(a.lastLine)
                                        : ", line " + std::to_string(a.firstLine);
    }
    if (a.startSeconds >= 0) out += ", " + clock(a.startSeconds) + "-" + clock(a.endSeconds);
    if (a.ocr) out += ", OCR " + std::to_string(a.ocrConfidence) + "%";
    return out;
}

}  // namespace strata
