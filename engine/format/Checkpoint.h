#pragma once
// The tensors of a model: a Hugging Face checkpoint folder (model.safetensors, or shards listed by
// model.safetensors.index.json) or a GGUF file. Tensors are read by byte range from the original
// files. GGUF tensors are presented under their Hugging Face names and converted as they are read
// (dequantised, llama.cpp's storage conventions undone), so the rest of the engine sees one kind
// of checkpoint.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/DType.h"
#include "core/Result.h"

namespace strata {

class GgufFile;

// A stack of experts that llama.cpp stores differently from Hugging Face, presented in Hugging
// Face's layout and rebuilt as it is read (GgufConventions::gateUpExperts):
//  - Rows: the experts' rows as stored, or the rows of two stored tensors interleaved (row 2j
//    from the first, 2j + 1 from the second), as gate and up rows (and biases) share one
//    matrix in Hugging Face's checkpoints and lie in two tensors in llama.cpp's.
//  - Mxfp4Blocks, Mxfp4Scales: the same rows of MXFP4 (17-byte GGUF blocks) split into Hugging
//    Face's two tensors: the 16 bytes of nibbles of each block in Hugging Face's element order, and
//    its scale byte. The values are not touched, so the experts stay MXFP4 for the products.
// Experts are the outermost dimension in both layouts, so experts can be read one at a time: a
// TensorInfo copied from the presented one, with a first dimension of n and offset and nbytes moved
// to cover n whole experts of the presented bytes (as splitExperts cuts an expert's slice), reads
// just those experts' stored bytes. (offset is then a position in the presented bytes, not in the
// file: only the stored parts' offsets below are.)
struct ExpertRepack {
    enum class Part { Rows, Mxfp4Blocks, Mxfp4Scales };
    struct Source {
        std::string name;     // the stored GGUF tensor, for messages
        uint64_t offset = 0;  // absolute byte offset of its data in the file
    };
    Part part = Part::Rows;
    std::vector<Source> sources;     // one, or two whose rows are interleaved
    int64_t experts = 0;             // in the whole stack
    int64_t rowsPerSource = 0;       // rows of one expert in each source
    uint64_t storedRowBytes = 0;     // one such row as stored
    uint64_t presentedOffset = 0;    // TensorInfo::offset of the whole presented stack
};

// How a GGUF tensor is stored, when reading it is more than copying dtype bytes.
struct StoredEncoding {
    uint32_t ggmlType = 0;       // ggml type id of the stored blocks
    float addend = 0;            // added to every value: -1 undoes the w+1 folding of norms stored so
    int64_t unpermuteHeads = 0;  // > 0: undo llama.cpp's Q/K row permutation for this many heads
    std::optional<ExpertRepack> experts;  // experts regrouped into Hugging Face's layout
};

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    int fileIndex = 0;      // into Checkpoint::files()
    uint64_t offset = 0;    // absolute byte offset in that file
    uint64_t nbytes = 0;    // bytes that read() writes: numel() elements of dtype
    std::optional<StoredEncoding> encoding;  // GGUF tensors only

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

class Checkpoint {
public:
    // A GGUF file, or a folder: opens every safetensors file of the folder and validates each
    // header against its file. The folder holds model.safetensors, or model.safetensors.index.json
    // naming shards, or (without an index) one *.safetensors file or a complete set named
    // <stem>-NNNNN-of-MMMMM.safetensors.
    static Result<std::unique_ptr<Checkpoint>> open(const std::filesystem::path& modelPath);
    ~Checkpoint();
    Checkpoint(const Checkpoint&) = delete;
    Checkpoint& operator=(const Checkpoint&) = delete;

    const TensorInfo* find(const std::string& name) const;
    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    const std::vector<std::filesystem::path>& files() const { return files_; }
    uint64_t totalTensorBytes() const;

    // Reads the tensor (info.nbytes) into dst. Thread-safe (pread).
    Status read(const TensorInfo& info, void* dst) const;
    // Reads rows [first, first + count) of a 2-D tensor (rows of shape[1] elements) into dst. Not for
    // regrouped experts, which are read by whole experts.
    Status readRows(const TensorInfo& info, int64_t first, int64_t count, void* dst) const;
    // Reads nbytes starting at an absolute offset of files()[fileIndex] into dst. Thread-safe.
    Status readRange(int fileIndex, uint64_t offset, uint64_t nbytes, void* dst) const;

    // Keeps the GGUF matrices stored as `packed` (Q8_0) in that type instead of widening them to
    // float16 as they are read: read() then returns their blocks, rows in Hugging Face order. For
    // a backend whose products read the packed type (Ops::multipliesPacked).
    void keepPacked(DType packed);

    // The folder of a safetensors checkpoint, the folder holding a GGUF file.
    const std::filesystem::path& dir() const { return dir_; }
    // The parsed GGUF file (metadata included), or nullptr for a safetensors checkpoint.
    const GgufFile* gguf() const { return gguf_.get(); }

private:
    Checkpoint() = default;
    Status readBytes(int fileIndex, uint64_t offset, uint64_t nbytes, void* dst, const std::string& what) const;
    // Opens one file, keeps its descriptor and returns the tensors its header lists.
    Result<std::vector<TensorInfo>> addFile(const std::filesystem::path& path);
    Status addIndexedShards(const std::filesystem::path& indexPath);
    Status addUnindexedFiles(const std::vector<std::filesystem::path>& paths);
    Status openGguf(const std::filesystem::path& path);
    // Decodes rows of a GGUF tensor to fp32 (dequantised, addend applied).
    Status decodeRows(const TensorInfo& info, int64_t first, int64_t count, std::vector<float>& out) const;
    // Reads the experts a TensorInfo with an ExpertRepack covers, rebuilt in Hugging Face's layout.
    Status readExperts(const TensorInfo& info, const ExpertRepack& repack, void* dst) const;

    std::filesystem::path dir_;
    std::vector<std::filesystem::path> files_;
    std::vector<int> fds_;
    std::map<std::string, TensorInfo> tensors_;
    std::unique_ptr<GgufFile> gguf_;
};

}  // namespace strata
