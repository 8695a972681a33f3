#pragma once
// Reads whole weight units from the checkpoint files into 4096-aligned buffers: each extent of the
// unit (see WeightLayout) is cut into large aligned pieces that several threads read at once, with
// O_DIRECT where the file system allows it, so that streamed weights neither pass through nor evict
// the page cache and an NVMe drive sees enough requests in flight to reach its bandwidth. Tensors
// that need converting (GGUF-quantised) are read through Checkpoint::read.
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/Result.h"
#include "format/Checkpoint.h"
#include "runtime/WeightLayout.h"

namespace strata {

class UnitReader {
public:
    // threads: reads in flight at once (at least 1).
    static Result<std::unique_ptr<UnitReader>> open(const Checkpoint& checkpoint, const WeightLayout& layout,
                                                    int threads = 4);
    ~UnitReader();
    UnitReader(const UnitReader&) = delete;
    UnitReader& operator=(const UnitReader&) = delete;

    // dst: UnitExtent::kAlignment-aligned, layout.units[unit].bytes long. One call at a time.
    Status read(int unit, char* dst);
    // The same for a unit that is not one of the layout's (an expert part).
    Status read(const WeightUnit& unit, char* dst);

    // Every file was opened with O_DIRECT (false on file systems that refuse it, such as tmpfs).
    bool direct() const { return direct_; }

private:
    struct Piece {
        int file;
        uint64_t offset;  // aligned
        uint64_t bytes;   // aligned
        uint64_t needed;  // bytes the file must supply (less at the end of the file)
        char* dst;
    };
    UnitReader(const Checkpoint& checkpoint, const WeightLayout& layout) : checkpoint_(checkpoint), layout_(layout) {}
    Status readPiece(const Piece& p) const;
    void workerLoop();

    const Checkpoint& checkpoint_;
    const WeightLayout& layout_;
    std::vector<int> fds_;
    bool direct_ = true;

    std::mutex mutex_;
    std::condition_variable work_, done_;
    std::vector<Piece> pieces_;
    size_t nextPiece_ = 0;
    size_t running_ = 0;
    Status error_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace strata
