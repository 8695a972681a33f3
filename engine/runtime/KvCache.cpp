#include "runtime/KvCache.h"

#include <new>

#include "runtime/ResidencyPlan.h"

namespace strata {

Result<KvCache> KvCache::create(Ops& ops, const ModelConfig& config, int64_t capacity) {
    KvCache cache(ops, capacity, config.numKvHeads * config.headDim);
    try {
        for (int64_t i = 0; i < config.numLayers; ++i) {
            cache.k_.push_back(ops.allocate(size_t(capacity * cache.rowFloats_)));
            cache.v_.push_back(ops.allocate(size_t(capacity * cache.rowFloats_)));
        }
    } catch (const std::bad_alloc&) {
        Status backend = ops.takeError();
        if (!backend.ok()) return backend.error();
        return internalError("out of memory allocating the KV cache for " + std::to_string(capacity) +
                             " tokens (" + formatBytes(bytesFor(config, capacity)) + "); ask for fewer tokens");
    }
    return cache;
}

KvCache::KvCache(KvCache&& o) noexcept
    : ops_(o.ops_), capacity_(o.capacity_), rowFloats_(o.rowFloats_), length_(o.length_), k_(std::move(o.k_)),
      v_(std::move(o.v_)) {
    o.k_.clear();
    o.v_.clear();
}

KvCache::~KvCache() {
    for (float* p : k_) ops_->release(p);
    for (float* p : v_) ops_->release(p);
}

KvLayerView KvCache::layer(int64_t index) const { return {k_[size_t(index)], v_[size_t(index)], capacity_}; }

uint64_t KvCache::bytesFor(const ModelConfig& c, int64_t capacity) {
    return uint64_t(c.numLayers) * 2 * uint64_t(capacity * c.numKvHeads * c.headDim) * sizeof(float);
}

}  // namespace strata
