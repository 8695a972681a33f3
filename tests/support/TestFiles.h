#pragma once
// Files that tests write into a temporary folder, and the substring check their error-message
// assertions use. Header-only.
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
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

// A file's bytes as text; empty when it cannot be read.
inline std::string readText(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void writeText(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// A fixture of raw little-endian float32 values (as the fixture scripts write them).
inline std::vector<float> readF32(const std::filesystem::path& path) {
    const std::string bytes = readText(path);
    std::vector<float> out(bytes.size() / sizeof(float));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
}

// max |a[i] - b[i]| over a's length.
inline float maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
    float m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace strata::testsupport
