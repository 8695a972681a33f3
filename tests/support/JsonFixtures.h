#pragma once
// Reading the JSON fixtures the fixture scripts write, and printing token ids in failure messages.
// Header-only.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace strata::testsupport {

inline nlohmann::json readJson(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
}

// The first `most` ids, space-separated.
inline std::string idsText(const std::vector<int32_t>& ids, size_t most = 60) {
    std::string s;
    for (size_t i = 0; i < ids.size() && i < most; ++i) s += std::to_string(ids[i]) + " ";
    return s;
}

}  // namespace strata::testsupport
