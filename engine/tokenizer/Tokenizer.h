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

    // True for raw-byte pieces (<0xNN>, SentencePiece byte pieces) whose text depends on the
    // pieces around them; StreamingDecoder holds them back until a run of them ends.
    virtual bool isBytePiece(int32_t id) const { return false; }
    // Whether encode(text, true) adds anything (Qwen3's tokenizer.json adds no BOS). Chat
    // templates already write the BOS, so rendered chats are encoded with addBos = false.
    virtual bool addsBosByDefault() const { return bosId() >= 0; }

    // Whether the model ships a chat template (tokenizer_config.json's chat_template, a
    // chat_template.jinja file, or GGUF's tokenizer.chat_template). Base models have none and
    // answer best to plain text.
    bool declaresChatTemplate() const { return declaresChatTemplate_; }
    void setDeclaresChatTemplate(bool declares) { declaresChatTemplate_ = declares; }

private:
    bool declaresChatTemplate_ = false;
};

// Loads the vocabulary of a GGUF file, or from a folder tokenizer.json, else tekken.json
// (Mistral's Tekken, as Voxtral ships it), else tokenizer.model (SentencePiece).
// Reads tokenizer_config.json beside it for bos/eos and added tokens when present, and
// generation_config.json for additional end-of-sequence ids.
Result<std::unique_ptr<Tokenizer>> loadTokenizer(const std::filesystem::path& modelDir);

// Turns a stream of ids into text pieces without splitting UTF-8 sequences or
// SentencePiece spaces: push() returns the text that became final with this id. The
// concatenation of everything returned (flush() included) equals decode() of all ids.
class StreamingDecoder {
public:
    explicit StreamingDecoder(const Tokenizer& tokenizer, bool skipSpecial = false)
        : tokenizer_(tokenizer), skipSpecial_(skipSpecial) {}
    std::string push(int32_t id);
    std::string flush();

private:
    const Tokenizer& tokenizer_;
    bool skipSpecial_ = false;
    std::vector<int32_t> ids_;  // a window of recent ids; earlier text is final
    size_t emittedBytes_ = 0;   // bytes of decode(ids_) already returned
};

}  // namespace strata
