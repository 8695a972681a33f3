#include "kv/KvCache.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <new>

#include "core/Clock.h"
#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"

namespace strata {

namespace {
constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();
}

struct KvCache::Block {
    int64_t firstPos = 0;
    int64_t tokens = 0;
    float* resident = nullptr;   // backend memory: K rows then V rows
    float* host = nullptr;       // the host tier (Ops::hostMemory, pinned on a GPU), when not resident
    int64_t fileIndex = -1;      // its record in the layer file
    int64_t writtenTokens = 0;   // tokens that record holds
    bool dropped = false;        // out of a sliding window: never needed again
    bool onDisk() const { return !resident && !host && !dropped; }
};

struct KvCache::Layer {
    std::vector<Block> blocks;
    int64_t end = 0;  // positions written
    int64_t quota = kUnlimited;
    int64_t resident = 0;
    int64_t window = 0;
    std::optional<KvBlockFile> file;
};

KvCache::KvCache(Ops& ops, const KvShape& config, const KvCacheOptions& options)
    : ops_(ops), config_(config), options_(options), hostMemory_(ops.hostMemory()) {
    rowFloats_ = config.numKvHeads * config.headDim;
    blockFloats_ = 2 * options.blockTokens * rowFloats_;
}

KvCache::~KvCache() {
    for (auto& layer : layers_)
        for (Block& b : layer->blocks) {
            if (b.resident) ops_.release(b.resident);
            if (b.host) hostMemory_.free(b.host);
        }
    for (float* p : freeBuffers_) ops_.release(p);
    for (float* p : staging_) ops_.release(p);
}

uint64_t KvCache::bytesFor(const KvShape& c, int64_t tokens) {
    return uint64_t(c.numLayers) * blockBytes(c, tokens);
}

uint64_t KvCache::blockBytes(const KvShape& c, int64_t blockTokens) {
    return uint64_t(2 * blockTokens * c.numKvHeads * c.headDim) * sizeof(float);
}

std::string KvCache::layerFileName(int64_t layer) {
    char name[32];
    std::snprintf(name, sizeof name, "layer-%03lld.kv", static_cast<long long>(layer));
    return name;
}

Status KvCache::planQuotas() {
    const int64_t layers = config_.numLayers;
    for (int64_t i = 0; i < layers; ++i) {
        layers_.push_back(std::make_unique<Layer>());
        layers_.back()->window = config_.isSlidingLayer(i) ? config_.slidingWindow : 0;
    }
    const uint64_t bytes = blockBytes(config_, options_.blockTokens);
    hostQuota_ = int64_t(options_.hostBytes / bytes);
    if (options_.residentBytes == 0) return {};
    const int64_t blocks = int64_t(options_.residentBytes / bytes) - options_.stagingBlocks;
    if (blocks < layers)
        return badInput("a KV budget of " + formatBytes(options_.residentBytes) + " is below the minimum of " +
                        formatBytes(uint64_t(layers + options_.stagingBlocks) * bytes) + " (one block of " +
                        std::to_string(options_.blockTokens) + " tokens per layer and " +
                        std::to_string(options_.stagingBlocks) + " staging blocks)");
    // A sliding layer never needs more than the blocks its window spans; the rest is shared by
    // the full-attention layers.
    int64_t left = blocks, fullLayers = 0;
    for (auto& l : layers_) {
        if (l->window > 0) {
            l->quota = (l->window + options_.blockTokens - 2) / options_.blockTokens + 2;
            left -= l->quota;
        } else {
            ++fullLayers;
        }
    }
    if (left < fullLayers) {  // too tight for whole windows: an equal share each
        for (auto& l : layers_) l->quota = blocks / layers;
        return {};
    }
    for (auto& l : layers_)
        if (l->window == 0) l->quota = left / fullLayers;
    return {};
}

Result<std::unique_ptr<KvCache>> KvCache::create(Ops& ops, const KvShape& config, const KvCacheOptions& options) {
    if (options.blockTokens <= 0) return badInput("the KV block size must be at least one token");
    if (options.persist && options.directory.empty())
        return badInput("a saved KV cache needs a folder for its files");
    std::unique_ptr<KvCache> cache(new KvCache(ops, config, options));
    STRATA_TRY(cache->planQuotas());
    return cache;
}

Result<std::unique_ptr<KvCache>> KvCache::fork(const KvCache& parent, const KvCacheOptions& options) {
    auto cache = create(parent.ops_, parent.config_, options);
    STRATA_TRY(cache);
    KvCache& c = *cache.value();
    c.parent_ = &parent;
    c.ownStart_ = c.length_ = parent.length();
    for (auto& l : c.layers_) l->end = c.ownStart_;
    return cache;
}

Result<std::unique_ptr<KvCache>> KvCache::open(Ops& ops, const KvShape& config, const KvCacheOptions& options,
                                               int64_t length) {
    auto made = create(ops, config, options);
    STRATA_TRY(made);
    KvCache& c = *made.value();
    if (length <= 0) return made;
    for (int64_t li = 0; li < config.numLayers; ++li) {
        Layer& layer = *c.layers_[size_t(li)];
        const std::filesystem::path path = options.directory / layerFileName(li);
        auto file = KvBlockFile::open(path, KvBlockGeometry{li, c.rowFloats_, options.blockTokens, DType::F32});
        STRATA_TRY(file);
        layer.file.emplace(std::move(file.value()));
        KvBlockFile& f = *layer.file;
        // The positions a query at `length` or later can see.
        const int64_t needFrom = layer.window > 0 ? std::max<int64_t>(0, length - layer.window + 1) : 0;
        int64_t keep = 0;
        for (int64_t r = 0; r < f.blockCount(); ++r) {
            const KvBlockRecord& rec = f.record(r);
            if (rec.firstPos >= length) break;
            keep = r + 1;
            const int64_t index = rec.firstPos / options.blockTokens;
            if (rec.firstPos % options.blockTokens != 0 || index < int64_t(layer.blocks.size()))
                return badInput(path.string() + ": block " + std::to_string(r) + " starts at position " +
                                std::to_string(rec.firstPos) + ", out of order for blocks of " +
                                std::to_string(options.blockTokens) + " tokens");
            while (int64_t(layer.blocks.size()) < index) {  // a sliding layer's blocks that were never kept
                Block gap;
                gap.firstPos = int64_t(layer.blocks.size()) * options.blockTokens;
                gap.tokens = options.blockTokens;
                gap.dropped = true;
                layer.blocks.push_back(std::move(gap));
            }
            Block b;
            b.firstPos = rec.firstPos;
            b.tokens = std::min(rec.tokens, length - rec.firstPos);
            b.fileIndex = r;
            b.writtenTokens = b.tokens;
            layer.blocks.push_back(std::move(b));
        }
        // Every position a later query can see must be there: no missing or partial block before the last.
        const int64_t covered = layer.blocks.empty() ? 0 : layer.blocks.back().firstPos + layer.blocks.back().tokens;
        int64_t keptFrom = covered;
        for (size_t i = layer.blocks.size(); i-- > 0;) {
            const Block& b = layer.blocks[i];
            const bool whole = i + 1 == layer.blocks.size() || b.tokens == options.blockTokens;
            if (b.dropped || !whole) break;
            keptFrom = b.firstPos;
        }
        if (covered < length || keptFrom > needFrom)
            return badInput(path.string() + " holds positions " + std::to_string(keptFrom) + ".." +
                            std::to_string(covered) + " of layer " + std::to_string(li) + ", but the session needs " +
                            std::to_string(needFrom) + ".." + std::to_string(length) +
                            "; its KV cannot be used (run the prompt again)");
        if (keep < f.blockCount()) STRATA_TRY(f.truncateToBlocks(keep));
        layer.end = length;
        // Load what the budget keeps resident: the oldest blocks, and the newest to write into.
        for (size_t i = 0; i < layer.blocks.size(); ++i) {
            Block& b = layer.blocks[i];
            const bool newest = i + 1 == layer.blocks.size();
            if (b.dropped || (!newest && layer.resident >= layer.quota - 1)) continue;
            float* buffer = c.takeBuffer();
            if (!buffer) return internalError("out of memory loading the KV cache");
            const Status read = c.readRecord(li, b, buffer);
            if (!read.ok()) {
                c.giveBack(buffer);
                return read.error();
            }
            b.resident = buffer;
            ++layer.resident;
        }
    }
    c.length_ = length;
    return made;
}

float* KvCache::takeBuffer() {
    if (!freeBuffers_.empty()) {
        float* p = freeBuffers_.back();
        freeBuffers_.pop_back();
        return p;
    }
    try {
        float* p = ops_.allocate(size_t(blockFloats_));
        ++residentBuffers_;
        return p;
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}

void KvCache::giveBack(float* buffer) { freeBuffers_.push_back(buffer); }

Result<KvBlockFile*> KvCache::file(int64_t li) {
    Layer& layer = *layers_[size_t(li)];
    if (layer.file) return &*layer.file;
    if (options_.directory.empty())
        return badInput("the KV cache outgrew its budget of " + formatBytes(options_.residentBytes) +
                        " and has no folder to spill to");
    std::error_code ec;
    std::filesystem::create_directories(options_.directory, ec);
    if (ec) return internalError("cannot create the KV folder " + options_.directory.string() + ": " + ec.message());
    auto f = KvBlockFile::create(options_.directory / layerFileName(li),
                                 KvBlockGeometry{li, rowFloats_, options_.blockTokens, DType::F32});
    STRATA_TRY(f);
    layer.file.emplace(std::move(f.value()));
    return &*layer.file;
}

Status KvCache::readRecord(int64_t li, const Block& b, float* dst) {
    const Layer& layer = *layers_[size_t(li)];
    const int64_t floats = b.tokens * rowFloats_;
    const auto start = SteadyClock::now();
    // A record may hold more tokens than the block uses (a session rewound to an earlier length).
    const int64_t recordFloats = layer.file->record(b.fileIndex).tokens * rowFloats_;
    float* k = dst;
    float* v = dst + blockFloats_ / 2;
    if (!ops_.memoryIsHost() || recordFloats != floats) {
        bounce_.resize(size_t(2 * recordFloats));
        k = bounce_.data();
        v = bounce_.data() + recordFloats;
    }
    STRATA_TRY(layer.file->readBlock(b.fileIndex, k, v));
    if (k != dst) {
        ops_.upload(dst, k, size_t(floats));
        ops_.upload(dst + blockFloats_ / 2, v, size_t(floats));
    }
    stats_.diskBytesRead += uint64_t(2 * recordFloats) * sizeof(float);
    stats_.diskReadSeconds += secondsSince(start);
    return {};
}

Status KvCache::writeRecord(int64_t li, Block& b) {
    auto f = file(li);
    STRATA_TRY(f);
    KvBlockFile& file = *f.value();
    const int64_t index = b.fileIndex >= 0 ? b.fileIndex : file.blockCount();
    if (index != file.blockCount() && index != file.blockCount() - 1)
        return internalError(file.path().string() + ": block " + std::to_string(index) +
                             " cannot be rewritten after newer blocks");
    const float* k;
    const float* v;
    const int64_t floats = b.tokens * rowFloats_;
    if (b.resident && !ops_.memoryIsHost()) {
        bounce_.resize(size_t(2 * floats));
        ops_.download(bounce_.data(), b.resident, size_t(floats));
        ops_.download(bounce_.data() + floats, b.resident + blockFloats_ / 2, size_t(floats));
        k = bounce_.data();
        v = bounce_.data() + floats;
    } else if (b.resident) {
        k = b.resident;
        v = b.resident + blockFloats_ / 2;
    } else {
        k = b.host;
        v = b.host + blockFloats_ / 2;
    }
    STRATA_TRY(file.append(index, b.firstPos, b.tokens, k, v));
    b.fileIndex = index;
    b.writtenTokens = b.tokens;
    stats_.diskBytesWritten += uint64_t(2 * floats) * sizeof(float);
    return {};
}

Status KvCache::evict(int64_t li, Block& b) {
    Layer& layer = *layers_[size_t(li)];
    // A saved layer file keeps its blocks in position order, so the older blocks go first.
    if (options_.persist)
        for (Block& older : layer.blocks) {
            if (&older == &b) break;
            if (!older.dropped && older.writtenTokens < older.tokens) STRATA_TRY(writeRecord(li, older));
        }
    float* host = hostUsed_ < hostQuota_ && b.writtenTokens < b.tokens
                      ? static_cast<float*>(hostMemory_.allocate(uint64_t(blockFloats_) * sizeof(float)))
                      : nullptr;
    if (host) {
        ops_.download(host, b.resident, size_t(blockFloats_));
        b.host = host;
        ++hostUsed_;
    } else if (b.writtenTokens < b.tokens) {
        STRATA_TRY(writeRecord(li, b));
    }
    giveBack(b.resident);
    b.resident = nullptr;
    --layer.resident;
    return {};
}

// Before a new block is started at a write whose first query is at firstQueryPos: frees the blocks
// a sliding window no longer sees, then, at the quota, moves the newest full block (a full layer)
// or the oldest (a sliding one) out of backend memory.
Status KvCache::makeRoom(int64_t li, int64_t firstQueryPos) {
    Layer& layer = *layers_[size_t(li)];
    for (Block& b : layer.blocks) {
        if (layer.window <= 0 || b.dropped || b.firstPos + b.tokens - 1 > firstQueryPos - layer.window) continue;
        // A saved partial record that has grown is completed first, or the file keeps a hole.
        if (options_.persist && b.fileIndex >= 0 && b.writtenTokens < b.tokens) STRATA_TRY(writeRecord(li, b));
        if (b.resident) {
            giveBack(b.resident);
            b.resident = nullptr;
            --layer.resident;
        }
        if (b.host) {
            hostMemory_.free(b.host);
            b.host = nullptr;
            --hostUsed_;
        }
        b.dropped = true;
    }
    if (layer.resident < layer.quota) return {};
    if (layer.window > 0) {
        for (Block& b : layer.blocks)
            if (b.resident) return evict(li, b);
    }
    for (auto it = layer.blocks.rbegin(); it != layer.blocks.rend(); ++it)
        if (it->resident) return evict(li, *it);
    return {};
}

Status KvCache::truncate(Layer& layer, int64_t position) {
    while (!layer.blocks.empty() && layer.blocks.back().firstPos >= position) {
        Block& b = layer.blocks.back();
        if (b.resident) {
            giveBack(b.resident);
            --layer.resident;
        }
        if (b.host) {
            hostMemory_.free(b.host);
            --hostUsed_;
        }
        // Only a saved cache writes its blocks in position order; a spill file's records are left.
        if (options_.persist && b.fileIndex >= 0 && layer.file) STRATA_TRY(layer.file->truncateToBlocks(b.fileIndex));
        layer.blocks.pop_back();
    }
    if (!layer.blocks.empty()) {
        Block& b = layer.blocks.back();
        b.tokens = std::min(b.tokens, position - b.firstPos);
        b.writtenTokens = std::min(b.writtenTokens, b.tokens);
    }
    layer.end = position;
    return {};
}

Status KvCache::write(int64_t li, const float* k, const float* v, int64_t firstPos, int64_t n) {
    Layer& layer = *layers_[size_t(li)];
    if (firstPos < ownStart_ || firstPos > layer.end)
        return internalError("KV write at position " + std::to_string(firstPos) + " of layer " + std::to_string(li) +
                             ", which holds " + std::to_string(ownStart_) + ".." + std::to_string(layer.end));
    if (firstPos < layer.end) STRATA_TRY(truncate(layer, firstPos));
    int64_t done = 0;
    while (done < n) {
        const int64_t pos = firstPos + done;
        if (layer.blocks.empty() || layer.blocks.back().tokens == options_.blockTokens) {
            STRATA_TRY(makeRoom(li, firstPos));
            Block b;
            b.firstPos = pos;
            b.resident = takeBuffer();
            if (!b.resident) {
                Status backend = ops_.takeError();
                if (!backend.ok()) return backend.error();
                return internalError("out of memory for a KV block; give a smaller KV budget");
            }
            ++layer.resident;
            layer.blocks.push_back(std::move(b));
        }
        Block& b = layer.blocks.back();
        if (!b.resident) {  // the newest block, on disk or in RAM: bring it back to write into
            float* buffer = takeBuffer();
            if (!buffer) return internalError("out of memory for a KV block; give a smaller KV budget");
            if (b.host) {
                ops_.upload(buffer, b.host, size_t(blockFloats_));
                hostMemory_.free(b.host);
                b.host = nullptr;
                --hostUsed_;
            } else {
                const Status read = readRecord(li, b, buffer);
                if (!read.ok()) {
                    giveBack(buffer);
                    return read;
                }
            }
            b.resident = buffer;
            ++layer.resident;
        }
        const int64_t m = std::min(n - done, options_.blockTokens - b.tokens);
        ops_.copy(b.resident + b.tokens * rowFloats_, k + done * rowFloats_, size_t(m * rowFloats_));
        ops_.copy(b.resident + blockFloats_ / 2 + b.tokens * rowFloats_, v + done * rowFloats_,
                  size_t(m * rowFloats_));
        b.tokens += m;
        done += m;
    }
    layer.end = firstPos + n;
    return {};
}

Status KvCache::accumulate(int64_t layer, const float* q, int64_t n, const int32_t* positions,
                           const AttentionShape& shape, const AttentionState& state) const {
    return accumulateUpTo(layer, q, n, positions, shape, state, kUnlimited);
}

Status KvCache::accumulateAll(int64_t layer, const float* q, int64_t n, const int32_t* positions,
                              const AttentionShape& shape, const AttentionState& state) const {
    std::vector<const KvCache*> chain;
    for (const KvCache* c = this; c; c = c->parent_) chain.push_back(c);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const KvCache* next = it + 1 == chain.rend() ? nullptr : *(it + 1);
        STRATA_TRY((*it)->accumulateUpTo(layer, q, n, positions, shape, state, next ? next->ownStart_ : kUnlimited));
    }
    return {};
}

Status KvCache::accumulateUpTo(int64_t li, const float* q, int64_t n, const int32_t* positions,
                               const AttentionShape& shape, const AttentionState& state, int64_t limit) const {
    const Layer& layer = *layers_[size_t(li)];
    int64_t minPos = kUnlimited, maxPos = -1;
    for (int64_t t = 0; t < n; ++t) {
        minPos = std::min<int64_t>(minPos, positions[t]);
        maxPos = std::max<int64_t>(maxPos, shape.lastKey ? shape.lastKey[t] : positions[t]);
    }
    const int64_t visibleFrom = shape.window > 0 ? minPos - shape.window + 1 : 0;
    auto* self = const_cast<KvCache*>(this);  // staging and statistics only
    pending_.clear();
    size_t slotsUsed = 0;
    for (const Block& b : layer.blocks) {
        const int64_t tokens = std::min(b.tokens, limit - b.firstPos);
        if (tokens <= 0 || b.firstPos > maxPos) break;
        if (b.dropped || b.firstPos + tokens <= visibleFrom) continue;
        if (b.resident) {
            pending_.push_back({b.resident, b.resident + blockFloats_ / 2, b.firstPos, tokens});
            continue;
        }
        if (slotsUsed == size_t(options_.stagingBlocks)) {
            ops_.attentionAccumulate(q, n, positions, pending_, shape, state);
            pending_.clear();
            slotsUsed = 0;
        }
        if (slotsUsed == staging_.size()) {
            float* slot = self->takeBuffer();
            if (!slot) return internalError("out of memory for KV staging blocks");
            staging_.push_back(slot);
        }
        float* slot = staging_[slotsUsed++];
        if (b.host) {
            ops_.upload(slot, b.host, size_t(blockFloats_));
        } else {
            STRATA_TRY(self->readRecord(li, b, slot));
        }
        pending_.push_back({slot, slot + blockFloats_ / 2, b.firstPos, tokens});
    }
    if (!pending_.empty()) ops_.attentionAccumulate(q, n, positions, pending_, shape, state);
    pending_.clear();
    return {};
}

Result<std::vector<KvFlushedBlock>> KvCache::flush() {
    std::vector<KvFlushedBlock> written;
    for (size_t li = 0; li < layers_.size(); ++li) {
        Layer& layer = *layers_[li];
        for (Block& b : layer.blocks) {
            if (b.dropped || b.writtenTokens >= b.tokens || b.tokens == 0) continue;
            STRATA_TRY(writeRecord(int64_t(li), b));
            written.push_back({int64_t(li), layer.file->record(b.fileIndex), layerFileName(int64_t(li))});
        }
    }
    for (auto& layer : layers_)
        if (layer->file) STRATA_TRY(layer->file->sync());
    return written;
}

KvCacheStats KvCache::stats() const {
    KvCacheStats s = stats_;
    s.residentBlocks = s.hostBlocks = s.diskBlocks = 0;
    for (const auto& layer : layers_)
        for (const Block& b : layer->blocks) {
            if (b.resident) ++s.residentBlocks;
            else if (b.host) ++s.hostBlocks;
            else if (b.onDisk()) ++s.diskBlocks;
        }
    s.residentBytes = uint64_t(residentBuffers_) * uint64_t(blockFloats_) * sizeof(float);
    return s;
}

}  // namespace strata
