#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace strata {

// Watches the decoded output for stop strings, holding back text that could still become one.
// Matching is on bytes, so stop strings may hold any UTF-8; as long as the pushed text is whole
// UTF-8, what is returned never splits a character either. Empty stop strings are ignored.
class StopStringMatcher {
public:
    explicit StopStringMatcher(std::vector<std::string> stops);
    // Appends newly decoded text. Returns the text safe to show now. Sets stopped() when a
    // stop string appears; the stop string and anything after it are never returned.
    std::string push(std::string_view text);
    std::string flush();  // at the end of generation: the held-back text
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
};

}  // namespace strata
