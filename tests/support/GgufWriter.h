#pragma once
// Writes small GGUF files for tests: the magic, version 3, metadata key/values and no tensors,
// which is what a vocabulary-only GGUF (as llama.cpp's vocab-only files) holds. Header-only,
// Qt-free.
//
//   GgufMetadata m;
//   m.string("tokenizer.ggml.model", "gpt2");
//   m.strings("tokenizer.ggml.tokens", tokens);
//   m.int32s("tokenizer.ggml.token_type", types);
//   m.boolean("tokenizer.ggml.add_bos_token", true);
//   writeGguf(path, m);
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace strata::testsupport {

class GgufMetadata {
public:
    void string(std::string_view key, std::string_view value) {
        begin(key, kString);
        text(value);
    }
    void uint32(std::string_view key, uint32_t value) {
        begin(key, kUInt32);
        scalar(value);
    }
    void boolean(std::string_view key, bool value) {
        begin(key, kBool);
        bytes_.push_back(value ? 1 : 0);
    }
    void strings(std::string_view key, const std::vector<std::string>& values) {
        begin(key, kArray);
        scalar(kString);
        scalar(uint64_t(values.size()));
        for (const auto& v : values) text(v);
    }
    void int32s(std::string_view key, const std::vector<int32_t>& values) {
        begin(key, kArray);
        scalar(kInt32);
        scalar(uint64_t(values.size()));
        for (int32_t v : values) scalar(v);
    }

    uint64_t count() const { return count_; }
    const std::string& bytes() const { return bytes_; }

private:
    // GGUF value type ids
    static constexpr uint32_t kUInt32 = 4, kInt32 = 5, kBool = 7, kString = 8, kArray = 9;

    template <typename T>
    void scalar(T v) {
        char raw[sizeof(T)];
        std::memcpy(raw, &v, sizeof(T));  // GGUF is little-endian, as every machine this runs on
        bytes_.append(raw, sizeof(T));
    }
    void text(std::string_view s) {
        scalar(uint64_t(s.size()));
        bytes_.append(s);
    }
    void begin(std::string_view key, uint32_t type) {
        text(key);
        scalar(type);
        ++count_;
    }

    std::string bytes_;
    uint64_t count_ = 0;
};

// The whole file: header (magic, version 3, no tensors, the metadata count) and the metadata.
inline std::string ggufBytes(const GgufMetadata& metadata) {
    std::string out = "GGUF";
    auto put = [&](auto v) {
        char raw[sizeof(v)];
        std::memcpy(raw, &v, sizeof(v));
        out.append(raw, sizeof(v));
    };
    put(uint32_t(3));
    put(uint64_t(0));
    put(metadata.count());
    out += metadata.bytes();
    return out;
}

inline void writeGguf(const std::filesystem::path& path, const GgufMetadata& metadata) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << ggufBytes(metadata);
}

}  // namespace strata::testsupport
