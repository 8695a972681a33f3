#include "tokenizer/TekkenTokenizer.h"

#include <utf8proc.h>

#include <array>
#include <fstream>
#include <limits>
#include <queue>
#include <nlohmann/json.hpp>

#include "tokenizer/Unicode.h"

namespace strata {

namespace {

using nlohmann::json;

// The only pre-tokenizer pattern Tekken files have used so far; scanPieces() below implements
// exactly this regex, so a file with another one is refused rather than tokenized differently.
constexpr std::string_view kTekkenPattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Files without a special_tokens list (format versions up to v7) use these for ids 0..19.
constexpr std::array<std::string_view, 20> kLegacySpecialTokens = {
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]",
    "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
    "[TOOL_CONTENT]"};

// Character classes of the pattern, one bit each.
enum : uint8_t {
    kUpperish = 1,   // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    kLowerish = 2,   // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    kNumber = 4,     // \p{N}
    kSpace = 8,      // \s
    kLineBreak = 16, // [\r\n]
    kPrefix = 32,    // [^\r\n\p{L}\p{N}]
    kSymbol = 64,    // [^\s\p{L}\p{N}]
};

struct Char {
    size_t begin;
    size_t end;
    uint8_t cls;
    bool space;   // exactly U+0020
    bool slash;   // '/' (ends a symbol run's trailing [\r\n/]*)
};

uint8_t classify(int32_t cp) {
    if (cp < 0) return kPrefix | kSymbol;  // an invalid byte is matched as an "other" character
    uint8_t cls = 0;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') return kUpperish;
        if (cp >= 'a' && cp <= 'z') return kLowerish;
        if (cp >= '0' && cp <= '9') return kNumber;
    } else {
        switch (utf8proc_category(cp)) {
            case UTF8PROC_CATEGORY_LU:
            case UTF8PROC_CATEGORY_LT: return kUpperish;
            case UTF8PROC_CATEGORY_LL: return kLowerish;
            case UTF8PROC_CATEGORY_LM:
            case UTF8PROC_CATEGORY_LO: return kUpperish | kLowerish;
            // Marks are not \p{L}, so they also fit the optional leading character and symbols.
            case UTF8PROC_CATEGORY_MN:
            case UTF8PROC_CATEGORY_MC:
            case UTF8PROC_CATEGORY_ME: cls = kUpperish | kLowerish; break;
            case UTF8PROC_CATEGORY_ND:
            case UTF8PROC_CATEGORY_NL:
            case UTF8PROC_CATEGORY_NO: return kNumber;
            default: break;
        }
    }
    const bool lineBreak = cp == '\r' || cp == '\n';
    if (lineBreak) cls |= kLineBreak;
    else cls |= kPrefix;
    if (unicode::isRegexSpace(cp)) cls |= kSpace;
    else cls |= kSymbol;
    return cls;
}

// Splits text as the Tekken regex does under leftmost-first (backtracking) semantics. Each
// alternative is resolved by reasoning about what backtracking would settle on, so the scan is
// linear apart from the backward look inside a run of [\p{Lu}...] characters.
class PieceScanner {
public:
    explicit PieceScanner(std::string_view text) {
        for (size_t i = 0; i < text.size();) {
            size_t len = 0;
            const int32_t cp = unicode::decodeAt(text, i, len);
            chars_.push_back({i, i + len, classify(cp), cp == ' ', cp == '/'});
            i += len;
        }
    }

    template <typename Emit>
    void run(Emit&& emit) const {
        const size_t n = chars_.size();
        size_t i = 0;
        while (i < n) {
            const size_t end = matchAt(i);
            emit(chars_[i].begin, chars_[end - 1].end);
            i = end;
        }
    }

private:
    bool has(size_t i, uint8_t cls) const { return i < chars_.size() && (chars_[i].cls & cls) != 0; }

    // [Upperish]*[Lowerish]+ from i; returns the end, or 0 when it cannot match.
    size_t upperThenLower(size_t i) const {
        size_t k = i;
        size_t lastLowerish = std::numeric_limits<size_t>::max();
        while (has(k, kUpperish)) {
            if (chars_[k].cls & kLowerish) lastLowerish = k;
            ++k;
        }
        if (has(k, kLowerish)) {
            while (has(k, kLowerish)) ++k;
            return k;
        }
        // Backtracking gives characters back to [Lowerish]+; the last one that fits it ends the match.
        return lastLowerish == std::numeric_limits<size_t>::max() ? 0 : lastLowerish + 1;
    }

    // [Upperish]+[Lowerish]* from i; 0 when it cannot match.
    size_t upperRun(size_t i) const {
        if (!has(i, kUpperish)) return 0;
        size_t k = i;
        while (has(k, kUpperish)) ++k;
        while (has(k, kLowerish)) ++k;
        return k;
    }

    size_t matchAt(size_t i) const {
        const size_t n = chars_.size();
        // [^\r\n\p{L}\p{N}]?[Upperish]*[Lowerish]+ and then the same with [Upperish]+[Lowerish]*.
        if (has(i, kPrefix))
            if (size_t e = upperThenLower(i + 1)) return e;
        if (size_t e = upperThenLower(i)) return e;
        if (has(i, kPrefix))
            if (size_t e = upperRun(i + 1)) return e;
        if (size_t e = upperRun(i)) return e;
        // \p{N}
        if (has(i, kNumber)) return i + 1;
        // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
        {
            size_t k = i;
            if (chars_[k].space && has(k + 1, kSymbol)) ++k;
            if (has(k, kSymbol)) {
                while (has(k, kSymbol)) ++k;
                while (k < n && ((chars_[k].cls & kLineBreak) || chars_[k].slash)) ++k;
                return k;
            }
        }
        // Whitespace: \s*[\r\n]+ ends after the run's last line break; \s+(?!\S) leaves the run's
        // last character for the word after it; \s+ takes a lone space before a word.
        size_t k = i;
        size_t lastBreak = std::numeric_limits<size_t>::max();
        while (has(k, kSpace)) {
            if (chars_[k].cls & kLineBreak) lastBreak = k;
            ++k;
        }
        if (k == i) return i + 1;  // cannot happen: every character fits some alternative
        if (lastBreak != std::numeric_limits<size_t>::max()) return lastBreak + 1;
        if (k == n || k - i == 1) return k;
        return k - 1;
    }

    std::vector<Char> chars_;
};

int base64Value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool decodeBase64(std::string_view in, std::string& out) {
    out.clear();
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < in.size() && in[i] != '='; ++i) {
        const int v = base64Value(in[i]);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    for (; i < in.size(); ++i)
        if (in[i] != '=') return false;
    return true;
}

}  // namespace

Result<std::unique_ptr<TekkenTokenizer>> TekkenTokenizer::load(const std::filesystem::path& file) {
    const std::string name = file.string();
    auto fail = [&](const std::string& why) -> Error { return badInput(name + ": " + why); };
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("cannot open the Tekken tokenizer file");
    json doc;
    try {
        doc = json::parse(in);
    } catch (const json::exception& e) {
        return fail(std::string("not a valid Tekken tokenizer file (") + e.what() + ")");
    }
    if (!doc.is_object()) return fail("not a Tekken tokenizer file (expected a JSON object)");
    const auto config = doc.find("config");
    const auto vocab = doc.find("vocab");
    if (config == doc.end() || !config->is_object()) return fail("no \"config\" object");
    if (vocab == doc.end() || !vocab->is_array()) return fail("no \"vocab\" list");

    auto intField = [&](const char* key, int64_t& out) -> bool {
        const auto it = config->find(key);
        if (it == config->end() || !it->is_number_integer()) return false;
        out = it->get<int64_t>();
        return true;
    };
    int64_t vocabSize = 0, numSpecial = 0;
    if (!intField("default_vocab_size", vocabSize) || !intField("default_num_special_tokens", numSpecial))
        return fail("config lacks default_vocab_size or default_num_special_tokens");
    const auto pattern = config->find("pattern");
    if (pattern == config->end() || !pattern->is_string()) return fail("config lacks the pattern");
    if (pattern->get_ref<const std::string&>() != kTekkenPattern)
        return fail("unsupported pre-tokenizer pattern " + pattern->get<std::string>());
    if (numSpecial < 3 || numSpecial > vocabSize || vocabSize > (int64_t{1} << 30))
        return fail("implausible vocabulary size " + std::to_string(vocabSize) + " with " +
                    std::to_string(numSpecial) + " special tokens");
    const int64_t inner = vocabSize - numSpecial;
    if (static_cast<int64_t>(vocab->size()) < inner)
        return fail("vocab has " + std::to_string(vocab->size()) + " entries, fewer than the " +
                    std::to_string(inner) + " that default_vocab_size asks for");

    std::unique_ptr<TekkenTokenizer> tok(new TekkenTokenizer());
    tok->numSpecial_ = static_cast<int32_t>(numSpecial);
    // Entries past default_vocab_size - specials are not part of the model (mistral-common cuts them too).
    tok->tokens_.resize(static_cast<size_t>(inner));
    std::string bytes;
    for (int64_t r = 0; r < inner; ++r) {
        const json& entry = (*vocab)[static_cast<size_t>(r)];
        if (!entry.is_object()) return fail("vocab entry " + std::to_string(r) + " is not an object");
        const auto rank = entry.find("rank");
        const auto b64 = entry.find("token_bytes");
        if (rank == entry.end() || !rank->is_number_integer() || rank->get<int64_t>() != r)
            return fail("vocab entry " + std::to_string(r) + " does not have rank " + std::to_string(r));
        if (b64 == entry.end() || !b64->is_string() || !decodeBase64(b64->get_ref<const std::string&>(), bytes) ||
            bytes.empty())
            return fail("vocab entry " + std::to_string(r) + " has no valid base64 token_bytes");
        if (r < 256 && (bytes.size() != 1 || static_cast<unsigned char>(bytes[0]) != r))
            return fail("vocab entry " + std::to_string(r) + " must be the single byte " + std::to_string(r));
        tok->tokens_[static_cast<size_t>(r)] = bytes;
    }
    tok->ranks_.reserve(tok->tokens_.size());
    for (size_t r = 0; r < tok->tokens_.size(); ++r)
        if (!tok->ranks_.emplace(tok->tokens_[r], static_cast<int32_t>(r)).second)
            return fail("vocab entry " + std::to_string(r) + " repeats the bytes of an earlier entry");

    tok->specialNames_.resize(static_cast<size_t>(numSpecial));
    const auto specials = doc.find("special_tokens");
    if (specials != doc.end() && !specials->is_null()) {
        if (!specials->is_array()) return fail("special_tokens is not a list");
        for (const json& s : *specials) {
            const auto rank = s.is_object() ? s.find("rank") : s.end();
            const auto text = s.is_object() ? s.find("token_str") : s.end();
            if (!s.is_object() || rank == s.end() || !rank->is_number_integer() || text == s.end() || !text->is_string())
                return fail("a special_tokens entry lacks rank or token_str");
            const int64_t id = rank->get<int64_t>();
            if (id < 0 || id >= numSpecial || !tok->specialNames_[static_cast<size_t>(id)].empty())
                return fail("special token rank " + std::to_string(id) + " is out of range or repeated");
            tok->specialNames_[static_cast<size_t>(id)] = text->get<std::string>();
        }
    } else {
        for (size_t id = 0; id < kLegacySpecialTokens.size() && id < tok->specialNames_.size(); ++id)
            tok->specialNames_[id] = std::string(kLegacySpecialTokens[id]);
    }
    for (size_t id = 0; id < tok->specialNames_.size(); ++id) {
        if (tok->specialNames_[id].empty()) tok->specialNames_[id] = "<SPECIAL_" + std::to_string(id) + ">";
        if (!tok->specialIds_.emplace(tok->specialNames_[id], static_cast<int32_t>(id)).second)
            return fail("special token " + tok->specialNames_[id] + " appears twice");
    }
    if (auto it = tok->specialIds_.find("<s>"); it != tok->specialIds_.end()) tok->bosId_ = it->second;
    if (auto it = tok->specialIds_.find("</s>"); it != tok->specialIds_.end()) tok->eosId_ = it->second;
    return tok;
}

std::vector<int32_t> TekkenTokenizer::eosIds() const {
    if (eosId_ < 0) return {};
    return {eosId_};
}

int32_t TekkenTokenizer::rankOf(std::string_view bytes) const {
    const auto it = ranks_.find(bytes);
    return it == ranks_.end() ? std::numeric_limits<int32_t>::max() : it->second;
}

std::vector<int32_t> TekkenTokenizer::encode(std::string_view text, bool addBos) const {
    std::vector<int32_t> ids;
    if (addBos && bosId_ >= 0) ids.push_back(bosId_);
    const size_t first = ids.size();
    PieceScanner(text).run([&](size_t begin, size_t end) { encodePiece(text.substr(begin, end - begin), ids); });
    for (size_t i = first; i < ids.size(); ++i) ids[i] += numSpecial_;
    return ids;
}

void TekkenTokenizer::encodePiece(std::string_view piece, std::vector<int32_t>& out) const {
    if (const auto it = ranks_.find(piece); it != ranks_.end()) {
        out.push_back(it->second);
        return;
    }
    const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
    if (cacheable) {
        std::lock_guard lock(cacheMutex_);
        if (const auto it = cache_.find(std::string(piece)); it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t start = out.size();
    mergeBytes(piece, out);
    if (cacheable) {
        std::lock_guard lock(cacheMutex_);
        if (cache_.size() >= kCacheCapacity) cache_.clear();
        cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + static_cast<long>(start), out.end()));
    }
}

void TekkenTokenizer::mergeBytes(std::string_view piece, std::vector<int32_t>& out) const {
    if (piece.size() > kLinearMergeLimit) {
        mergeLongBytes(piece, out);
        return;
    }
    // Parts start as single bytes. Each round joins the adjacent pair whose joined bytes have the
    // lowest rank (the leftmost on ties), until no joined pair is in the vocabulary; only the two
    // pair ranks beside a join change, so they are the only ones looked up again.
    constexpr int32_t kNone = std::numeric_limits<int32_t>::max();
    struct Part {
        size_t begin;
        int32_t pairRank;  // rank of this part joined with the next one
    };
    std::vector<Part> parts;
    parts.reserve(piece.size() + 1);
    for (size_t i = 0; i <= piece.size(); ++i) parts.push_back({i, kNone});
    auto pairRank = [&](size_t i) -> int32_t {
        if (i + 2 >= parts.size()) return kNone;
        return rankOf(piece.substr(parts[i].begin, parts[i + 2].begin - parts[i].begin));
    };
    for (size_t i = 0; i + 2 < parts.size(); ++i) parts[i].pairRank = pairRank(i);
    while (parts.size() > 2) {
        size_t best = 0;
        int32_t bestRank = kNone;
        for (size_t i = 0; i + 2 < parts.size(); ++i)
            if (parts[i].pairRank < bestRank) {
                bestRank = parts[i].pairRank;
                best = i;
            }
        if (bestRank == kNone) break;
        parts.erase(parts.begin() + static_cast<long>(best) + 1);
        parts[best].pairRank = pairRank(best);
        if (best > 0) parts[best - 1].pairRank = pairRank(best - 1);
    }
    for (size_t i = 0; i + 1 < parts.size(); ++i)
        out.push_back(rankOf(piece.substr(parts[i].begin, parts[i + 1].begin - parts[i].begin)));
}

void TekkenTokenizer::mergeLongBytes(std::string_view piece, std::vector<int32_t>& out) const {
    // The same merge order as mergeBytes (lowest rank, then leftmost), kept in a heap so that a
    // long piece costs n log n instead of n^2. A heap entry names the span it was ranked for and
    // is dropped when a neighbouring join has changed that span.
    constexpr size_t kEnd = std::numeric_limits<size_t>::max();
    const size_t n = piece.size();
    std::vector<size_t> next(n), prev(n);
    std::vector<bool> alive(n, true);
    for (size_t i = 0; i < n; ++i) {
        next[i] = i + 1 < n ? i + 1 : kEnd;
        prev[i] = i > 0 ? i - 1 : kEnd;
    }
    auto partEnd = [&](size_t i) { return next[i] == kEnd ? n : next[i]; };
    struct Candidate {
        int32_t rank;
        size_t begin;
        size_t end;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : begin > o.begin; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto offer = [&](size_t i) {
        if (i == kEnd || next[i] == kEnd) return;
        const size_t end = partEnd(next[i]);
        const int32_t rank = rankOf(piece.substr(i, end - i));
        if (rank != std::numeric_limits<int32_t>::max()) heap.push({rank, i, end});
    };
    for (size_t i = 0; i + 1 < n; ++i) offer(i);
    while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        if (!alive[c.begin] || next[c.begin] == kEnd || partEnd(next[c.begin]) != c.end) continue;
        const size_t joined = next[c.begin];
        alive[joined] = false;
        next[c.begin] = next[joined];
        if (next[joined] != kEnd) prev[next[joined]] = c.begin;
        offer(c.begin);
        offer(prev[c.begin]);
    }
    for (size_t i = 0; i != kEnd; i = next[i]) out.push_back(rankOf(piece.substr(i, partEnd(i) - i)));
}

std::string TekkenTokenizer::decode(std::span<const int32_t> ids, bool skipSpecial) const {
    // Bytes between special tokens are turned into text as one run, so a UTF-8 sequence split
    // across ids survives, while one cut by a special token becomes U+FFFD as in mistral-common.
    std::string out;
    std::string run;
    for (int32_t id : ids) {
        if (id >= numSpecial_ && id < vocabSize()) {
            run += tokens_[static_cast<size_t>(id - numSpecial_)];
            continue;
        }
        if (id < 0 || id >= vocabSize()) continue;
        unicode::appendLossy(out, run);
        run.clear();
        if (!skipSpecial) out += specialNames_[static_cast<size_t>(id)];
    }
    unicode::appendLossy(out, run);
    return out;
}

std::optional<int32_t> TekkenTokenizer::tokenId(std::string_view tokenText) const {
    if (const auto it = specialIds_.find(std::string(tokenText)); it != specialIds_.end()) return it->second;
    if (const auto it = ranks_.find(tokenText); it != ranks_.end()) return it->second + numSpecial_;
    return std::nullopt;
}

std::string TekkenTokenizer::tokenBytes(int32_t id) const {
    if (id < 0 || id >= vocabSize()) return {};
    if (id < numSpecial_) return specialNames_[static_cast<size_t>(id)];
    return tokens_[static_cast<size_t>(id - numSpecial_)];
}

}  // namespace strata
