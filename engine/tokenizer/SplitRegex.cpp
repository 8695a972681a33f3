#include "tokenizer/SplitRegex.h"

#include <initializer_list>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace strata {

namespace {

// Oniguruma's \s (the White_Space property) as a class body.
constexpr std::string_view kSpaceBody =
    R"(\t-\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
// Oniguruma's \w: Alphabetic, marks, decimal digits, connector punctuation, and the Latin-1
// digits and fractions its single-byte table counts as word characters.
constexpr std::string_view kWordBody = R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{B2}\x{B3}\x{B9}\x{BC}-\x{BE})";
constexpr std::string_view kHexBody = "0-9a-fA-F";

constexpr uint32_t kCompileOptions = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE | PCRE2_MATCH_INVALID_UTF;

pcre2_code* compileRaw(std::string_view pattern, int& error, PCRE2_SIZE& offset) {
    pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
    pcre2_set_newline(context, PCRE2_NEWLINE_LF);  // Ruby's only line break
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), kCompileOptions,
                                     &error, &offset, context);
    pcre2_compile_context_free(context);
    return code;
}

// Whether \p{name} names a script: PCRE2 (10.40 on) reads a bare script name as Script_Extensions,
// Oniguruma as Script, and "sc:" asks PCRE2 for Script.
bool isScriptName(std::string_view name) {
    std::string probe = "\\p{sc:";
    probe.append(name).append("}");
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = compileRaw(probe, error, offset);
    if (!code) return false;
    pcre2_code_free(code);
    return true;
}

bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Rewrites the constructs whose meaning differs between Oniguruma's Ruby syntax and PCRE2 (see
// the header); everything else is copied.
std::string joined(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view part : parts) out.append(part);
    return out;
}

std::string toPcre2Syntax(std::string_view p) {
    static const std::string space = joined({"[", kSpaceBody, "]"}), notSpace = joined({"[^", kSpaceBody, "]"});
    static const std::string word = joined({"[", kWordBody, "]"}), notWord = joined({"[^", kWordBody, "]"});
    static const std::string hex = joined({"[", kHexBody, "]"}), notHex = joined({"[^", kHexBody, "]"});
    static const std::string boundary =
        joined({"(?:(?<=", word, ")(?!", word, ")|(?<!", word, ")(?=", word, "))"});
    static const std::string notBoundary =
        joined({"(?:(?<=", word, ")(?=", word, ")|(?<!", word, ")(?!", word, "))"});
    std::string out;
    out.reserve(p.size() + 16);
    bool inClass = false;
    const size_t n = p.size();
    for (size_t i = 0; i < n;) {
        const char c = p[i];
        if (c == '\\' && i + 1 < n) {
            const char d = p[i + 1];
            auto either = [&](std::string_view inside, std::string_view outside) {
                out += inClass ? inside : outside;
                i += 2;
            };
            switch (d) {
            case 's': either(kSpaceBody, space); continue;
            case 'S': either("\\S", notSpace); continue;
            case 'w': either(kWordBody, word); continue;
            case 'W': either("\\W", notWord); continue;
            case 'h': either(kHexBody, hex); continue;
            case 'H': either("\\H", notHex); continue;
            case 'b': either("\\b", boundary); continue;
            case 'B': either("\\B", notBoundary); continue;
            case 'u':
                if (i + 6 <= n && isHex(p[i + 2]) && isHex(p[i + 3]) && isHex(p[i + 4]) &&
                    isHex(p[i + 5])) {
                    out.append("\\x{").append(p.substr(i + 2, 4)).append("}");
                    i += 6;
                    continue;
                }
                break;
            case 'p':
            case 'P':
                if (i + 2 < n && p[i + 2] == '{') {
                    const size_t close = p.find('}', i + 3);
                    if (close != std::string_view::npos) {
                        std::string_view name = p.substr(i + 3, close - i - 3);
                        const bool negated = !name.empty() && name.front() == '^';
                        if (negated) name.remove_prefix(1);
                        if (isScriptName(name)) {
                            out += (d == 'P') != negated ? "\\P{sc:" : "\\p{sc:";
                            out += name;
                            out += '}';
                            i = close + 1;
                            continue;
                        }
                    }
                }
                break;
            default: break;
            }
            out += c;
            out += d;
            i += 2;
            continue;
        }
        if (inClass) {
            if (c == '[' && i + 1 < n && p[i + 1] == ':') {  // a POSIX bracket: copy it whole
                const size_t close = p.find(":]", i + 2);
                if (close != std::string_view::npos) {
                    out.append(p.substr(i, close + 2 - i));
                    i = close + 2;
                    continue;
                }
            }
            if (c == ']') inClass = false;
            out += c;
            ++i;
            continue;
        }
        if (c == '[') {
            inClass = true;
            out += c;
            ++i;
            if (i < n && p[i] == '^') out += p[i++];
            if (i < n && p[i] == ']') out += p[i++];  // a leading ] is a literal
            continue;
        }
        if (c == '(' && i + 2 < n && p[i + 1] == '?') {  // (?imx-imx) and (?imx-imx:...)
            size_t j = i + 2;
            while (j < n && (p[j] == 'i' || p[j] == 'm' || p[j] == 'x' || p[j] == '-')) ++j;
            if (j > i + 2 && j < n && (p[j] == ')' || p[j] == ':')) {
                out += "(?";
                for (size_t k = i + 2; k < j; ++k) out += p[k] == 'm' ? 's' : p[k];  // Ruby's m is dot-all
                i = j;
                continue;
            }
        }
        out += c;
        ++i;
    }
    return out;
}

size_t utf8Length(std::string_view text, size_t at) {
    const auto b = static_cast<unsigned char>(text[at]);
    const size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    if (at + len > text.size()) return 1;
    for (size_t k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(text[at + k]) & 0xC0) != 0x80) return 1;
    return len;
}

// Per-thread match memory: one ovector pair is all a split needs, and the JIT stack may grow to
// 8 MiB for lookarounds over long pieces.
struct MatchScratch {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    MatchScratch() { pcre2_jit_stack_assign(context, nullptr, stack); }
    ~MatchScratch() {
        pcre2_jit_stack_free(stack);
        pcre2_match_context_free(context);
        pcre2_match_data_free(data);
    }
    MatchScratch(const MatchScratch&) = delete;
    MatchScratch& operator=(const MatchScratch&) = delete;
};

}  // namespace

Result<SplitRegex> SplitRegex::compile(std::string_view pattern) {
    const std::string translated = toPcre2Syntax(pattern);
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = compileRaw(translated, error, offset);
    if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        std::string why = "the split regex '";
        why.append(pattern).append("' does not compile: ").append(reinterpret_cast<const char*>(message));
        if (translated == pattern) why.append(" (at byte ").append(std::to_string(offset)).append(")");
        return badInput(std::move(why));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT support the interpreter runs it
    SplitRegex regex;
    regex.code_ = code;
    regex.pattern_ = std::string(pattern);
    return regex;
}

SplitRegex::SplitRegex(SplitRegex&& other) noexcept : code_(other.code_), pattern_(std::move(other.pattern_)) {
    other.code_ = nullptr;
}

SplitRegex& SplitRegex::operator=(SplitRegex&& other) noexcept {
    if (this != &other) {
        pcre2_code_free(code_);
        code_ = other.code_;
        other.code_ = nullptr;
        pattern_ = std::move(other.pattern_);
    }
    return *this;
}

SplitRegex::~SplitRegex() { pcre2_code_free(code_); }

void SplitRegex::findMatches(std::string_view text, std::vector<std::pair<size_t, size_t>>& matches) const {
    thread_local MatchScratch scratch;
    const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    const size_t n = text.size();
    size_t from = 0;
    bool matchedBefore = false;
    size_t lastMatchEnd = 0;
    while (from <= n) {
        int rc = pcre2_match(code_, subject, n, from, 0, scratch.data, scratch.context);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(code_, subject, n, from, PCRE2_NO_JIT, scratch.data, scratch.context);
        // No match, or a match or heap limit on a pathological piece: the rest stays one piece.
        if (rc < 0) break;
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(scratch.data);
        const size_t begin = ovector[0], end = ovector[1];
        if (begin == end && matchedBefore && lastMatchEnd == end) {
            if (from >= n) break;
            from += utf8Length(text, from);
            continue;
        }
        matches.emplace_back(begin, end);
        from = end;
        matchedBefore = true;
        lastMatchEnd = end;
    }
}

}  // namespace strata
