#include "format/SafetensorsHeader.h"

#include <algorithm>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "format/JsonText.h"

namespace strata {
namespace {

using nlohmann::json;

std::optional<DType> dtypeFromName(const std::string& s) {
    if (s == "F32") return DType::F32;
    if (s == "F16") return DType::F16;
    if (s == "BF16") return DType::BF16;
    if (s == "U8") return DType::U8;
    return std::nullopt;
}

// A JSON integer >= 0 that fits in int64 (shape dims and offsets both need that).
std::optional<uint64_t> nonNegativeInt(const json& v) {
    if (v.is_number_unsigned()) {
        uint64_t u = v.get<uint64_t>();
        if (u > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return u;
    }
    if (v.is_number_integer()) {
        int64_t i = v.get<int64_t>();
        if (i < 0) return std::nullopt;
        return uint64_t(i);
    }
    return std::nullopt;
}

Error tensorError(const std::string& fileName, const std::string& tensor, const std::string& what) {
    return badInput("invalid safetensors header in " + fileName + ": tensor '" + tensor + "' " + what);
}

Result<TensorInfo> parseEntry(const std::string& name, const json& entry, uint64_t dataStart,
                              uint64_t dataSize, int fileIndex, const std::string& fileName) {
    if (!entry.is_object()) return tensorError(fileName, name, "is not a JSON object");

    auto dt = entry.find("dtype");
    if (dt == entry.end() || !dt->is_string())
        return tensorError(fileName, name, "has no \"dtype\" string");
    const std::string dtypeName = dt->get<std::string>();
    std::optional<DType> dtype = dtypeFromName(dtypeName);
    if (!dtype)
        return badInput("unsupported dtype " + dtypeName + " for tensor '" + name + "' in file " + fileName +
                        " (supported: BF16, F16, F32, U8)");

    auto sh = entry.find("shape");
    if (sh == entry.end() || !sh->is_array())
        return tensorError(fileName, name, "has no \"shape\" array");
    TensorInfo info;
    info.name = name;
    info.dtype = *dtype;
    info.fileIndex = fileIndex;
    uint64_t numel = 1;
    for (const json& d : *sh) {
        std::optional<uint64_t> dim = nonNegativeInt(d);
        if (!dim) return tensorError(fileName, name, "has a shape entry that is not a non-negative integer");
        if (__builtin_mul_overflow(numel, *dim, &numel) || numel > uint64_t(std::numeric_limits<int64_t>::max()))
            return tensorError(fileName, name, "has a shape whose element count overflows");
        info.shape.push_back(int64_t(*dim));
    }

    auto off = entry.find("data_offsets");
    if (off == entry.end() || !off->is_array() || off->size() != 2)
        return tensorError(fileName, name, "has no \"data_offsets\" pair");
    std::optional<uint64_t> begin = nonNegativeInt((*off)[0]);
    std::optional<uint64_t> end = nonNegativeInt((*off)[1]);
    if (!begin || !end) return tensorError(fileName, name, "has data_offsets that are not non-negative integers");
    if (*begin > *end)
        return tensorError(fileName, name,
                           "has data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                               "] that end before they begin");
    if (*end > dataSize)
        return tensorError(fileName, name,
                           "has data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                               "] beyond the data section of " + std::to_string(dataSize) +
                               " bytes (is the file truncated?)");
    uint64_t expected = 0;
    if (__builtin_mul_overflow(numel, uint64_t(dtypeSize(*dtype)), &expected) || expected != *end - *begin)
        return tensorError(fileName, name,
                           "spans " + std::to_string(*end - *begin) + " bytes but its dtype " + dtypeName +
                               " and shape need " + std::to_string(numel) + " x " +
                               std::to_string(dtypeSize(*dtype)) + " bytes");
    info.offset = dataStart + *begin;
    info.nbytes = *end - *begin;
    return info;
}

}  // namespace

Result<uint64_t> parseSafetensorsHeaderLength(const unsigned char prefix[8], uint64_t fileSize,
                                              const std::string& fileName) {
    if (fileSize < 8)
        return badInput("truncated safetensors file " + fileName + ": " + std::to_string(fileSize) +
                        " bytes, too short to hold the 8-byte header length");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
    if (n < 2)
        return badInput("invalid safetensors file " + fileName + ": header length " + std::to_string(n) +
                        " is too small for a JSON object");
    if (n > kMaxSafetensorsHeaderBytes)
        return badInput("invalid safetensors file " + fileName + ": header length " + std::to_string(n) +
                        " exceeds the " + std::to_string(kMaxSafetensorsHeaderBytes) + "-byte limit");
    if (n > fileSize - 8)
        return badInput("truncated safetensors file " + fileName + ": header length " + std::to_string(n) +
                        " runs past the end of the " + std::to_string(fileSize) + "-byte file");
    return n;
}

Result<std::vector<TensorInfo>> parseSafetensorsHeader(std::string_view headerJson, uint64_t fileSize,
                                                       int fileIndex, const std::string& fileName) {
    const uint64_t dataStart = 8 + uint64_t(headerJson.size());
    if (fileSize < dataStart)
        return badInput("truncated safetensors file " + fileName + ": the header runs past the end of the file");
    const uint64_t dataSize = fileSize - dataStart;

    json header;
    try {
        header = json::parse(headerJson.begin(), headerJson.end());
    } catch (const json::exception& e) {
        return badInput("invalid safetensors header in " + fileName + ": not valid JSON (" + jsonErrorText(e) + ")");
    }
    if (!header.is_object())
        return badInput("invalid safetensors header in " + fileName + ": the header is not a JSON object");

    std::vector<TensorInfo> tensors;
    tensors.reserve(header.size());
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        Result<TensorInfo> info = parseEntry(it.key(), it.value(), dataStart, dataSize, fileIndex, fileName);
        if (!info.ok()) return info.error();
        tensors.push_back(std::move(info).value());
    }

    // Two tensors sharing bytes would mean one of them reads the other's data.
    std::vector<const TensorInfo*> byOffset;
    byOffset.reserve(tensors.size());
    for (const TensorInfo& t : tensors) byOffset.push_back(&t);
    std::sort(byOffset.begin(), byOffset.end(), [](const TensorInfo* a, const TensorInfo* b) {
        return a->offset != b->offset ? a->offset < b->offset : a->nbytes < b->nbytes;
    });
    const TensorInfo* furthest = nullptr;  // the tensor reaching furthest into the data so far
    for (const TensorInfo* cur : byOffset) {
        if (furthest && cur->nbytes > 0 && cur->offset < furthest->offset + furthest->nbytes)
            return badInput("invalid safetensors header in " + fileName + ": tensors '" + furthest->name +
                            "' and '" + cur->name + "' overlap in the data section");
        if (!furthest || cur->offset + cur->nbytes > furthest->offset + furthest->nbytes) furthest = cur;
    }
    return tensors;
}

}  // namespace strata
