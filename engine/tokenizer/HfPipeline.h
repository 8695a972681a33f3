#pragma once
// The normalizer, pre-tokenizer and decoder stages of a tokenizer.json, restricted to the
// component types that the supported model families use (pre-tokenizers: Split with any regex,
// Digits, Punctuation, ByteLevel, and Sequences of them). Unknown types are rejected at load
// time rather than silently ignored, because a skipped stage changes every token id.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/Result.h"
#include "tokenizer/SplitPattern.h"
#include "tokenizer/SplitRegex.h"
#include "tokenizer/Unicode.h"

namespace strata {

struct NormalizerStep {
    enum class Kind { Unicode, Replace, Prepend, Lowercase };
    Kind kind = Kind::Unicode;
    unicode::NormalForm form = unicode::NormalForm::NFC;
    std::string pattern;  // Replace: literal to find; Prepend: text to add
    std::string content;  // Replace: replacement
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct PreTokenizerStep {
    enum class Kind { Split, ByteLevel };
    Kind kind = Kind::Split;
    // Split: one of the hand-written scanners, else a compiled regex, else a literal.
    std::optional<SplitPattern> pattern;
    std::shared_ptr<const SplitRegex> regex;
    std::string literal;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;          // Split: the pieces between matches are the delimiters
    bool addPrefixSpace = false;  // ByteLevel
    bool useRegex = false;        // ByteLevel: also split with the GPT-2 pattern
};

// The words of a pre-tokenized text as byte ranges of one buffer, so that splitting a long
// document copies and allocates nothing per word.
struct PreTokenizedText {
    std::string buffer;
    std::vector<std::pair<size_t, size_t>> words;
    std::string_view word(size_t i) const {
        return std::string_view(buffer).substr(words[i].first, words[i].second - words[i].first);
    }
};

struct DecoderStep {
    enum class Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip };
    Kind kind = Kind::ByteLevel;
    std::string pattern, content;  // Replace
    std::string stripChar;         // Strip: one character, UTF-8
    size_t start = 0, stop = 0;    // Strip
};

Result<std::vector<NormalizerStep>> parseNormalizer(const nlohmann::json& j);
Result<std::vector<PreTokenizerStep>> parsePreTokenizer(const nlohmann::json& j);
Result<std::vector<DecoderStep>> parseDecoder(const nlohmann::json& j);

std::string applyNormalizers(const std::vector<NormalizerStep>& steps, std::string_view text);
// Splits normalized text into the words the model encodes. Byte-level words come back mapped to
// the printable characters of the GPT-2 byte alphabet, as the vocabulary spells them.
void preTokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text, PreTokenizedText& out);
std::string runDecoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens);

// GPT-2's reversible byte <-> printable character table.
const std::string& byteLevelChar(unsigned char byte);

}  // namespace strata
