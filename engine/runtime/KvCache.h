#pragma once
// The KV cache of one sequence, in backend memory (RAM on the CPU backend), one K and one V
// array per layer indexed by absolute position.
#include <cstdint>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "model/ModelConfig.h"

namespace strata {

class KvCache {
public:
    static Result<KvCache> create(Ops& ops, const ModelConfig& config, int64_t capacity);
    KvCache(KvCache&& other) noexcept;
    KvCache& operator=(KvCache&&) = delete;
    ~KvCache();

    KvLayerView layer(int64_t index) const;
    int64_t length() const { return length_; }
    void setLength(int64_t length) { length_ = length; }
    int64_t capacity() const { return capacity_; }
    static uint64_t bytesFor(const ModelConfig& config, int64_t capacity);

private:
    KvCache(Ops& ops, int64_t capacity, int64_t rowFloats) : ops_(&ops), capacity_(capacity), rowFloats_(rowFloats) {}
    Ops* ops_;
    int64_t capacity_;
    int64_t rowFloats_;
    int64_t length_ = 0;
    std::vector<float*> k_, v_;
};

}  // namespace strata
