#pragma once
// Writes small .safetensors files (and index files) for tests, so fixtures can be built in a
// temporary folder instead of being committed as binaries. Header-only, Qt-free.
//
//   using namespace strata::testsupport;
//   writeSafetensors(dir / "model.safetensors", {
//       tensorF32("model.norm.weight", {4}, {1, 2, 3, 4}),
//       tensorBf16("model.embed_tokens.weight", {2, 4}, values),
//   });
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/DType.h"

namespace strata::testsupport {

struct TensorSpec {
    std::string name;
    std::string dtype;  // safetensors spelling: "F32", "F16", "BF16", or anything else to test rejection
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

inline TensorSpec tensorF32(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
    TensorSpec t{std::move(name), "F32", std::move(shape), std::vector<uint8_t>(values.size() * 4)};
    if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
}

inline TensorSpec tensorBf16(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
    TensorSpec t{std::move(name), "BF16", std::move(shape), std::vector<uint8_t>(values.size() * 2)};
    for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t h = floatToBf16(values[i]);
        std::memcpy(t.bytes.data() + 2 * i, &h, 2);
    }
    return t;
}

inline TensorSpec tensorF16(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
    TensorSpec t{std::move(name), "F16", std::move(shape), std::vector<uint8_t>(values.size() * 2)};
    for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t h = floatToF16(values[i]);
        std::memcpy(t.bytes.data() + 2 * i, &h, 2);
    }
    return t;
}

// The header JSON for tensors laid out back to back in the given order.
inline std::string safetensorsHeader(const std::vector<TensorSpec>& tensors,
                                     const std::map<std::string, std::string>& metadata = {{"format", "pt"}}) {
    nlohmann::json h = nlohmann::json::object();
    if (!metadata.empty()) h["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const TensorSpec& t : tensors) {
        h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    return h.dump();
}

// The whole file: 8-byte little-endian header length, header, data.
inline std::string safetensorsBytes(const std::string& header, const std::vector<TensorSpec>& tensors) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
    out += header;
    for (const TensorSpec& t : tensors) out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    return out;
}

inline bool writeFile(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    return bool(out);
}

inline bool writeSafetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& tensors) {
    return writeFile(path, safetensorsBytes(safetensorsHeader(tensors), tensors));
}

// The tensors of a well-formed file, in the order of their data (to rewrite a fixture with a
// fault in it); empty when the file cannot be read.
inline std::vector<TensorSpec> readSafetensors(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    uint64_t headerBytes = 0;
    if (!in.read(reinterpret_cast<char*>(&headerBytes), 8)) return {};
    std::string header(headerBytes, '\0');
    if (!in.read(header.data(), std::streamsize(headerBytes))) return {};
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::pair<uint64_t, TensorSpec>> found;
    const nlohmann::json entries = nlohmann::json::parse(header);
    for (const auto& [name, entry] : entries.items()) {
        if (name == "__metadata__") continue;
        const uint64_t begin = entry["data_offsets"][0], end = entry["data_offsets"][1];
        if (end > data.size()) return {};
        TensorSpec t{name, entry["dtype"], entry["shape"].get<std::vector<int64_t>>(),
                     std::vector<uint8_t>(data.begin() + std::ptrdiff_t(begin), data.begin() + std::ptrdiff_t(end))};
        found.emplace_back(begin, std::move(t));
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<TensorSpec> tensors;
    for (auto& [offset, t] : found) tensors.push_back(std::move(t));
    return tensors;
}

// model.safetensors.index.json mapping each tensor name to its shard's file name.
inline bool writeSafetensorsIndex(const std::filesystem::path& dir,
                                  const std::map<std::string, std::string>& weightMap) {
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weightMap}};
    return writeFile(dir / "model.safetensors.index.json", index.dump(2));
}

}  // namespace strata::testsupport
