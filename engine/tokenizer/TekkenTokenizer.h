#pragma once
// Mistral's Tekken tokenizer (tekken.json, used by Mistral NeMo, Pixtral and Voxtral): byte-level
// BPE in the tiktoken style, where a piece of text is merged by the ranks of byte strings rather
// than by a list of merges. The file lists the byte strings by rank; their ids come after the
// special tokens (<unk>, <s>, </s>, [INST], [AUDIO] ...), which occupy the first ids. As in
// mistral-common, text never encodes to a special token, even when it spells one out.
// Character classes come from utf8proc (Unicode 15); characters assigned in later Unicode versions
// may split differently from tiktoken's newer tables.
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/Tokenizer.h"

namespace strata {

class TekkenTokenizer final : public Tokenizer {
public:
    static Result<std::unique_ptr<TekkenTokenizer>> load(const std::filesystem::path& file);

    std::vector<int32_t> encode(std::string_view text, bool addBos) const override;
    // With skipSpecial false, special ids decode to their names (mistral-common's KEEP policy);
    // with it true they decode to nothing (its default IGNORE policy).
    std::string decode(std::span<const int32_t> ids, bool skipSpecial = false) const override;
    int32_t vocabSize() const override { return numSpecial_ + static_cast<int32_t>(tokens_.size()); }
    // A special token's name, or the exact bytes of a vocabulary entry.
    std::optional<int32_t> tokenId(std::string_view tokenText) const override;
    bool isSpecial(int32_t id) const override { return id >= 0 && id < numSpecial_; }
    int32_t bosId() const override { return bosId_; }
    std::vector<int32_t> eosIds() const override;

    int32_t numSpecialTokens() const { return numSpecial_; }
    // The bytes of a vocabulary id, or a special token's name; empty for ids out of range.
    std::string tokenBytes(int32_t id) const;

private:
    TekkenTokenizer() = default;

    // Appends the ids of one pre-tokenized piece (ids before the special-token offset).
    void encodePiece(std::string_view piece, std::vector<int32_t>& out) const;
    void mergeBytes(std::string_view piece, std::vector<int32_t>& out) const;
    void mergeLongBytes(std::string_view piece, std::vector<int32_t>& out) const;
    int32_t rankOf(std::string_view bytes) const;

    std::vector<std::string> tokens_;  // vocabulary bytes by rank
    std::unordered_map<std::string_view, int32_t> ranks_;  // views into tokens_
    std::vector<std::string> specialNames_;  // by id
    std::unordered_map<std::string, int32_t> specialIds_;
    int32_t numSpecial_ = 0;
    int32_t bosId_ = -1;
    int32_t eosId_ = -1;

    static constexpr size_t kLinearMergeLimit = 128;  // longer pieces merge through a heap
    static constexpr size_t kCacheCapacity = 65536;
    static constexpr size_t kMaxCachedPieceBytes = 256;
    mutable std::mutex cacheMutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace strata
