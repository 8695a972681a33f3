#pragma once
// nlohmann's exception texts start with an internal tag ("[json.exception.parse_error.101] ");
// users need only the part after it, which gives the line and column.
#include <string>

#include <nlohmann/json.hpp>

namespace strata {

inline std::string jsonErrorText(const nlohmann::json::exception& e) {
    std::string s = e.what();
    if (!s.empty() && s[0] == '[') {
        const size_t close = s.find("] ");
        if (close != std::string::npos) s.erase(0, close + 2);
    }
    return s;
}

}  // namespace strata
