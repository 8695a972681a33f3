#include "format/GgufFile.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>

#include "format/FileReading.h"
#include "format/GgmlQuants.h"

namespace strata {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
constexpr uint64_t kMaxCount = 1u << 20;  // tensors or keys: real files have a few thousand at most
constexpr uint64_t kMaxKeyBytes = 1u << 16;
constexpr uint64_t kMaxAlignment = 1u << 20;
constexpr int kMaxDims = 4;  // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 3;

std::string valueTypeName(uint32_t t) {
    static const char* names[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32", "float32",
                                  "bool",  "string", "array",  "uint64", "int64",  "float64"};
    return t < 13 ? names[t] : "type " + std::to_string(t);
}

// Fixed size of a scalar value type; 0 for string and array.
uint64_t scalarSize(uint32_t t) {
    switch (GgufValueType(t)) {
    case GgufValueType::UInt8: case GgufValueType::Int8: case GgufValueType::Bool: return 1;
    case GgufValueType::UInt16: case GgufValueType::Int16: return 2;
    case GgufValueType::UInt32: case GgufValueType::Int32: case GgufValueType::Float32: return 4;
    case GgufValueType::UInt64: case GgufValueType::Int64: case GgufValueType::Float64: return 8;
    default: return 0;
    }
}

}  // namespace

bool GgufValue::isInteger() const {
    switch (type) {
    case GgufValueType::UInt8: case GgufValueType::Int8: case GgufValueType::UInt16: case GgufValueType::Int16:
    case GgufValueType::UInt32: case GgufValueType::Int32: case GgufValueType::UInt64: case GgufValueType::Int64:
    case GgufValueType::Bool:
        return true;
    default: return false;
    }
}

bool GgufValue::isNumber() const {
    return isInteger() || type == GgufValueType::Float32 || type == GgufValueType::Float64;
}

int64_t GgufTensor::numel() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
}

// Reads the file front to back through a window of bytes. `fetch` fills the window from the
// source; every length is checked against the bytes left before it is used.
class GgufFile::Parser {
public:
    using Fetch = std::function<Status(uint64_t offset, uint64_t n, char* dst)>;
    Parser(uint64_t size, Fetch fetch, std::string name) : size_(size), fetch_(std::move(fetch)), name_(std::move(name)) {}

    Result<std::unique_ptr<GgufFile>> run();

private:
    Error fail(const std::string& what) const {
        return badInput("invalid GGUF file " + name_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
    }
    uint64_t left() const { return size_ - pos_; }
    Status bytes(void* dst, uint64_t n, const char* what);
    template <typename T>
    Status scalar(T& out, const char* what) { return bytes(&out, sizeof(T), what); }
    Status string(std::string& out, uint64_t maxBytes, const char* what);
    Status value(uint32_t type, GgufValue& out, const std::string& key, int depth);
    Status arrayValue(GgufValue& out, const std::string& key, int depth);
    Status tensorInfo(GgufTensor& t, uint64_t index);

    uint64_t size_;
    Fetch fetch_;
    std::string name_;
    uint64_t pos_ = 0;
    std::vector<char> window_;
    uint64_t windowStart_ = 0;
};

Status GgufFile::Parser::bytes(void* dst, uint64_t n, const char* what) {
    if (n > left())
        return fail(std::string("the file ends inside ") + what + " (needs " + std::to_string(n) + " bytes, " +
                    std::to_string(left()) + " left): is it truncated?");
    char* out = static_cast<char*>(dst);
    while (n > 0) {
        const uint64_t windowEnd = windowStart_ + window_.size();
        if (pos_ < windowStart_ || pos_ >= windowEnd) {
            windowStart_ = pos_;
            window_.resize(size_t(std::min<uint64_t>(left(), 1u << 20)));
            STRATA_TRY(fetch_(windowStart_, window_.size(), window_.data()));
            continue;
        }
        const uint64_t take = std::min(n, windowEnd - pos_);
        std::memcpy(out, window_.data() + (pos_ - windowStart_), size_t(take));
        out += take;
        pos_ += take;
        n -= take;
    }
    return {};
}

Status GgufFile::Parser::string(std::string& out, uint64_t maxBytes, const char* what) {
    uint64_t len = 0;
    STRATA_TRY(scalar(len, what));
    if (len > left() || len > maxBytes)
        return fail(std::string(what) + " claims " + std::to_string(len) + " bytes, more than " +
                    (len > left() ? "the " + std::to_string(left()) + " left in the file" : "any real file uses"));
    out.resize(size_t(len));
    return bytes(out.data(), len, what);
}

Status GgufFile::Parser::arrayValue(GgufValue& out, const std::string& key, int depth) {
    uint32_t elementType = 0;
    uint64_t length = 0;
    STRATA_TRY(scalar(elementType, "an array's element type"));
    STRATA_TRY(scalar(length, "an array's length"));
    if (elementType > uint32_t(GgufValueType::Float64))
        return fail("metadata key '" + key + "' is an array of unknown value type " + std::to_string(elementType));
    // Each element takes at least its fixed size, or 8 bytes for a string or array length.
    const uint64_t minElement = scalarSize(elementType) ? scalarSize(elementType) : 8;
    if (length > left() / minElement)
        return fail("metadata key '" + key + "' claims an array of " + std::to_string(length) + " " +
                    valueTypeName(elementType) + " values, more than the file holds");
    out.elementType = GgufValueType(elementType);
    out.arrayLength = length;
    if (elementType == uint32_t(GgufValueType::String)) {
        out.strings.resize(size_t(length));
        for (std::string& s : out.strings) STRATA_TRY(string(s, left(), "a string in an array"));
    } else if (elementType == uint32_t(GgufValueType::Array)) {
        if (depth >= kMaxArrayDepth) return fail("metadata key '" + key + "' nests arrays too deeply");
        GgufValue inner;
        for (uint64_t i = 0; i < length; ++i) STRATA_TRY(value(elementType, inner, key, depth + 1));
    } else {
        out.numbers.resize(size_t(length));
        GgufValue element;
        for (double& d : out.numbers) {
            STRATA_TRY(value(elementType, element, key, depth + 1));
            d = element.number;
        }
    }
    return {};
}

Status GgufFile::Parser::value(uint32_t type, GgufValue& out, const std::string& key, int depth) {
    out.type = GgufValueType(type);
    auto integral = [&](auto v) -> Status {
        STRATA_TRY(scalar(v, "a metadata value"));
        out.integer = int64_t(v);
        out.number = double(v);
        return {};
    };
    switch (GgufValueType(type)) {
    case GgufValueType::UInt8: return integral(uint8_t{});
    case GgufValueType::Int8: return integral(int8_t{});
    case GgufValueType::UInt16: return integral(uint16_t{});
    case GgufValueType::Int16: return integral(int16_t{});
    case GgufValueType::UInt32: return integral(uint32_t{});
    case GgufValueType::Int32: return integral(int32_t{});
    case GgufValueType::UInt64: return integral(uint64_t{});
    case GgufValueType::Int64: return integral(int64_t{});
    case GgufValueType::Bool: {
        uint8_t b = 0;
        STRATA_TRY(scalar(b, "a metadata value"));
        if (b > 1) return fail("metadata key '" + key + "' holds a bool of value " + std::to_string(b));
        out.integer = b;
        out.number = b;
        return {};
    }
    case GgufValueType::Float32: {
        float f = 0;
        STRATA_TRY(scalar(f, "a metadata value"));
        out.number = f;
        return {};
    }
    case GgufValueType::Float64: return scalar(out.number, "a metadata value");
    case GgufValueType::String: return string(out.text, left(), "a metadata string");
    case GgufValueType::Array: return arrayValue(out, key, depth);
    }
    return fail("metadata key '" + key + "' has unknown value type " + std::to_string(type));
}

Status GgufFile::Parser::tensorInfo(GgufTensor& t, uint64_t index) {
    STRATA_TRY(string(t.name, kMaxKeyBytes, "a tensor name"));
    const std::string which = "tensor " + std::to_string(index) + " ('" + t.name + "')";
    uint32_t nDims = 0;
    STRATA_TRY(scalar(nDims, "a tensor's dimension count"));
    if (nDims < 1 || nDims > kMaxDims)
        return fail(which + " has " + std::to_string(nDims) + " dimensions; GGUF allows 1 to 4");
    t.dims.resize(nDims);
    int64_t numel = 1;
    for (uint32_t d = 0; d < nDims; ++d) {
        uint64_t dim = 0;
        STRATA_TRY(scalar(dim, "a tensor dimension"));
        if (dim == 0 || dim > (uint64_t(1) << 40) || __builtin_mul_overflow(numel, int64_t(dim), &numel) ||
            numel > (int64_t(1) << 42))
            return fail(which + " has an impossible dimension " + std::to_string(dim));
        t.dims[d] = int64_t(dim);
    }
    STRATA_TRY(scalar(t.type, "a tensor's type"));
    STRATA_TRY(scalar(t.offset, "a tensor's offset"));
    const GgmlTypeTraits* traits = ggmlTypeTraits(t.type);
    if (!traits)
        return fail(which + " is stored as " + ggmlTypeName(t.type) +
                    ", which Strata cannot read (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, "
                    "Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, MXFP4)");
    if (t.dims[0] % traits->blockElements != 0)
        return fail(which + " has rows of " + std::to_string(t.dims[0]) + " elements, not a multiple of the " +
                    std::to_string(traits->blockElements) + "-element blocks of " + traits->name);
    t.nbytes = uint64_t(numel / traits->blockElements) * traits->blockBytes;
    return {};
}

Result<std::unique_ptr<GgufFile>> GgufFile::Parser::run() {
    std::unique_ptr<GgufFile> file(new GgufFile());
    file->name_ = name_;
    file->fileSize_ = size_;
    uint32_t magic = 0;
    if (size_ < 4) return fail("the file is " + std::to_string(size_) + " bytes long, too short to be GGUF");
    STRATA_TRY(scalar(magic, "the magic"));
    if (magic != kMagic) return fail("it does not start with the GGUF magic");
    STRATA_TRY(scalar(file->version_, "the version"));
    if (file->version_ == 0x02000000 || file->version_ == 0x03000000)
        return fail("it is a big-endian GGUF file; Strata reads little-endian files");
    if (file->version_ == 1)
        return fail("GGUF version 1 (before August 2023) is not supported; convert the model again");
    if (file->version_ != 2 && file->version_ != 3)
        return fail("unknown GGUF version " + std::to_string(file->version_) + " (Strata reads 2 and 3)");
    uint64_t tensorCount = 0, kvCount = 0;
    STRATA_TRY(scalar(tensorCount, "the tensor count"));
    STRATA_TRY(scalar(kvCount, "the metadata count"));
    // A tensor info takes at least 32 bytes and a key/value at least 13.
    if (tensorCount > kMaxCount || tensorCount > left() / 32)
        return fail("it claims " + std::to_string(tensorCount) + " tensors, more than the file can hold");
    if (kvCount > kMaxCount || kvCount > left() / 13)
        return fail("it claims " + std::to_string(kvCount) + " metadata keys, more than the file can hold");

    for (uint64_t i = 0; i < kvCount; ++i) {
        std::string key;
        STRATA_TRY(string(key, kMaxKeyBytes, "a metadata key"));
        uint32_t type = 0;
        STRATA_TRY(scalar(type, "a metadata value type"));
        GgufValue v;
        STRATA_TRY(value(type, v, key, 0));
        if (!file->metadata_.emplace(key, std::move(v)).second) return fail("metadata key '" + key + "' appears twice");
    }
    if (const GgufValue* a = file->find("general.alignment")) {
        if (a->type != GgufValueType::UInt32 || a->integer == 0 || (a->integer & (a->integer - 1)) != 0 ||
            uint64_t(a->integer) > kMaxAlignment)
            return fail("general.alignment must be a power of two up to 1 MiB stored as uint32");
        file->alignment_ = uint64_t(a->integer);
    }

    file->tensors_.resize(size_t(tensorCount));
    for (uint64_t i = 0; i < tensorCount; ++i) {
        GgufTensor& t = file->tensors_[size_t(i)];
        STRATA_TRY(tensorInfo(t, i));
        if (!file->tensorIndex_.emplace(t.name, size_t(i)).second) return fail("tensor '" + t.name + "' appears twice");
    }
    const uint64_t a = file->alignment_;
    file->dataOffset_ = (pos_ + a - 1) / a * a;
    for (GgufTensor& t : file->tensors_) {
        const std::string which = "tensor '" + t.name + "'";
        if (t.offset % a != 0)
            return fail(which + " starts at data offset " + std::to_string(t.offset) + ", not a multiple of the " +
                        std::to_string(a) + "-byte alignment");
        uint64_t end = 0;
        if (t.offset > size_ || __builtin_add_overflow(file->dataOffset_, t.offset, &t.offset) ||
            __builtin_add_overflow(t.offset, t.nbytes, &end) || end > size_)
            return fail(which + " (" + std::to_string(t.nbytes) + " bytes) lies outside the " + std::to_string(size_) +
                        "-byte file: is it truncated?");
    }
    return file;
}

Result<std::unique_ptr<GgufFile>> GgufFile::parse(std::string_view data, const std::string& nameForErrors) {
    Parser parser(data.size(), [data](uint64_t offset, uint64_t n, char* dst) -> Status {
        std::memcpy(dst, data.data() + offset, size_t(n));
        return {};
    }, nameForErrors);
    return parser.run();
}

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::filesystem::path& path) {
    auto file = openRegularFile(path);
    STRATA_TRY(file);
    const int fd = file.value().fd;
    const std::string name = path.string();
    Parser parser(file.value().size, [fd, &name](uint64_t offset, uint64_t n, char* dst) -> Status {
        const int64_t got = preadFully(fd, dst, n, offset);
        if (got < 0) return internalError("reading " + name + ": " + std::strerror(errno));
        if (uint64_t(got) != n) return badInput("file " + name + " shrank while it was being read");
        return {};
    }, name);
    auto result = parser.run();
    ::close(fd);
    return result;
}

bool GgufFile::hasGgufMagic(const std::filesystem::path& path) {
    auto file = openRegularFile(path);
    if (!file.ok()) return false;
    uint32_t magic = 0;
    const bool ok = preadFully(file.value().fd, &magic, 4, 0) == 4 && magic == kMagic;
    ::close(file.value().fd);
    return ok;
}

const GgufValue* GgufFile::find(std::string_view key) const {
    auto it = metadata_.find(std::string(key));
    return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::findTensor(std::string_view name) const {
    auto it = tensorIndex_.find(name);
    return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

Result<std::string> GgufFile::getString(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return badInput(name_ + " has no metadata key '" + std::string(key) + "'");
    if (v->type != GgufValueType::String)
        return badInput(name_ + ": metadata key '" + std::string(key) + "' is not a string");
    return v->text;
}

Result<int64_t> GgufFile::getInt(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return badInput(name_ + " has no metadata key '" + std::string(key) + "'");
    if (!v->isInteger()) return badInput(name_ + ": metadata key '" + std::string(key) + "' is not an integer");
    return v->integer;
}

Result<double> GgufFile::getNumber(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return badInput(name_ + " has no metadata key '" + std::string(key) + "'");
    if (!v->isNumber()) return badInput(name_ + ": metadata key '" + std::string(key) + "' is not a number");
    return v->number;
}

std::optional<int64_t> GgufFile::intOr(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v || !v->isInteger()) return std::nullopt;
    return v->integer;
}

std::optional<double> GgufFile::numberOr(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v || !v->isNumber()) return std::nullopt;
    return v->number;
}

}  // namespace strata
