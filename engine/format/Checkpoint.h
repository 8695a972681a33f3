#pragma once
// The tensors of a Hugging Face checkpoint folder: model.safetensors, or shards listed by
// model.safetensors.index.json. Tensors are read by byte range from the original files.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/DType.h"
#include "core/Result.h"

namespace strata {

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    int fileIndex = 0;      // into Checkpoint::files()
    uint64_t offset = 0;    // absolute byte offset in that file
    uint64_t nbytes = 0;

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

class Checkpoint {
public:
    // Opens every safetensors file of the folder and validates each header against its file.
    // The folder holds model.safetensors, or model.safetensors.index.json naming shards, or (without
    // an index) one *.safetensors file or a complete set named <stem>-NNNNN-of-MMMMM.safetensors.
    static Result<std::unique_ptr<Checkpoint>> open(const std::filesystem::path& modelDir);
    ~Checkpoint();
    Checkpoint(const Checkpoint&) = delete;
    Checkpoint& operator=(const Checkpoint&) = delete;

    const TensorInfo* find(const std::string& name) const;
    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    const std::vector<std::filesystem::path>& files() const { return files_; }
    uint64_t totalTensorBytes() const;

    // Reads the tensor's bytes (info.nbytes) into dst. Thread-safe (pread).
    Status read(const TensorInfo& info, void* dst) const;
    // Reads nbytes starting at an absolute offset of files()[fileIndex] into dst. Thread-safe.
    Status readRange(int fileIndex, uint64_t offset, uint64_t nbytes, void* dst) const;

    const std::filesystem::path& dir() const { return dir_; }

private:
    Checkpoint() = default;
    Status readBytes(int fileIndex, uint64_t offset, uint64_t nbytes, void* dst, const std::string& what) const;
    // Opens one file, keeps its descriptor and returns the tensors its header lists.
    Result<std::vector<TensorInfo>> addFile(const std::filesystem::path& path);
    Status addIndexedShards(const std::filesystem::path& indexPath);
    Status addUnindexedFiles(const std::vector<std::filesystem::path>& paths);

    std::filesystem::path dir_;
    std::vector<std::filesystem::path> files_;
    std::vector<int> fds_;
    std::map<std::string, TensorInfo> tensors_;
};

}  // namespace strata
