#pragma once
// Where the fields of a GGUF file lie, found by walking its header as the format describes it,
// so that a test can patch one field of a valid file (a value, a tensor's name, type or offset).
// Header-only, Qt-free.
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace strata::testsupport {

struct GgufLayout {
    static constexpr size_t kVersionAt = 4, kTensorCountAt = 8, kKvCountAt = 16;
    struct Kv {
        std::string key;
        size_t valueAt = 0;  // the value's bytes (a string's length field, for strings)
    };
    struct Tensor {
        std::string name;
        size_t nameAt = 0, nDimsAt = 0, dimsAt = 0, typeAt = 0, offsetAt = 0;
        uint64_t offset = 0;  // from the start of the data section
    };
    std::vector<Kv> kvs;
    std::vector<Tensor> tensors;
    size_t headerEnd = 0, dataStart = 0, alignment = 32;

    const Kv* kv(const std::string& key) const {
        for (const Kv& k : kvs)
            if (k.key == key) return &k;
        return nullptr;
    }

    static std::optional<GgufLayout> of(const std::string& b) {
        size_t pos = 0;
        bool ok = true;
        auto u32 = [&] {
            uint32_t v = 0;
            if (pos + 4 > b.size()) return ok = false, v;
            std::memcpy(&v, b.data() + pos, 4);
            pos += 4;
            return v;
        };
        auto u64 = [&] {
            uint64_t v = 0;
            if (pos + 8 > b.size()) return ok = false, v;
            std::memcpy(&v, b.data() + pos, 8);
            pos += 8;
            return v;
        };
        auto str = [&] {
            const uint64_t n = u64();
            if (!ok || n > b.size() - pos) return ok = false, std::string();
            pos += n;
            return b.substr(pos - n, n);
        };
        std::function<void(uint32_t)> skipValue = [&](uint32_t type) {
            static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
            if (type == 8) {
                str();
            } else if (type == 9) {
                const uint32_t inner = u32();
                const uint64_t n = u64();
                for (uint64_t i = 0; ok && i < n; ++i) skipValue(inner);
            } else if (type < 13) {
                pos += sizes[type];
                ok = ok && pos <= b.size();
            } else {
                ok = false;
            }
        };
        GgufLayout l;
        pos = kTensorCountAt;
        const uint64_t tensorCount = u64(), kvCount = u64();
        for (uint64_t i = 0; ok && i < kvCount; ++i) {
            Kv kv;
            kv.key = str();
            const uint32_t type = u32();
            kv.valueAt = pos;
            if (kv.key == "general.alignment") l.alignment = u32(), pos = kv.valueAt;
            skipValue(type);
            l.kvs.push_back(kv);
        }
        for (uint64_t i = 0; ok && i < tensorCount; ++i) {
            Tensor t;
            t.nameAt = pos;
            t.name = str();
            t.nDimsAt = pos;
            const uint32_t nDims = u32();
            t.dimsAt = pos;
            pos += 8 * size_t(nDims);
            t.typeAt = pos;
            u32();
            t.offsetAt = pos;
            t.offset = u64();
            l.tensors.push_back(t);
        }
        if (!ok) return std::nullopt;
        l.headerEnd = pos;
        l.dataStart = (pos + l.alignment - 1) / l.alignment * l.alignment;
        return l;
    }
};

}  // namespace strata::testsupport
