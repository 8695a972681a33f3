#pragma once
// UTF-8 and Unicode-property helpers shared by the tokenizers. Categories come from utf8proc so
// that the hand-written pre-tokenizer patterns classify characters the way \p{L}, \p{N} and \s do.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace strata::unicode {

// Decodes one code point at s[i]. Invalid bytes decode as themselves (len 1, code point -1) so
// that callers never loop forever on malformed input.
int32_t decodeAt(std::string_view s, size_t i, size_t& len);
void appendUtf8(std::string& out, uint32_t cp);

bool isLetter(int32_t cp);       // \p{L}
bool isNumber(int32_t cp);       // \p{N}
bool isRegexSpace(int32_t cp);   // \s as the Oniguruma and Rust regex engines define it
bool isPythonSpace(int32_t cp);  // str.isspace(), used by Jinja's trim filter
bool isWordChar(int32_t cp);     // \w: letters, marks, numbers, connector punctuation

enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::string normalize(std::string_view s, NormalForm form);

// Appends bytes as text, replacing each maximal invalid subsequence by U+FFFD the way Rust's
// String::from_utf8_lossy does (the Hugging Face byte-level decoder relies on it).
void appendLossy(std::string& out, std::string_view bytes);
bool isValidUtf8(std::string_view bytes);

// Length of the longest prefix of s that ends on a complete UTF-8 sequence.
size_t completePrefixLength(std::string_view s);

}  // namespace strata::unicode
