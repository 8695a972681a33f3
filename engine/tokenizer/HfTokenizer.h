#pragma once
// A tokenizer.json tokenizer: added tokens, normalizer, pre-tokenizer, BPE model,
// post-processor and decoder, each behaving as the Hugging Face tokenizers library does.
#include <memory>
#include <unordered_map>

#include "tokenizer/AddedTokenMatcher.h"
#include "tokenizer/BpeModel.h"
#include "tokenizer/HfPipeline.h"
#include "tokenizer/Tokenizer.h"
#include "tokenizer/TokenizerJsonReader.h"

namespace strata {

class HfTokenizer final : public Tokenizer {
public:
    static Result<std::unique_ptr<HfTokenizer>> fromJson(TokenizerJson json, const std::string& nameForErrors);

    std::vector<int32_t> encode(std::string_view text, bool addBos) const override;
    std::string decode(std::span<const int32_t> ids, bool skipSpecial = false) const override;
    int32_t vocabSize() const override { return vocabSize_; }
    std::optional<int32_t> tokenId(std::string_view tokenText) const override;
    bool isSpecial(int32_t id) const override;
    int32_t bosId() const override { return bosId_; }
    std::vector<int32_t> eosIds() const override { return eosIds_; }
    bool isBytePiece(int32_t id) const override;
    bool addsBosByDefault() const override { return !prefixIds_.empty(); }

    void setBos(int32_t id) { bosId_ = id; }
    void setEos(std::vector<int32_t> ids) { eosIds_ = std::move(ids); }

private:
    HfTokenizer() = default;
    Status loadAddedTokens(const nlohmann::json& list);
    Status loadPostProcessor(const nlohmann::json& j);
    void encodeText(std::string_view normalized, std::vector<int32_t>& out) const;
    std::string tokenText(int32_t id) const;

    std::unique_ptr<BpeModel> model_;
    std::unordered_map<int32_t, AddedToken> added_;
    std::unordered_map<std::string, int32_t> addedIds_;
    AddedTokenMatcher rawMatcher_;         // tokens matched before normalization
    AddedTokenMatcher normalizedMatcher_;  // tokens matched in normalized text
    std::vector<NormalizerStep> normalizers_;
    std::vector<PreTokenizerStep> preTokenizers_;
    std::vector<DecoderStep> decoders_;
    std::vector<int32_t> prefixIds_, suffixIds_;  // what the post-processor adds around the text
    std::vector<bool> bytePiece_;
    int32_t vocabSize_ = 0;
    int32_t bosId_ = -1;
    std::vector<int32_t> eosIds_;
};

}  // namespace strata
