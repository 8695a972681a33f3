#include "tokenizer/Unicode.h"

#include <utf8proc.h>

#include <cstdlib>

namespace strata::unicode {

int32_t decodeAt(std::string_view s, size_t i, size_t& len) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        len = 1;
        return b0;
    }
    utf8proc_int32_t cp = -1;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                    static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) {
        len = 1;
        return -1;
    }
    len = static_cast<size_t>(n);
    return cp;
}

void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

static utf8proc_category_t categoryOf(int32_t cp) {
    if (cp < 0 || cp > 0x10FFFF) return UTF8PROC_CATEGORY_CN;
    return utf8proc_category(cp);
}

bool isLetter(int32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    const auto c = categoryOf(cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool isNumber(int32_t cp) {
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    const auto c = categoryOf(cp);
    return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

bool isRegexSpace(int32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    if (cp == 0x85) return true;
    const auto c = categoryOf(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool isPythonSpace(int32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    return isRegexSpace(cp);
}

bool isWordChar(int32_t cp) {
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
               cp == '_';
    const auto c = categoryOf(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_NO) || c == UTF8PROC_CATEGORY_PC;
}

std::string normalize(std::string_view s, NormalForm form) {
    bool ascii = true;
    for (char ch : s) {
        if (static_cast<unsigned char>(ch) >= 0x80) {
            ascii = false;
            break;
        }
    }
    if (ascii || s.empty()) return std::string(s);
    int options = UTF8PROC_STABLE;
    switch (form) {
        case NormalForm::NFC: options |= UTF8PROC_COMPOSE; break;
        case NormalForm::NFD: options |= UTF8PROC_DECOMPOSE; break;
        case NormalForm::NFKC: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
        case NormalForm::NFKD: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    utf8proc_uint8_t* mapped = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                static_cast<utf8proc_ssize_t>(s.size()), &mapped,
                                static_cast<utf8proc_option_t>(options));
    if (n < 0) {
        // Malformed UTF-8 cannot be normalised; leave it for the model to byte-encode.
        std::free(mapped);
        return std::string(s);
    }
    std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
    std::free(mapped);
    return out;
}

// Number of bytes of a valid sequence starting at s[i], or the length of the maximal invalid
// prefix (at least 1) negated.
static long sequenceAt(std::string_view s, size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return 1;
    int need = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) need = 1;
    else if (b0 == 0xE0) { need = 2; lo = 0xA0; }
    else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) need = 2;
    else if (b0 == 0xED) { need = 2; hi = 0x9F; }
    else if (b0 == 0xF0) { need = 3; lo = 0x90; }
    else if (b0 >= 0xF1 && b0 <= 0xF3) need = 3;
    else if (b0 == 0xF4) { need = 3; hi = 0x8F; }
    else return -1;
    for (int k = 1; k <= need; ++k) {
        if (i + k >= s.size()) return -static_cast<long>(k);
        const auto b = static_cast<unsigned char>(s[i + k]);
        const unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (b < l || b > h) return -static_cast<long>(k);
    }
    return need + 1;
}

void appendLossy(std::string& out, std::string_view bytes) {
    size_t i = 0;
    while (i < bytes.size()) {
        const long n = sequenceAt(bytes, i);
        if (n > 0) {
            out.append(bytes.substr(i, static_cast<size_t>(n)));
            i += static_cast<size_t>(n);
        } else {
            out.append("\xEF\xBF\xBD");
            i += static_cast<size_t>(-n);
        }
    }
}

bool isValidUtf8(std::string_view bytes) {
    for (size_t i = 0; i < bytes.size();) {
        const long n = sequenceAt(bytes, i);
        if (n < 0) return false;
        i += static_cast<size_t>(n);
    }
    return true;
}

size_t completePrefixLength(std::string_view s) {
    // A sequence is cut only within its last three bytes.
    size_t start = s.size() >= 3 ? s.size() - 3 : 0;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    while (i < s.size()) {
        const long n = sequenceAt(s, i);
        if (n < 0 && i + static_cast<size_t>(-n) >= s.size()) return i;  // truncated tail
        i += static_cast<size_t>(n > 0 ? n : -n);
    }
    return s.size();
}

}  // namespace strata::unicode
