#pragma once
// A SentencePiece .model tokenizer through libsentencepiece. Control pieces, the unknown piece
// and tokenizer_config.json's added tokens written literally in text become their ids; the text
// between them is encoded by SentencePiece piece by piece.
#include <memory>
#include <unordered_map>

#include "tokenizer/AddedTokenMatcher.h"
#include "tokenizer/Tokenizer.h"
#include "tokenizer/TokenizerConfig.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace strata {

class SentencePieceTokenizer final : public Tokenizer {
public:
    static Result<std::unique_ptr<SentencePieceTokenizer>> load(const std::filesystem::path& file,
                                                                const TokenizerConfig& config);
    ~SentencePieceTokenizer() override;

    std::vector<int32_t> encode(std::string_view text, bool addBos) const override;
    std::string decode(std::span<const int32_t> ids, bool skipSpecial = false) const override;
    int32_t vocabSize() const override { return vocabSize_; }
    std::optional<int32_t> tokenId(std::string_view tokenText) const override;
    bool isSpecial(int32_t id) const override;
    int32_t bosId() const override { return bosId_; }
    std::vector<int32_t> eosIds() const override { return eosIds_; }
    bool isBytePiece(int32_t id) const override;
    bool addsBosByDefault() const override { return addBos_ && bosId_ >= 0; }

private:
    SentencePieceTokenizer();

    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
    AddedTokenMatcher matcher_;
    std::unordered_map<int32_t, AddedToken> specials_;  // split out of text, rendered verbatim
    std::unordered_map<std::string, int32_t> specialIds_;
    int32_t pieceCount_ = 0;
    int32_t vocabSize_ = 0;
    int32_t bosId_ = -1;
    int32_t eosId_ = -1;
    bool addBos_ = true;
    bool addEos_ = false;
    std::vector<int32_t> eosIds_;
};

}  // namespace strata
