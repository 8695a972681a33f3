#pragma once
// The BPE model of a tokenizer.json: vocabulary, ranked merges and the merge loop, with the
// options the Hugging Face implementation offers (ignore_merges, byte_fallback, unk fusing).
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/Result.h"

namespace strata {

struct BpeOptions {
    bool ignoreMerges = false;  // look the whole word up in the vocabulary before merging
    bool byteFallback = false;  // unknown characters become <0xNN> byte tokens
    bool fuseUnk = false;
    std::optional<std::string> unkToken;
};

class BpeModel {
public:
    // vocab: (token, id) pairs; merges: pairs of token strings in rank order.
    static Result<BpeModel> create(std::vector<std::pair<std::string, int32_t>> vocab,
                                   const std::vector<std::pair<std::string, std::string>>& merges,
                                   BpeOptions options);

    BpeModel(BpeModel&& other) noexcept;
    BpeModel& operator=(BpeModel&&) = delete;
    BpeModel(const BpeModel&) = delete;

    // Appends the ids of one pre-tokenized word.
    void encodeWord(std::string_view word, std::vector<int32_t>& out) const;

    std::optional<int32_t> tokenToId(std::string_view token) const;
    const std::string* idToToken(int32_t id) const;  // nullptr when the id has no token
    int32_t size() const { return static_cast<int32_t>(tokens_.size()); }

private:
    BpeModel() = default;

    struct Merge {
        int32_t rank;
        int32_t newId;
    };
    // Open-addressing table from an id pair to its merge: the merge loop probes it for every
    // adjacent pair, so it must be cheaper than std::unordered_map.
    class PairTable {
    public:
        void reserve(size_t n);
        void insert(int32_t a, int32_t b, Merge m);
        const Merge* find(int32_t a, int32_t b) const;

    private:
        static uint64_t key(int32_t a, int32_t b) {
            return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
        }
        std::vector<uint64_t> keys_;
        std::vector<Merge> values_;
        uint64_t mask_ = 0;
    };

    void mergeWord(std::string_view word, std::vector<int32_t>& out) const;

    std::vector<std::string> tokens_;  // by id; empty where an id is unused
    std::unordered_map<std::string_view, int32_t> vocab_;  // views into tokens_
    PairTable merges_;
    BpeOptions options_;
    std::optional<int32_t> unkId_;
    int32_t byteIds_[256];   // <0xNN> tokens for byte fallback, -1 when absent
    int32_t asciiIds_[128];  // single ASCII characters, -1 when absent

    static constexpr size_t kCacheCapacity = 65536;
    static constexpr size_t kMaxCachedWordBytes = 256;
    mutable std::mutex cacheMutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace strata
