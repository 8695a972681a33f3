#pragma once
// The KV cache of one sequence, paged: each layer's K and V live in blocks of blockTokens
// positions, and each block sits in one of three tiers chosen by budget:
//   - resident: backend memory (VRAM on a device, RAM on the CPU), read in place by attention;
//   - host: RAM (pinned on a GPU), copied into a staging block when attention needs it;
//   - disk: a record of the layer's KvBlockFile, read (checksum checked) into a staging block.
// Which blocks stay resident is fixed by position, not by recency: attention scans every block of
// a layer for every token, and a scan defeats any recency order. A full-attention layer keeps its
// oldest blocks and its newest (the one being written); a sliding-window layer keeps only the
// blocks its window can still see and frees the rest.
//
// Attention merges the blocks in position order through Ops::attentionAccumulate, a few staging
// blocks at a time, so the result is bit-identical whichever tier each block came from.
//
// A saved session persists its cache: flush() appends every block that is not yet on disk (and
// the partly filled newest block, which a later flush replaces) and makes the files durable;
// open() rebuilds a cache from the files for a given length, cutting off anything written after.
//
// A cache made by fork() continues another: it sees the parent's first parent.length() positions
// and appends its own after them, never changing the parent. Batched questions on one document
// are forks of the document's cache.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "kv/KvBlockFile.h"
#include "kv/KvShape.h"

namespace strata {

struct KvCacheOptions {
    int64_t blockTokens = 256;
    uint64_t residentBytes = 0;  // backend memory for blocks, staging included; 0: no limit
    uint64_t hostBytes = 0;      // RAM for blocks beyond residentBytes before they go to disk
    int stagingBlocks = 4;       // blocks brought in from RAM or disk per attention call
    // Where the layer files live: needed for a persistent cache and whenever a budget can be
    // exceeded. Files are created on first use.
    std::filesystem::path directory;
    bool persist = false;  // flush() saves every block: the cache is a session's state
};

// One block written by flush(), for a session's manifest.
struct KvFlushedBlock {
    int64_t layer = 0;
    KvBlockRecord record;
    std::string fileName;
};

struct KvCacheStats {
    int64_t residentBlocks = 0;
    int64_t hostBlocks = 0;
    int64_t diskBlocks = 0;
    uint64_t residentBytes = 0;  // blocks and staging now held in backend memory
    uint64_t diskBytesRead = 0;
    uint64_t diskBytesWritten = 0;
    double diskReadSeconds = 0;
};

class KvCache {
public:
    static Result<std::unique_ptr<KvCache>> create(Ops& ops, const KvShape& config, const KvCacheOptions& options);
    // Rebuilds the cache of positions [0, length) from the layer files in options.directory.
    // Records past length are cut off the files; blocks within the resident budget are loaded
    // (their checksums checked) and the rest stay on disk. Missing positions or a damaged block
    // are badInput naming the file.
    static Result<std::unique_ptr<KvCache>> open(Ops& ops, const KvShape& config, const KvCacheOptions& options,
                                                 int64_t length);
    // A cache that continues `parent` from its current length; parent must outlive it and must not
    // change while it exists.
    static Result<std::unique_ptr<KvCache>> fork(const KvCache& parent, const KvCacheOptions& options);
    ~KvCache();
    KvCache(const KvCache&) = delete;
    KvCache& operator=(const KvCache&) = delete;

    int64_t length() const { return length_; }
    int64_t ownStart() const { return ownStart_; }  // the first position held by this cache itself
    const KvCache* parent() const { return parent_; }
    // Marks positions up to `length` complete in every layer (after a forward pass).
    void setLength(int64_t length) { length_ = length; }

    // Stores K and V [n, rowFloats] (backend memory) of positions [firstPos, firstPos + n) of one
    // layer. firstPos at or before the layer's end: anything from firstPos on is replaced.
    Status write(int64_t layer, const float* k, const float* v, int64_t firstPos, int64_t n);
    // Merges this cache's own blocks of `layer` (not the parent's) into the attention state of the
    // queries q [n, numHeads, headDim] at positions; see Ops::attentionAccumulate.
    Status accumulate(int64_t layer, const float* q, int64_t n, const int32_t* positions,
                      const AttentionShape& shape, const AttentionState& state) const;
    // The same over the blocks of this cache and of its parents, oldest first.
    Status accumulateAll(int64_t layer, const float* q, int64_t n, const int32_t* positions,
                         const AttentionShape& shape, const AttentionState& state) const;

    // Persists every block not yet on disk, then makes the files durable. Returns what was
    // written. A full disk is diskFull: the blocks written before stay valid and a later flush
    // writes the rest.
    Result<std::vector<KvFlushedBlock>> flush();

    KvCacheStats stats() const;
    // K and V of `tokens` positions in every layer.
    static uint64_t bytesFor(const KvShape& config, int64_t tokens);
    // Backend bytes of one block (K and V).
    static uint64_t blockBytes(const KvShape& config, int64_t blockTokens);
    static std::string layerFileName(int64_t layer);

private:
    struct Block;
    struct Layer;
    KvCache(Ops& ops, const KvShape& config, const KvCacheOptions& options);
    Status planQuotas();
    Result<KvBlockFile*> file(int64_t layer);
    Status truncate(Layer& layer, int64_t position);
    Status makeRoom(int64_t layerIndex, int64_t firstQueryPos);
    Status evict(int64_t layerIndex, Block& block);
    Status writeRecord(int64_t layerIndex, Block& block);
    Status readRecord(int64_t layerIndex, const Block& block, float* dst);
    float* takeBuffer();
    void giveBack(float* buffer);
    Status accumulateUpTo(int64_t layer, const float* q, int64_t n, const int32_t* positions,
                          const AttentionShape& shape, const AttentionState& state, int64_t limit) const;

    Ops& ops_;
    const KvShape& config_;
    KvCacheOptions options_;
    int64_t rowFloats_ = 0;
    int64_t blockFloats_ = 0;  // K then V
    const KvCache* parent_ = nullptr;
    int64_t ownStart_ = 0;
    int64_t length_ = 0;
    std::vector<std::unique_ptr<Layer>> layers_;
    std::vector<float*> freeBuffers_;
    int64_t residentBuffers_ = 0;  // allocated from the backend, blocks and staging
    HostMemory hostMemory_;
    int64_t hostQuota_ = 0, hostUsed_ = 0;
    mutable std::vector<float*> staging_;
    mutable std::vector<float> bounce_;  // disk to device
    mutable std::vector<KvSegment> pending_;
    mutable KvCacheStats stats_;
};

}  // namespace strata
