#include "tokenizer/BpeModel.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "tokenizer/Unicode.h"

namespace strata {

namespace {
constexpr uint64_t kEmpty = ~uint64_t{0};

uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}
}  // namespace

void BpeModel::PairTable::reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    values_.assign(cap, Merge{0, 0});
    mask_ = cap - 1;
}

void BpeModel::PairTable::insert(int32_t a, int32_t b, Merge m) {
    const uint64_t k = key(a, b);
    for (uint64_t h = mix(k) & mask_;; h = (h + 1) & mask_) {
        if (keys_[h] == kEmpty || keys_[h] == k) {
            keys_[h] = k;
            values_[h] = m;  // a repeated merge keeps its last rank, as the reference does
            return;
        }
    }
}

const BpeModel::Merge* BpeModel::PairTable::find(int32_t a, int32_t b) const {
    if (keys_.empty()) return nullptr;
    const uint64_t k = key(a, b);
    for (uint64_t h = mix(k) & mask_;; h = (h + 1) & mask_) {
        if (keys_[h] == k) return &values_[h];
        if (keys_[h] == kEmpty) return nullptr;
    }
}

BpeModel::BpeModel(BpeModel&& o) noexcept
    : tokens_(std::move(o.tokens_)),
      vocab_(std::move(o.vocab_)),
      merges_(std::move(o.merges_)),
      options_(std::move(o.options_)),
      unkId_(o.unkId_),
      cache_(std::move(o.cache_)) {
    std::memcpy(byteIds_, o.byteIds_, sizeof byteIds_);
    std::memcpy(asciiIds_, o.asciiIds_, sizeof asciiIds_);
}

Result<BpeModel> BpeModel::create(std::vector<std::pair<std::string, int32_t>> vocab,
                                  const std::vector<std::pair<std::string, std::string>>& merges,
                                  BpeOptions options) {
    BpeModel m;
    int32_t maxId = -1;
    for (const auto& [tok, id] : vocab) {
        if (id < 0) return badInput("tokenizer.json: negative id in model.vocab for '" + tok + "'");
        maxId = std::max(maxId, id);
    }
    if (maxId > 50'000'000) return badInput("tokenizer.json: model.vocab ids are implausibly large");
    m.tokens_.resize(static_cast<size_t>(maxId + 1));
    for (auto& [tok, id] : vocab) m.tokens_[static_cast<size_t>(id)] = std::move(tok);
    m.vocab_.reserve(m.tokens_.size());
    for (size_t id = 0; id < m.tokens_.size(); ++id) {
        // An empty slot is either unused or the empty token; neither can be looked up usefully.
        if (!m.tokens_[id].empty()) m.vocab_.emplace(m.tokens_[id], static_cast<int32_t>(id));
    }
    m.merges_.reserve(merges.size());
    std::string joined;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [a, b] = merges[rank];
        auto ia = m.vocab_.find(a), ib = m.vocab_.find(b);
        joined.assign(a).append(b);
        auto ij = m.vocab_.find(joined);
        if (ia == m.vocab_.end() || ib == m.vocab_.end() || ij == m.vocab_.end())
            return badInput("tokenizer.json: merge '" + a + " " + b + "' uses tokens missing from model.vocab");
        m.merges_.insert(ia->second, ib->second, Merge{static_cast<int32_t>(rank), ij->second});
    }
    m.options_ = std::move(options);
    if (m.options_.unkToken) {
        auto it = m.vocab_.find(*m.options_.unkToken);
        if (it == m.vocab_.end())
            return badInput("tokenizer.json: model.unk_token '" + *m.options_.unkToken + "' is not in the vocabulary");
        m.unkId_ = it->second;
    }
    char name[8];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        auto it = m.vocab_.find(name);
        m.byteIds_[b] = it == m.vocab_.end() ? -1 : it->second;
    }
    for (int c = 0; c < 128; ++c) {
        const char ch = static_cast<char>(c);
        auto it = m.vocab_.find(std::string_view(&ch, 1));
        m.asciiIds_[c] = it == m.vocab_.end() ? -1 : it->second;
    }
    return m;
}

std::optional<int32_t> BpeModel::tokenToId(std::string_view token) const {
    auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* BpeModel::idToToken(int32_t id) const {
    if (id < 0 || id >= size()) return nullptr;
    const std::string& t = tokens_[static_cast<size_t>(id)];
    return t.empty() ? nullptr : &t;
}

void BpeModel::encodeWord(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (options_.ignoreMerges) {
        if (auto it = vocab_.find(word); it != vocab_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    const bool cacheable = word.size() <= kMaxCachedWordBytes;
    if (cacheable) {
        std::lock_guard lock(cacheMutex_);
        if (auto it = cache_.find(std::string(word)); it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t before = out.size();
    mergeWord(word, out);
    if (cacheable) {
        std::lock_guard lock(cacheMutex_);
        if (cache_.size() >= kCacheCapacity) cache_.clear();
        cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + static_cast<long>(before), out.end()));
    }
}

void BpeModel::mergeWord(std::string_view word, std::vector<int32_t>& out) const {
    struct Symbol {
        int32_t id;
        int32_t prev;
        int32_t next;
        bool alive;
    };
    thread_local std::vector<Symbol> symbols;
    symbols.clear();
    auto addSymbol = [&](int32_t id) {
        const auto n = static_cast<int32_t>(symbols.size());
        symbols.push_back({id, n - 1, n + 1, true});
    };

    int32_t pendingUnk = -1;  // an unknown run waiting to be emitted
    for (size_t i = 0; i < word.size();) {
        size_t len = 1;
        const auto c = static_cast<unsigned char>(word[i]);
        int32_t id = -1;
        if (c < 0x80) {
            id = asciiIds_[c];
        } else {
            unicode::decodeAt(word, i, len);
            if (auto it = vocab_.find(word.substr(i, len)); it != vocab_.end()) id = it->second;
        }
        if (id >= 0) {
            if (pendingUnk >= 0) {
                addSymbol(pendingUnk);
                pendingUnk = -1;
            }
            addSymbol(id);
        } else {
            bool fellBack = false;
            if (options_.byteFallback) {
                fellBack = true;
                for (size_t k = 0; k < len; ++k)
                    fellBack = fellBack && byteIds_[static_cast<unsigned char>(word[i + k])] >= 0;
                if (fellBack) {
                    // A pending unknown is not flushed here: the reference keeps it until the
                    // next in-vocabulary character, so byte tokens may precede it.
                    for (size_t k = 0; k < len; ++k)
                        addSymbol(byteIds_[static_cast<unsigned char>(word[i + k])]);
                }
            }
            if (!fellBack && unkId_) {
                if (pendingUnk < 0 || !options_.fuseUnk) {
                    if (pendingUnk >= 0) addSymbol(pendingUnk);
                    pendingUnk = *unkId_;
                }
            }
        }
        i += len;
    }
    if (pendingUnk >= 0) addSymbol(pendingUnk);
    if (symbols.empty()) return;
    symbols.back().next = -1;

    struct Candidate {
        int32_t rank;
        int32_t pos;
        int32_t newId;
    };
    // Lowest rank first, then leftmost: the order in which the reference applies merges.
    auto later = [](const Candidate& a, const Candidate& b) {
        return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    };
    thread_local std::vector<Candidate> heap;
    heap.clear();
    auto push = [&](Candidate c) {
        heap.push_back(c);
        std::push_heap(heap.begin(), heap.end(), later);
    };
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (const Merge* m = merges_.find(symbols[i].id, symbols[i + 1].id))
            heap.push_back({m->rank, static_cast<int32_t>(i), m->newId});
    }
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Candidate top = heap.back();
        heap.pop_back();
        Symbol& cur = symbols[static_cast<size_t>(top.pos)];
        if (!cur.alive || cur.next < 0) continue;
        Symbol& right = symbols[static_cast<size_t>(cur.next)];
        const Merge* m = merges_.find(cur.id, right.id);
        if (!m || m->newId != top.newId) continue;  // stale entry
        cur.id = top.newId;
        right.alive = false;
        cur.next = right.next;
        if (cur.next >= 0) symbols[static_cast<size_t>(cur.next)].prev = top.pos;
        if (cur.prev >= 0) {
            if (const Merge* pm = merges_.find(symbols[static_cast<size_t>(cur.prev)].id, cur.id))
                push({pm->rank, cur.prev, pm->newId});
        }
        if (cur.next >= 0) {
            if (const Merge* nm = merges_.find(cur.id, symbols[static_cast<size_t>(cur.next)].id))
                push({nm->rank, top.pos, nm->newId});
        }
    }
    for (const Symbol& s : symbols)
        if (s.alive) out.push_back(s.id);
}

}  // namespace strata
