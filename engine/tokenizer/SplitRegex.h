#pragma once
// A pre-tokenizer split regex as tokenizer.json files write them, run with PCRE2.
//
// Hugging Face `tokenizers` runs these patterns with Oniguruma (Ruby syntax). PCRE2 agrees with it
// on the constructs tokenizer files use (\p{..} classes, (?i:..), lookaround, possessive and
// atomic forms) except where the pattern is rewritten on compiling:
//   \s        Oniguruma's set (White_Space); PCRE2 also counts U+180E.
//   \w \W \b  Oniguruma's word characters (Alphabetic, marks, Nd, Pc and ² ³ ¹ ¼ ½ ¾); PCRE2's
//             \w is letters, numbers and underscore.
//   \p{Han}   a script name means the Script property; PCRE2 would use Script_Extensions.
//   \h \H     hexadecimal digits (Ruby), not horizontal space.
//   \uHHHH    a code point.
//   ^ $       at line starts and ends, as in Ruby (PCRE2_MULTILINE), and (?m) is Ruby's dot-all.
// Left as they are: Oniguruma's multi-character case folds ((?i:ss) matching ß), and characters
// that PCRE2's Unicode tables do not know yet (they belong to no class).
//
// Compiled once (JIT where the platform has it) and shared read-only between threads; matching
// keeps its scratch memory per thread, so matching allocates nothing once warm.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/Result.h"

struct pcre2_real_code_8;

namespace strata {

class SplitRegex {
public:
    // pattern is in the tokenizers library's syntax; the error names it and what is wrong.
    static Result<SplitRegex> compile(std::string_view pattern);

    SplitRegex(SplitRegex&& other) noexcept;
    SplitRegex& operator=(SplitRegex&& other) noexcept;
    SplitRegex(const SplitRegex&) = delete;
    SplitRegex& operator=(const SplitRegex&) = delete;
    ~SplitRegex();

    const std::string& pattern() const { return pattern_; }

    // Appends the byte ranges [begin, end) of the successive matches in text, found as the
    // tokenizers library finds them: leftmost first, then from the end of the last match; an
    // empty match is kept unless it sits where the previous match ended. Invalid UTF-8 bytes
    // never match.
    void findMatches(std::string_view text, std::vector<std::pair<size_t, size_t>>& matches) const;

private:
    SplitRegex() = default;
    pcre2_real_code_8* code_ = nullptr;
    std::string pattern_;
};

}  // namespace strata
