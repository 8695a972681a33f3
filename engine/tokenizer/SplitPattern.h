#pragma once
// The GPT-style pre-tokenizer split patterns found in tokenizer.json files, matched by hand.
// std::regex has no \p{L}/\p{N}, and a general regex engine would be slower than this scanner
// for patterns whose alternatives only ever look one or two characters ahead.
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace strata {

enum class SplitPattern {
    Gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    Llama3,  // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Qwen2,   // as Llama3 with \p{N} taken one digit at a time
};

// Recognises a pattern string from tokenizer.json; nullopt for patterns we do not implement.
std::optional<SplitPattern> recogniseSplitPattern(std::string_view regex);
// The tokenizer.json regex of a pattern.
std::string_view splitPatternRegex(SplitPattern pattern);

// Byte ranges [begin, end) of the successive matches in text (they cover it entirely).
void findPatternMatches(std::string_view text, SplitPattern pattern,
                        std::vector<std::pair<size_t, size_t>>& matches);

}  // namespace strata
