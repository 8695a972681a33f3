#pragma once
// Files that tests write into a temporary folder, and the substring check their error-message
// assertions use. Header-only.
#include <QTemporaryDir>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace strata::testsupport {

// Writes bytes to dir/name and returns the path.
inline std::filesystem::path writeFile(const QTemporaryDir& dir, const char* name, const std::string& bytes) {
    const std::filesystem::path path = std::filesystem::path(dir.path().toStdString()) / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}
inline std::filesystem::path writeFile(const QTemporaryDir& dir, const char* name, const std::vector<uint8_t>& bytes) {
    return writeFile(dir, name, std::string(bytes.begin(), bytes.end()));
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace strata::testsupport
