#include "tokenizer/SplitPattern.h"

#include "tokenizer/Unicode.h"

namespace strata {

namespace {
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
}  // namespace

std::optional<SplitPattern> recogniseSplitPattern(std::string_view regex) {
    if (regex == kGpt2) return SplitPattern::Gpt2;
    if (regex == kLlama3) return SplitPattern::Llama3;
    if (regex == kQwen2) return SplitPattern::Qwen2;
    return std::nullopt;
}

std::string_view splitPatternRegex(SplitPattern pattern) {
    switch (pattern) {
    case SplitPattern::Gpt2: return kGpt2;
    case SplitPattern::Llama3: return kLlama3;
    case SplitPattern::Qwen2: return kQwen2;
    }
    return kGpt2;
}

namespace {

struct Chars {
    std::vector<int32_t> cp;
    std::vector<size_t> offset;  // offset[i] = byte start of char i; offset[n] = text size
};

void decodeAll(std::string_view text, Chars& chars) {
    chars.cp.clear();
    chars.offset.clear();
    for (size_t i = 0; i < text.size();) {
        size_t len = 1;
        chars.cp.push_back(unicode::decodeAt(text, i, len));
        chars.offset.push_back(i);
        i += len;
    }
    chars.offset.push_back(text.size());
}

bool isPunct(int32_t c) {
    return !unicode::isRegexSpace(c) && !unicode::isLetter(c) && !unicode::isNumber(c);
}

int32_t foldAscii(int32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Length in chars of a contraction at i, 0 if none.
size_t contraction(const std::vector<int32_t>& cp, size_t i, bool ignoreCase) {
    const size_t n = cp.size();
    if (cp[i] != '\'' || i + 1 >= n) return 0;
    auto at = [&](size_t k) -> int32_t {
        if (k >= n) return 0;
        if (!ignoreCase) return cp[k];
        // Unicode simple case folding maps U+017F LATIN SMALL LETTER LONG S to 's'.
        if (cp[k] == 0x17F) return 's';
        return foldAscii(cp[k]);
    };
    const int32_t a = at(i + 1);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    const int32_t b = at(i + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

size_t runOf(const std::vector<int32_t>& cp, size_t i, bool (*pred)(int32_t), size_t maxLen) {
    size_t j = i;
    while (j < cp.size() && j - i < maxLen && pred(cp[j])) ++j;
    return j;
}

// End (char index) of the whitespace alternatives shared by all patterns, 0 if none matches.
size_t whitespaceEnd(const std::vector<int32_t>& cp, size_t i, bool newlineAlternative) {
    const size_t n = cp.size();
    const size_t k = runOf(cp, i, unicode::isRegexSpace, n);
    if (k == i) return 0;
    if (newlineAlternative) {  // \s*[\r\n]+ : up to the last line break inside the run
        for (size_t p = k; p > i; --p) {
            if (cp[p - 1] == '\r' || cp[p - 1] == '\n') return p;
        }
    }
    if (k == n) return k;          // \s+(?!\S) at the end of text
    if (k - 1 > i) return k - 1;   // \s+(?!\S) leaves the last space to the next word
    return k;                      // \s+
}

size_t matchGpt2(const std::vector<int32_t>& cp, size_t i) {
    const size_t n = cp.size();
    if (size_t c = contraction(cp, i, false)) return i + c;
    const size_t s = (cp[i] == ' ' && i + 1 < n) ? i + 1 : i;
    for (auto pred : {unicode::isLetter, unicode::isNumber, isPunct}) {
        if (pred(cp[s])) return runOf(cp, s, pred, n);
        if (s != i && pred(cp[i])) return runOf(cp, i, pred, n);
    }
    return whitespaceEnd(cp, i, false);
}

size_t matchLlama3(const std::vector<int32_t>& cp, size_t i, size_t maxDigits) {
    const size_t n = cp.size();
    if (size_t c = contraction(cp, i, true)) return i + c;
    const int32_t c0 = cp[i];
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (unicode::isLetter(c0)) return runOf(cp, i, unicode::isLetter, n);
    if (c0 != '\r' && c0 != '\n' && !unicode::isNumber(c0) && i + 1 < n &&
        unicode::isLetter(cp[i + 1]))
        return runOf(cp, i + 1, unicode::isLetter, n);
    // \p{N}{1,maxDigits}
    if (unicode::isNumber(c0)) return runOf(cp, i, unicode::isNumber, maxDigits);
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    size_t s = i;
    if (c0 == ' ' && i + 1 < n && isPunct(cp[i + 1])) s = i + 1;
    if (isPunct(cp[s])) {
        size_t e = runOf(cp, s, isPunct, n);
        while (e < n && (cp[e] == '\r' || cp[e] == '\n')) ++e;
        return e;
    }
    return whitespaceEnd(cp, i, true);
}

}  // namespace

void findPatternMatches(std::string_view text, SplitPattern pattern,
                        std::vector<std::pair<size_t, size_t>>& matches) {
    thread_local Chars chars;
    decodeAll(text, chars);
    const size_t n = chars.cp.size();
    size_t i = 0;
    while (i < n) {
        size_t e = 0;
        switch (pattern) {
            case SplitPattern::Gpt2: e = matchGpt2(chars.cp, i); break;
            case SplitPattern::Llama3: e = matchLlama3(chars.cp, i, 3); break;
            case SplitPattern::Qwen2: e = matchLlama3(chars.cp, i, 1); break;
        }
        if (e <= i) e = i + 1;  // every character is matched by some alternative; stay safe
        matches.emplace_back(chars.offset[i], chars.offset[e]);
        i = e;
    }
}

}  // namespace strata
