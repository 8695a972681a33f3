#pragma once
// A GGUF file (versions 2 and 3, little-endian) as llama.cpp writes it: a header, key/value
// metadata, tensor infos, then the tensor data at an aligned offset. Parsing checks every count,
// length, dimension and offset against the file before anything is allocated or read, so that a
// corrupt or hostile file gives an error naming what is wrong.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace strata {

enum class GgufValueType : uint32_t {
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};

// One metadata value. Numbers of every width are held as double (and as int64 when integral),
// arrays of numbers as doubles, arrays of strings as strings; nested arrays are checked and skipped.
struct GgufValue {
    GgufValueType type = GgufValueType::UInt8;
    GgufValueType elementType = GgufValueType::UInt8;  // arrays only
    int64_t integer = 0;
    double number = 0;
    std::string text;
    std::vector<double> numbers;
    std::vector<std::string> strings;
    uint64_t arrayLength = 0;

    bool isInteger() const;
    bool isNumber() const;
};

struct GgufTensor {
    std::string name;
    uint32_t type = 0;              // ggml type id (see GgmlQuants.h)
    std::vector<int64_t> dims;      // ggml order: dims[0] is the innermost (contiguous) dimension
    uint64_t offset = 0;            // absolute byte offset in the file
    uint64_t nbytes = 0;
    int64_t numel() const;
    int64_t rows() const { return dims.empty() ? 0 : numel() / dims[0]; }
};

class GgufFile {
public:
    // Parses the file's header, metadata and tensor infos (not the tensor data).
    static Result<std::unique_ptr<GgufFile>> open(const std::filesystem::path& path);
    // The same on bytes in memory (the whole file); used by the fuzzer and the tests.
    static Result<std::unique_ptr<GgufFile>> parse(std::string_view bytes, const std::string& nameForErrors);

    // Whether the file starts with the GGUF magic.
    static bool hasGgufMagic(const std::filesystem::path& path);

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t dataOffset() const { return dataOffset_; }
    uint64_t fileSize() const { return fileSize_; }
    const std::string& name() const { return name_; }

    const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
    const GgufValue* find(std::string_view key) const;
    // Typed lookups: an error naming the key when it is absent or of another type.
    Result<std::string> getString(std::string_view key) const;
    Result<int64_t> getInt(std::string_view key) const;
    Result<double> getNumber(std::string_view key) const;
    std::optional<int64_t> intOr(std::string_view key) const;
    std::optional<double> numberOr(std::string_view key) const;

    const std::vector<GgufTensor>& tensors() const { return tensors_; }
    const GgufTensor* findTensor(std::string_view name) const;

private:
    class Parser;
    GgufFile() = default;

    std::string name_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    uint64_t dataOffset_ = 0;
    uint64_t fileSize_ = 0;
    std::map<std::string, GgufValue> metadata_;
    std::vector<GgufTensor> tensors_;
    std::map<std::string, size_t, std::less<>> tensorIndex_;
};

}  // namespace strata
