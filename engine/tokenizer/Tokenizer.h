#pragma once
// Text <-> token ids. Implementations: tokenizer.json BPE (byte-level as in Llama 3 and Qwen3,
// SentencePiece-style with byte fallback as in Gemma 3) and SentencePiece .model files.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace strata {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Encodes text. Special and added tokens written literally in the text (for example
    // "<|eot_id|>") become their ids. addBos prepends the BOS token the tokenizer's
    // post-processor would add (as HF tokenizers do with add_special_tokens=True).
    virtual std::vector<int32_t> encode(std::string_view text, bool addBos) const = 0;
    virtual std::string decode(std::span<const int32_t> ids, bool skipSpecial = false) const = 0;

    virtual int32_t vocabSize() const = 0;
    virtual std::optional<int32_t> tokenId(std::string_view tokenText) const = 0;
    virtual bool isSpecial(int32_t id) const = 0;
    virtual int32_t bosId() const = 0;  // -1 when none
    virtual std::vector<int32_t> eosIds() const = 0;
};

// Loads tokenizer.json from the folder, else tokenizer.model (SentencePiece).
// Reads tokenizer_config.json beside it for bos/eos and added tokens when present.
Result<std::unique_ptr<Tokenizer>> loadTokenizer(const std::filesystem::path& modelDir);

// Turns a stream of ids into text pieces without splitting UTF-8 sequences or
// SentencePiece spaces: push() returns the text that became final with this id.
class StreamingDecoder {
public:
    explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
    std::string push(int32_t id);
    std::string flush();

private:
    const Tokenizer& tokenizer_;
    std::vector<int32_t> ids_;
    size_t emittedBytes_ = 0;
};

}  // namespace strata
