#include "format/Checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <regex>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "format/FileReading.h"
#include "format/GgmlQuants.h"
#include "format/GgufFile.h"
#include "format/GgufTensorNames.h"
#include "format/JsonText.h"
#include "format/Mxfp4.h"
#include "format/SafetensorsHeader.h"

namespace strata {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";
// Real indexes are a few hundred KiB; this only stops a huge stray file from being slurped.
constexpr uint64_t kMaxIndexBytes = 256ull << 20;

Result<std::string> readSmallFile(const fs::path& path) { return readWholeFile(path, kMaxIndexBytes); }

// A shard name must stay inside the model folder.
bool isPlainFileName(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

// Several *.safetensors without an index are accepted only as one complete numbered set, so that
// a stray extra file (an adapter, a consolidated copy) is never silently mixed into the model.
bool isCompleteNumberedSet(const std::vector<fs::path>& paths) {
    static const std::regex pattern(R"(^(.+)-([0-9]+)-of-([0-9]+)\.safetensors$)");
    std::string stem, total;
    std::set<long> seen;
    for (const fs::path& p : paths) {
        std::smatch m;
        const std::string name = p.filename().string();
        if (!std::regex_match(name, m, pattern)) return false;
        if (stem.empty()) {
            stem = m[1];
            total = m[3];
        } else if (m[1] != stem || m[3] != total) {
            return false;
        }
        if (m[2].length() > 6 || total.size() > 6) return false;
        seen.insert(std::stol(m[2]));
    }
    const long n = std::stol(total);
    return long(paths.size()) == n && *seen.begin() == 1 && *seen.rbegin() == n && long(seen.size()) == n;
}

}  // namespace

Checkpoint::~Checkpoint() {
    for (int fd : fds_) ::close(fd);
}

Result<std::vector<TensorInfo>> Checkpoint::addFile(const fs::path& path) {
    const std::string name = path.string();
    auto file = openRegularFile(path);
    STRATA_TRY(file);
    const int fd = file.value().fd;
    const int fileIndex = int(fds_.size());
    fds_.push_back(fd);  // owned from here on: the destructor closes it on every error path
    files_.push_back(path);
    const uint64_t fileSize = file.value().size;

    unsigned char prefix[8] = {};
    const int64_t got = preadFully(fd, prefix, fileSize < 8 ? fileSize : 8, 0);
    if (got < 0) return internalError("reading " + name + ": " + std::strerror(errno));
    Result<uint64_t> headerLen = parseSafetensorsHeaderLength(prefix, fileSize, name);
    if (!headerLen.ok()) return headerLen.error();

    std::string header(size_t(headerLen.value()), '\0');
    const int64_t gotHeader = preadFully(fd, header.data(), header.size(), 8);
    if (gotHeader < 0) return internalError("reading " + name + ": " + std::strerror(errno));
    if (uint64_t(gotHeader) != header.size())
        return badInput("truncated safetensors file " + name + ": the header ends early");
    return parseSafetensorsHeader(header, fileSize, fileIndex, name);
}

Status Checkpoint::addIndexedShards(const fs::path& indexPath) {
    const std::string indexName = indexPath.string();
    Result<std::string> text = readSmallFile(indexPath);
    if (!text.ok()) return text.error();
    nlohmann::json index;
    try {
        index = nlohmann::json::parse(text.value());
    } catch (const nlohmann::json::exception& e) {
        return badInput("invalid JSON in " + indexName + ": " + jsonErrorText(e));
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        return badInput(indexName + " has no \"weight_map\" object");
    const nlohmann::json& weightMap = index["weight_map"];
    if (weightMap.empty()) return badInput(indexName + " lists no tensors in its weight_map");

    std::map<std::string, std::vector<std::string>> tensorsByShard;
    for (auto it = weightMap.begin(); it != weightMap.end(); ++it) {
        if (!it.value().is_string())
            return badInput(indexName + ": weight_map entry for tensor '" + it.key() + "' is not a file name");
        const std::string shard = it.value().get<std::string>();
        if (!isPlainFileName(shard))
            return badInput(indexName + ": shard name '" + shard + "' for tensor '" + it.key() +
                            "' is not a plain file name in the model folder");
        tensorsByShard[shard].push_back(it.key());
    }
    for (const auto& [shard, names] : tensorsByShard) {
        const fs::path shardPath = dir_ / shard;
        std::error_code ec;
        if (!fs::exists(shardPath, ec))
            return badInput("missing shard " + shard + " listed in " + indexName);
        Result<std::vector<TensorInfo>> inFile = addFile(shardPath);
        if (!inFile.ok()) return inFile.error();
        std::map<std::string, const TensorInfo*> byName;
        for (const TensorInfo& t : inFile.value()) byName[t.name] = &t;
        for (const std::string& name : names) {
            auto found = byName.find(name);
            if (found == byName.end())
                return badInput("tensor '" + name + "' listed in " + indexName + " is absent from its shard " +
                                shardPath.string());
            tensors_[name] = *found->second;
        }
    }
    return {};
}

Status Checkpoint::addUnindexedFiles(const std::vector<fs::path>& paths) {
    for (const fs::path& path : paths) {
        Result<std::vector<TensorInfo>> inFile = addFile(path);
        if (!inFile.ok()) return inFile.error();
        for (TensorInfo& t : inFile.value()) {
            auto existing = tensors_.find(t.name);
            if (existing != tensors_.end())
                return badInput("tensor '" + t.name + "' appears in both " +
                                files_[size_t(existing->second.fileIndex)].string() + " and " + path.string() +
                                " and there is no " + kIndexName + " to choose");
            tensors_.emplace(t.name, std::move(t));
        }
    }
    return {};
}

Status Checkpoint::openGguf(const fs::path& path) {
    auto file = GgufFile::open(path);
    STRATA_TRY(file);
    gguf_ = std::move(file.value());
    dir_ = path.parent_path();
    auto opened = openRegularFile(path);
    STRATA_TRY(opened);
    fds_.push_back(opened.value().fd);
    files_.push_back(path);
    auto infos = hfTensorsFromGguf(*gguf_, 0);
    STRATA_TRY(infos);
    for (TensorInfo& t : infos.value()) {
        // Two GGUF names for one Hugging Face tensor (ffn_norm and post_attention_norm where both
        // mean post_attention_layernorm) would leave one of them unread without a word.
        const std::string name = t.name;
        if (!tensors_.emplace(name, std::move(t)).second)
            return badInput(path.string() + " holds two tensors that both stand for '" + name +
                            "'; the load is refused rather than using one of them");
    }
    return {};
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::open(const fs::path& modelDir) {
    std::error_code ec;
    std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
    if (fs::is_regular_file(modelDir, ec)) {
        if (fs::file_size(modelDir, ec) == 0) return badInput(modelDir.string() + " is empty");
        if (!GgufFile::hasGgufMagic(modelDir))
            return badInput(modelDir.string() + " is a file but not a GGUF model; give a GGUF file or a model folder");
        STRATA_TRY(ckpt->openGguf(modelDir));
        if (ckpt->tensors_.empty()) return badInput("the GGUF file " + modelDir.string() + " holds no tensors");
        return ckpt;
    }
    if (!fs::is_directory(modelDir, ec))
        return badInput("model folder " + modelDir.string() + " does not exist or is not a folder");
    ckpt->dir_ = modelDir;

    const fs::path indexPath = modelDir / kIndexName;
    const fs::path singlePath = modelDir / kSingleName;
    if (fs::exists(indexPath, ec)) {
        STRATA_TRY(ckpt->addIndexedShards(indexPath));
    } else if (fs::exists(singlePath, ec)) {
        STRATA_TRY(ckpt->addUnindexedFiles({singlePath}));
    } else {
        std::vector<fs::path> found;
        for (fs::directory_iterator it(modelDir, ec), end; !ec && it != end; it.increment(ec)) {
            if (it->path().extension() == ".safetensors" && it->is_regular_file(ec)) found.push_back(it->path());
        }
        if (ec) return badInput("cannot list model folder " + modelDir.string() + ": " + ec.message());
        std::sort(found.begin(), found.end());
        if (found.empty())
            return badInput("no " + std::string(kSingleName) + ", " + kIndexName + " or other .safetensors file in " +
                            modelDir.string());
        if (found.size() > 1 && !isCompleteNumberedSet(found)) {
            std::string list;
            for (const fs::path& p : found) list += (list.empty() ? "" : ", ") + p.filename().string();
            return badInput("found several .safetensors files in " + modelDir.string() + " (" + list +
                            ") but no " + kIndexName + " saying which belong to the model");
        }
        STRATA_TRY(ckpt->addUnindexedFiles(found));
    }
    if (ckpt->tensors_.empty()) return badInput("the checkpoint in " + modelDir.string() + " holds no tensors");
    return ckpt;
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

uint64_t Checkpoint::totalTensorBytes() const {
    uint64_t total = 0;
    for (const auto& [name, info] : tensors_) total += info.nbytes;
    return total;
}

Status Checkpoint::readBytes(int fileIndex, uint64_t offset, uint64_t nbytes, void* dst,
                             const std::string& what) const {
    if (fileIndex < 0 || size_t(fileIndex) >= fds_.size())
        return internalError("read of " + what + " names file index " + std::to_string(fileIndex) + " but " +
                             dir_.string() + " has " + std::to_string(fds_.size()) + " files");
    uint64_t end = 0;
    if (__builtin_add_overflow(offset, nbytes, &end) || end > uint64_t(std::numeric_limits<off_t>::max()))
        return internalError("read of " + what + " runs past the largest file offset");
    const std::string& name = files_[size_t(fileIndex)].string();
    const int64_t got = preadFully(fds_[size_t(fileIndex)], dst, nbytes, offset);
    if (got < 0) return internalError("reading " + what + " from " + name + ": " + std::strerror(errno));
    if (uint64_t(got) != nbytes)
        return badInput("file " + name + " ended while reading " + what + " (" + std::to_string(got) + " of " +
                        std::to_string(nbytes) + " bytes): was it truncated after it was opened?");
    return {};
}

Status Checkpoint::decodeRows(const TensorInfo& info, int64_t first, int64_t count, std::vector<float>& out) const {
    const StoredEncoding& enc = *info.encoding;
    const GgmlTypeTraits* traits = ggmlTypeTraits(enc.ggmlType);
    const int64_t cols = info.shape.back();
    if (!traits || cols % traits->blockElements != 0)
        return internalError("tensor '" + info.name + "' has no readable GGML encoding");
    const uint64_t rowBytes = uint64_t(cols / traits->blockElements) * traits->blockBytes;
    std::vector<uint8_t> raw(size_t(rowBytes * uint64_t(count)));
    STRATA_TRY(readBytes(info.fileIndex, info.offset + rowBytes * uint64_t(first), raw.size(), raw.data(),
                         "tensor '" + info.name + "'"));
    out.resize(size_t(cols * count));
    dequantizeGgml(GgmlType(enc.ggmlType), raw.data(), cols * count, out.data());
    if (enc.addend != 0)
        for (float& v : out) v += enc.addend;
    return {};
}

namespace {

// Writes fp32 values as the tensor's dtype; float16 must hold every value.
Status narrowFromFloat(const float* src, const TensorInfo& info, size_t n, void* dst) {
    if (info.dtype == DType::F32) {
        std::memcpy(dst, src, n * sizeof(float));
    } else if (info.dtype == DType::BF16) {
        auto* d = static_cast<uint16_t*>(dst);
        for (size_t i = 0; i < n; ++i) d[i] = floatToBf16(src[i]);
    } else {
        auto* d = static_cast<uint16_t*>(dst);
        float largest = 0;
        for (size_t i = 0; i < n; ++i) {
            d[i] = floatToF16(src[i]);
            largest = std::max(largest, std::fabs(src[i]));
        }
        if (!(largest <= 65504.0f))
            return badInput("tensor '" + info.name + "' holds a value (" + std::to_string(largest) +
                            ") beyond the float16 range it is dequantised to");
    }
    return {};
}

// llama.cpp stores each head's rows as interleaved rope pairs (r0, r_half, r1, r_half+1, ...);
// Hugging Face keeps the two halves apart. Row j of a head in the file is row
// (j % 2) * half + j / 2 of the head in Hugging Face order.
void unpermuteRows(const void* in, int64_t rows, uint64_t rowBytes, int64_t heads, void* out) {
    const int64_t perHead = rows / heads, half = perHead / 2;
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < perHead; ++j) {
            const int64_t hfRow = h * perHead + (j % 2) * half + j / 2;
            std::memcpy(static_cast<char*>(out) + uint64_t(hfRow) * rowBytes,
                        static_cast<const char*>(in) + uint64_t(h * perHead + j) * rowBytes, rowBytes);
        }
}

}  // namespace

void Checkpoint::keepPacked(DType packed) {
    const uint32_t ggmlType = packed == DType::Q8_0 ? uint32_t(GgmlType::Q8_0) : UINT32_MAX;
    for (auto& [name, info] : tensors_) {
        if (!info.encoding || info.encoding->experts || info.encoding->ggmlType != ggmlType ||
            info.encoding->addend != 0 || info.shape.size() != 2 || info.shape.back() % kQ8_0BlockElements != 0)
            continue;
        info.dtype = packed;
        info.nbytes = dtypeBytes(packed, info.numel());
        // Stored rows need no decoding; only llama.cpp's Q/K row order is undone, on whole rows.
        if (info.encoding->unpermuteHeads == 0) info.encoding.reset();
    }
}

Status Checkpoint::read(const TensorInfo& info, void* dst) const {
    if (!info.encoding) return readBytes(info.fileIndex, info.offset, info.nbytes, dst, "tensor '" + info.name + "'");
    if (info.encoding->experts) return readExperts(info, *info.encoding->experts, dst);
    if (isPacked(info.dtype)) {
        // Packed rows in the file's order, moved to Hugging Face's.
        const int64_t rows = info.shape.front();
        std::vector<uint8_t> stored(size_t(info.nbytes));
        STRATA_TRY(readBytes(info.fileIndex, info.offset, info.nbytes, stored.data(), "tensor '" + info.name + "'"));
        unpermuteRows(stored.data(), rows, info.nbytes / uint64_t(rows), info.encoding->unpermuteHeads, dst);
        return {};
    }
    const int64_t cols = info.shape.empty() ? 1 : info.shape.back();
    const int64_t rows = info.numel() / cols;
    std::vector<float> values;
    STRATA_TRY(decodeRows(info, 0, rows, values));
    if (info.encoding->unpermuteHeads > 0) {
        // A matrix's rows, or a bias's values: one per row of the matrix it goes with.
        const int64_t permuted = info.shape.front();
        std::vector<float> ordered(values.size());
        unpermuteRows(values.data(), permuted, uint64_t(info.numel() / permuted) * sizeof(float),
                      info.encoding->unpermuteHeads, ordered.data());
        values.swap(ordered);
    }
    return narrowFromFloat(values.data(), info, values.size(), dst);
}

Status Checkpoint::readRows(const TensorInfo& info, int64_t first, int64_t count, void* dst) const {
    if (info.shape.size() != 2 || first < 0 || count < 0 || first + count > info.shape[0])
        return internalError("rows " + std::to_string(first) + "+" + std::to_string(count) + " of tensor '" +
                             info.name + "' are out of range");
    if (info.encoding && info.encoding->unpermuteHeads > 0)
        return internalError("tensor '" + info.name + "' is stored permuted and can only be read whole");
    if (info.encoding && info.encoding->experts)
        return internalError("tensor '" + info.name + "' is a stack of experts and is read by whole experts");
    const uint64_t rowBytes = dtypeBytes(info.dtype, info.shape[1]);
    if (!info.encoding)
        return readBytes(info.fileIndex, info.offset + uint64_t(first) * rowBytes, uint64_t(count) * rowBytes, dst,
                         "rows of tensor '" + info.name + "'");
    std::vector<float> values;
    STRATA_TRY(decodeRows(info, first, count, values));
    return narrowFromFloat(values.data(), info, values.size(), dst);
}

Status Checkpoint::readExperts(const TensorInfo& info, const ExpertRepack& r, void* dst) const {
    // Which experts this TensorInfo covers: the whole stack, or a slice whose offset and nbytes
    // were moved by whole experts of the presented bytes (see ExpertRepack).
    const int64_t count = info.shape.empty() ? 0 : info.shape.front();
    const uint64_t sources = r.sources.size();
    if (count <= 0 || (sources != 1 && sources != 2) || r.rowsPerSource <= 0 || info.nbytes % uint64_t(count) != 0)
        return internalError("tensor '" + info.name + "' is an inconsistent stack of experts");
    const uint64_t perExpert = info.nbytes / uint64_t(count);
    const uint64_t rows = uint64_t(r.rowsPerSource) * sources;
    const uint64_t into = info.offset - r.presentedOffset;
    if (info.offset < r.presentedOffset || into % perExpert != 0 || perExpert % rows != 0 ||
        into / perExpert + uint64_t(count) > uint64_t(r.experts))
        return internalError("tensor '" + info.name + "' asks for experts outside its stack");
    const int64_t first = int64_t(into / perExpert);
    const uint64_t presentedRowBytes = perExpert / rows;
    const uint64_t groups = r.storedRowBytes / uint64_t(kMxfp4GgufBlockBytes);
    const bool mxfp4 = r.part != ExpertRepack::Part::Rows;
    const uint64_t wantRowBytes = r.part == ExpertRepack::Part::Mxfp4Blocks ? groups * 16
                                  : r.part == ExpertRepack::Part::Mxfp4Scales ? groups
                                                                               : r.storedRowBytes;
    if ((mxfp4 && r.storedRowBytes % uint64_t(kMxfp4GgufBlockBytes) != 0) || presentedRowBytes != wantRowBytes)
        return internalError("tensor '" + info.name + "' does not match the rows it is rebuilt from");

    // One expert of one source at a time: its rows are contiguous in the file. (The blocks and the
    // scales of a stack each read the same stored blocks; the second read mostly finds them in the
    // page cache, and splitting them here keeps each presented tensor readable on its own.)
    const uint64_t storedExpertBytes = uint64_t(r.rowsPerSource) * r.storedRowBytes;
    std::vector<uint8_t> stored(static_cast<size_t>(storedExpertBytes));
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t e = first; e < first + count; ++e) {
        uint8_t* expert = out + uint64_t(e - first) * perExpert;
        for (uint64_t s = 0; s < sources; ++s) {
            const ExpertRepack::Source& src = r.sources[size_t(s)];
            STRATA_TRY(readBytes(info.fileIndex, src.offset + uint64_t(e) * storedExpertBytes, storedExpertBytes,
                                 stored.data(),
                                 "expert " + std::to_string(e) + " of tensor '" + src.name + "' (for '" + info.name +
                                     "')"));
            for (int64_t row = 0; row < r.rowsPerSource; ++row) {
                const uint8_t* in = stored.data() + uint64_t(row) * r.storedRowBytes;
                uint8_t* to = expert + (uint64_t(row) * sources + s) * presentedRowBytes;
                switch (r.part) {
                case ExpertRepack::Part::Rows: std::memcpy(to, in, size_t(presentedRowBytes)); break;
                case ExpertRepack::Part::Mxfp4Blocks: mxfp4GgufToHf(in, int64_t(groups), to, nullptr); break;
                case ExpertRepack::Part::Mxfp4Scales: mxfp4GgufToHf(in, int64_t(groups), nullptr, to); break;
                }
            }
        }
    }
    return {};
}

Status Checkpoint::readRange(int fileIndex, uint64_t offset, uint64_t nbytes, void* dst) const {
    return readBytes(fileIndex, offset, nbytes, dst,
                     "bytes " + std::to_string(offset) + ".." + std::to_string(offset + nbytes));
}

}  // namespace strata
