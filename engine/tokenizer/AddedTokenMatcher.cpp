#include "tokenizer/AddedTokenMatcher.h"

#include <algorithm>

#include "tokenizer/Unicode.h"

namespace strata {

int32_t AddedTokenMatcher::child(int32_t node, unsigned char byte) const {
    const auto& ch = nodes_[static_cast<size_t>(node)].children;
    auto it = std::lower_bound(ch.begin(), ch.end(), byte,
                               [](const auto& p, unsigned char b) { return p.first < b; });
    return (it != ch.end() && it->first == byte) ? it->second : -1;
}

void AddedTokenMatcher::add(const AddedToken& token) {
    if (token.content.empty()) return;
    int32_t node = 0;
    for (char c : token.content) {
        const auto b = static_cast<unsigned char>(c);
        int32_t next = child(node, b);
        if (next < 0) {
            next = static_cast<int32_t>(nodes_.size());
            nodes_.emplace_back();
            auto& ch = nodes_[static_cast<size_t>(node)].children;
            auto it = std::lower_bound(ch.begin(), ch.end(), b,
                                       [](const auto& p, unsigned char x) { return p.first < x; });
            ch.insert(it, {b, next});
        }
        node = next;
    }
    firstByte_[static_cast<unsigned char>(token.content[0])] = true;
    auto& slot = nodes_[static_cast<size_t>(node)].token;
    if (slot >= 0) {
        tokens_[static_cast<size_t>(slot)] = token;
    } else {
        slot = static_cast<int32_t>(tokens_.size());
        tokens_.push_back(token);
    }
}

int32_t AddedTokenMatcher::longestAt(std::string_view text, size_t pos, size_t& len) const {
    int32_t node = 0, best = -1;
    for (size_t i = pos; i < text.size(); ++i) {
        node = child(node, static_cast<unsigned char>(text[i]));
        if (node < 0) break;
        if (int32_t t = nodes_[static_cast<size_t>(node)].token; t >= 0) {
            best = t;
            len = i + 1 - pos;
        }
    }
    return best;
}

namespace {
int32_t lastCodePoint(std::string_view s) {
    if (s.empty()) return -1;
    size_t i = s.size() - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    size_t len = 1;
    return unicode::decodeAt(s, i, len);
}
}  // namespace

void AddedTokenMatcher::split(std::string_view text, std::vector<Piece>& pieces) const {
    if (empty() || text.empty()) {
        pieces.push_back({0, text.size(), -1});
        return;
    }
    size_t startOffset = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        if (!firstByte_[static_cast<unsigned char>(text[pos])]) {
            ++pos;
            continue;
        }
        size_t len = 0;
        const int32_t t = longestAt(text, pos, len);
        if (t < 0) {
            ++pos;
            continue;
        }
        const AddedToken& tok = tokens_[static_cast<size_t>(t)];
        size_t start = pos, stop = pos + len;
        pos = stop;  // matches never overlap, even when one is discarded below
        if (tok.singleWord) {
            size_t clen = 1;
            const bool wordBefore = start > 0 && unicode::isWordChar(lastCodePoint(text.substr(0, start)));
            const bool wordAfter = stop < text.size() && unicode::isWordChar(unicode::decodeAt(text, stop, clen));
            if (wordBefore || wordAfter) continue;
        }
        if (tok.lstrip) {
            size_t s = start;
            while (s > 0) {
                size_t b = s - 1;
                while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
                size_t clen = 1;
                if (!unicode::isRegexSpace(unicode::decodeAt(text, b, clen))) break;
                s = b;
            }
            start = std::max(s, startOffset);
        }
        if (tok.rstrip) {
            while (stop < text.size()) {
                size_t clen = 1;
                if (!unicode::isRegexSpace(unicode::decodeAt(text, stop, clen))) break;
                stop += clen;
            }
        }
        if (startOffset < start) pieces.push_back({startOffset, start, -1});
        pieces.push_back({start, stop, tok.id});
        startOffset = stop;
        pos = std::max(pos, stop);
    }
    if (startOffset < text.size()) pieces.push_back({startOffset, text.size(), -1});
}

}  // namespace strata
