#pragma once
// One layer's KV blocks on disk: an append-only file in the session's KV folder. It is both the
// SSD tier of the paged KV cache and the session's saved state, so it must survive a killed
// process and a full disk without ever handing back damaged data.
//
// One file per layer, not per session: prefill is layer-major, so each layer appends its blocks
// in turn and a per-layer file keeps them contiguous for the per-layer prefetch; a rewind or a
// sliding window drops blocks of one layer by truncating its own file; and a torn append or a
// damaged sector costs one layer, not the session.
//
// Layout (little-endian, as every Linux target of Strata is):
//   file header, 64 bytes: "STRATAKV", u32 version, u32 header bytes (64), u32 layer index,
//     u32 row floats, u32 block tokens, u32 stored type (1 = F32, 2 = F16, 3 = BF16),
//     28 reserved zero bytes, u32 CRC-32C of the 60 bytes before it.
//   records, one after another:
//     32-byte record header: "KVBK", u32 block index, i64 first position, u32 tokens,
//       u32 payload bytes, u32 CRC-32C of header bytes 0..23 followed by the payload,
//       u32 CRC-32C of header bytes 0..27 (lets open() walk the headers without reading payloads);
//     payload: the K rows then the V rows of the block's tokens, rowFloats values each.
//
// Block i's live record is the last record of index i. A record may carry the index of the newest
// block again: it replaces that block (a partial block that has grown, or one rewritten after a
// rewind) while the old record stays valid on disk until the new one is complete.
//
// open() walks the record headers and checks the checksum of the last record only, so reopening a
// long session costs one block read, not a read of every block. What an append that was cut off
// left behind (a short record, a bad header or a bad checksum at the tail) is cut off and reported
// by droppedTailBytes(); a block whose checksum fails further in is found by readBlock(), which
// reports it and never hands its data back.
//
// Errors: damaged or foreign files are badInput naming the file (and the layer, block and
// positions where it applies); ENOSPC or EDQUOT on a write is diskFull, after which the file is as
// it was before the call; other I/O failures are internalError.
//
// Not thread-safe across append/truncateToBlocks and other calls; concurrent readBlock calls are.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/DType.h"
#include "core/Result.h"

namespace strata {

struct KvBlockGeometry {
    int64_t layerIndex = 0;
    int64_t rowFloats = 0;     // numKvHeads * headDim: the floats of one position's K (and of its V)
    int64_t blockTokens = 0;   // positions per block
    DType storedType = DType::F32;  // only F32 is written for now

    bool operator==(const KvBlockGeometry&) const = default;
};

// "layer 3, 1024 floats per row, 16 tokens per block, F32"
std::string describe(const KvBlockGeometry& geometry);

struct KvBlockRecord {
    int64_t blockIndex = 0;
    int64_t firstPos = 0;
    int64_t tokens = 0;   // 1..blockTokens; a block's K and V each hold tokens * rowFloats floats
    uint64_t offset = 0;  // where the record header starts in the file
    uint64_t bytes = 0;   // header and payload
};

class KvBlockFile {
public:
    static constexpr uint32_t kFormatVersion = 1;
    static constexpr uint64_t kFileHeaderBytes = 64;
    static constexpr uint64_t kRecordHeaderBytes = 32;

    // Creates the file (refusing to replace an existing one), writes its header and makes the
    // file and its directory entry durable.
    static Result<KvBlockFile> create(const std::filesystem::path& path, const KvBlockGeometry& geometry);
    // Opens a file for reading and further appends, rejecting another geometry, a newer version
    // or a damaged header; a torn tail is cut off (see droppedTailBytes). A file that cannot be
    // opened for writing is opened read-only and append() then says so.
    static Result<KvBlockFile> open(const std::filesystem::path& path, const KvBlockGeometry& expected);

    KvBlockFile(KvBlockFile&& other) noexcept;
    KvBlockFile& operator=(KvBlockFile&& other) noexcept;
    KvBlockFile(const KvBlockFile&) = delete;
    KvBlockFile& operator=(const KvBlockFile&) = delete;
    ~KvBlockFile();

    // Appends block blockIndex (== blockCount() for a new block, == blockCount() - 1 to replace
    // the newest one) holding positions firstPos .. firstPos + tokens - 1; k and v hold
    // tokens * rowFloats floats each. Not durable until sync().
    Status append(int64_t blockIndex, int64_t firstPos, int64_t tokens, const float* k, const float* v);
    // Reads block blockIndex into k and v (record(blockIndex).tokens * rowFloats floats each) after
    // checking its checksum; on any failure k and v are filled with NaN.
    Status readBlock(int64_t blockIndex, float* k, float* v) const;
    // Keeps blocks 0 .. count - 1 (a rewound session); durable after sync().
    Status truncateToBlocks(int64_t count);
    // fdatasync: what was appended or truncated before it survives a crash.
    Status sync();

    int64_t blockCount() const { return int64_t(records_.size()); }
    const KvBlockRecord& record(int64_t blockIndex) const { return records_[size_t(blockIndex)]; }
    uint64_t recordOffset(int64_t blockIndex) const { return record(blockIndex).offset; }
    uint64_t recordBytes(int64_t blockIndex) const { return record(blockIndex).bytes; }
    // Bytes of the file that hold the header and records; appends go here.
    uint64_t endOffset() const { return end_; }
    // What open() cut off the end of the file: the remains of an append that never completed.
    uint64_t droppedTailBytes() const { return droppedTailBytes_; }
    bool writable() const { return writable_; }
    const KvBlockGeometry& geometry() const { return geometry_; }
    const std::filesystem::path& path() const { return path_; }

private:
    KvBlockFile() = default;
    std::string blockName(int64_t blockIndex, int64_t firstPos, int64_t tokens) const;
    Status scanRecords(uint64_t fileSize);
    Status rollBack();
    Status writeFailure(int err, const std::string& what) const;

    std::filesystem::path path_;
    KvBlockGeometry geometry_;
    int fd_ = -1;
    bool writable_ = false;
    bool tailDirty_ = false;  // a failed write left bytes past end_ that could not be cut off yet
    uint64_t end_ = 0;
    uint64_t droppedTailBytes_ = 0;
    std::vector<KvBlockRecord> records_;  // the live record of each block
};

}  // namespace strata
