#pragma once
// Finds added tokens (special or not) written literally in text, leftmost-longest, with the
// single_word / lstrip / rstrip rules of the Hugging Face added vocabulary.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

struct AddedToken {
    int32_t id = -1;
    std::string content;
    bool singleWord = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
    bool special = false;
};

class AddedTokenMatcher {
public:
    struct Piece {
        size_t begin;
        size_t end;
        int32_t id;  // -1: ordinary text to tokenize
    };

    void add(const AddedToken& token);
    bool empty() const { return nodes_.size() <= 1; }
    // Splits text into added-token matches and the text between them.
    void split(std::string_view text, std::vector<Piece>& pieces) const;

private:
    struct Node {
        std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
        int32_t token = -1;  // index into tokens_ when a token ends here
    };
    int32_t child(int32_t node, unsigned char byte) const;
    // Longest token starting at pos: index into tokens_ and its length, or -1.
    int32_t longestAt(std::string_view text, size_t pos, size_t& len) const;

    std::vector<Node> nodes_{Node{}};
    std::vector<AddedToken> tokens_;
    bool firstByte_[256] = {};
};

}  // namespace strata
