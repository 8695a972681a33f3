#include "format/GgmlQuants.h"

#include <bit>
#include <cstring>

#include "core/DType.h"
#include "format/Mxfp4.h"

// Block layouts follow ggml's block structs (ggml-common.h): little-endian, packed, fp16 scales.
// Every product below is exact in fp32 (an fp16 scale times small integers needs at most 23
// significant bits), so the only rounding is the one add or subtract per element, whichever way
// the compiler fuses it, and the results match gguf-py's fp32 numpy arithmetic bit for bit as long
// as the operations keep gguf-py's order (which also fixes the sign of zero results).

namespace strata {
namespace {

static_assert(std::endian::native == std::endian::little, "GGML blocks are read in place as little-endian");

constexpr int64_t kQK = 32;    // elements per block of the Q4_0..Q8_0 family
constexpr int64_t kQKK = 256;  // elements per K-quant super-block

inline float halfAt(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16ToFloat(h);
}

const GgmlTypeTraits kF32{"F32", 1, 4};
const GgmlTypeTraits kF16{"F16", 1, 2};
const GgmlTypeTraits kBF16{"BF16", 1, 2};
const GgmlTypeTraits kQ4_0{"Q4_0", kQK, 2 + 16};
const GgmlTypeTraits kQ4_1{"Q4_1", kQK, 2 + 2 + 16};
const GgmlTypeTraits kQ5_0{"Q5_0", kQK, 2 + 4 + 16};
const GgmlTypeTraits kQ5_1{"Q5_1", kQK, 2 + 2 + 4 + 16};
const GgmlTypeTraits kQ8_0{"Q8_0", kQK, 2 + 32};
const GgmlTypeTraits kQ2_K{"Q2_K", kQKK, 16 + 64 + 2 + 2};
const GgmlTypeTraits kQ3_K{"Q3_K", kQKK, 32 + 64 + 12 + 2};
const GgmlTypeTraits kQ4_K{"Q4_K", kQKK, 2 + 2 + 12 + 128};
const GgmlTypeTraits kQ5_K{"Q5_K", kQKK, 2 + 2 + 12 + 32 + 128};
const GgmlTypeTraits kQ6_K{"Q6_K", kQKK, 128 + 64 + 16 + 2};
const GgmlTypeTraits kMXFP4{"MXFP4", kMxfp4BlockElements, uint64_t(kMxfp4GgufBlockBytes)};

// Index = ggml type id; ids that ggml has retired keep their old names so errors stay readable.
constexpr const char* kTypeNames[] = {
    "F32",     "F16",      "Q4_0",     "Q4_1",     "Q4_2",    "Q4_3",       "Q5_0",
    "Q5_1",    "Q8_0",     "Q8_1",     "Q2_K",     "Q3_K",    "Q4_K",       "Q5_K",
    "Q6_K",    "Q8_K",     "IQ2_XXS",  "IQ2_XS",   "IQ3_XXS", "IQ1_S",      "IQ4_NL",
    "IQ3_S",   "IQ2_S",    "IQ4_XS",   "I8",       "I16",     "I32",        "I64",
    "F64",     "IQ1_M",    "BF16",     "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8",  "TQ1_0",
    "TQ2_0",   "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4", "NVFP4", "Q1_0"};

void blockQ4_0(const uint8_t* b, float* y) {
    const float d = halfAt(b);
    const uint8_t* qs = b + 2;
    for (int j = 0; j < 16; ++j) {
        y[j] = d * float(int(qs[j] & 0x0f) - 8);
        y[j + 16] = d * float(int(qs[j] >> 4) - 8);
    }
}

void blockQ4_1(const uint8_t* b, float* y) {
    const float d = halfAt(b);
    const float m = halfAt(b + 2);
    const uint8_t* qs = b + 4;
    for (int j = 0; j < 16; ++j) {
        y[j] = d * float(qs[j] & 0x0f) + m;
        y[j + 16] = d * float(qs[j] >> 4) + m;
    }
}

// Bit j of the 32-bit qh word is the fifth bit of element j; spread it to one 0/16 byte per
// element with constant shifts so the element loop stays vectorisable.
inline void fifthBits(const uint8_t* qh, uint8_t* hi) {
    for (int k = 0; k < 4; ++k)
        for (int bit = 0; bit < 8; ++bit) hi[k * 8 + bit] = uint8_t(((qh[k] >> bit) & 1) << 4);
}

void blockQ5_0(const uint8_t* b, float* y) {
    const float d = halfAt(b);
    uint8_t hi[32];
    fifthBits(b + 2, hi);
    const uint8_t* qs = b + 6;
    for (int j = 0; j < 16; ++j) {
        y[j] = d * float(int((qs[j] & 0x0f) | hi[j]) - 16);
        y[j + 16] = d * float(int((qs[j] >> 4) | hi[j + 16]) - 16);
    }
}

void blockQ5_1(const uint8_t* b, float* y) {
    const float d = halfAt(b);
    const float m = halfAt(b + 2);
    uint8_t hi[32];
    fifthBits(b + 4, hi);
    const uint8_t* qs = b + 8;
    for (int j = 0; j < 16; ++j) {
        y[j] = d * float((qs[j] & 0x0f) | hi[j]) + m;
        y[j + 16] = d * float((qs[j] >> 4) | hi[j + 16]) + m;
    }
}

void blockQ8_0(const uint8_t* b, float* y) {
    const float d = halfAt(b);
    const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
    for (int j = 0; j < 32; ++j) y[j] = float(qs[j]) * d;
}

// Q2_K: scales[16] (low nibble scale, high nibble min, one pair per 16 elements), qs[64] (2-bit
// quants: byte l of each 32-byte half holds elements l, l+32, l+64, l+96 of that 128), d, dmin.
void blockQ2_K(const uint8_t* b, float* y) {
    const uint8_t* sc = b;
    const uint8_t* qs = b + 16;
    const float d = halfAt(b + 80);
    const float dmin = halfAt(b + 82);
    for (int h = 0; h < 2; ++h) {
        for (int s = 0; s < 4; ++s) {
            for (int half = 0; half < 2; ++half) {
                const int g = h * 8 + s * 2 + half;
                const float dl = d * float(sc[g] & 0x0f);
                const float ml = dmin * float(sc[g] >> 4);
                const uint8_t* q = qs + h * 32 + half * 16;
                float* out = y + g * 16;
                for (int l = 0; l < 16; ++l) out[l] = dl * float((q[l] >> (2 * s)) & 3) - ml;
            }
        }
    }
}

// Q3_K: hmask[32] (bit b of byte l: element b*32+l has no -4 offset), qs[64] (low 2 bits, laid
// out as in Q2_K), scales[12] (sixteen 6-bit scales biased by 32), d.
void blockQ3_K(const uint8_t* b, float* y) {
    const uint8_t* hmask = b;
    const uint8_t* qs = b + 32;
    const uint8_t* sc = b + 96;
    const float d = halfAt(b + 108);
    float dl[16];
    for (int i = 0; i < 16; ++i) {
        const int low = i < 8 ? (sc[i] & 0x0f) : (sc[i - 8] >> 4);
        const int high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
        dl[i] = d * float((low | (high << 4)) - 32);
    }
    for (int h = 0; h < 2; ++h) {
        for (int s = 0; s < 4; ++s) {
            const int bit = h * 4 + s;
            for (int half = 0; half < 2; ++half) {
                const int g = h * 8 + s * 2 + half;
                const uint8_t* q = qs + h * 32 + half * 16;
                const uint8_t* m = hmask + half * 16;
                float* out = y + g * 16;
                for (int l = 0; l < 16; ++l) {
                    const int v = ((q[l] >> (2 * s)) & 3) - (((m[l] >> bit) & 1) ? 0 : 4);
                    out[l] = dl[g] * float(v);
                }
            }
        }
    }
}

// The 12-byte scale block shared by Q4_K and Q5_K: eight 6-bit scales and eight 6-bit mins.
inline void kScaleMin(const uint8_t* s, uint8_t* sc, uint8_t* mn) {
    for (int j = 0; j < 4; ++j) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = uint8_t((s[j + 8] & 0x0f) | ((s[j] >> 2) & 0x30));
        mn[j + 4] = uint8_t((s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30));
    }
}

// Q4_K: d, dmin, scales[12], qs[128]; byte l of each 32-byte chunk c holds elements 64c+l (low
// nibble) and 64c+32+l (high nibble). Q5_K is the same with qh[32] before qs: bit sb of byte l is
// the fifth bit of element 32*sb+l.
template <bool FifthBit>
void blockQ4Q5_K(const uint8_t* b, float* y) {
    const float d = halfAt(b);
    const float dmin = halfAt(b + 2);
    uint8_t sc[8], mn[8];
    kScaleMin(b + 4, sc, mn);
    const uint8_t* qh = b + 16;
    const uint8_t* qs = b + (FifthBit ? 48 : 16);
    for (int c = 0; c < 4; ++c) {
        for (int s = 0; s < 2; ++s) {
            const int sb = c * 2 + s;
            const float dl = d * float(sc[sb]);
            const float ml = dmin * float(mn[sb]);
            const uint8_t* q = qs + c * 32;
            float* out = y + sb * 32;
            for (int l = 0; l < 32; ++l) {
                int v = (q[l] >> (4 * s)) & 0x0f;
                if constexpr (FifthBit) v |= ((qh[l] >> sb) & 1) << 4;
                out[l] = dl * float(v) - ml;
            }
        }
    }
}

// Q6_K: ql[128] (low 4 bits: byte l of each 64-byte half holds elements l and 64+l of that 128),
// qh[64] (high 2 bits: byte l of each 32-byte half holds elements l, l+32, l+64, l+96), int8
// scales[16], d; the 6-bit value is biased by 32.
void blockQ6_K(const uint8_t* b, float* y) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = halfAt(b + 208);
    for (int h = 0; h < 2; ++h) {
        for (int k = 0; k < 4; ++k) {
            const uint8_t* lo = ql + h * 64 + (k % 2) * 32;
            const uint8_t* hi = qh + h * 32;
            for (int half = 0; half < 2; ++half) {
                const int g = h * 8 + k * 2 + half;
                const float dl = d * float(sc[g]);
                float* out = y + g * 16;
                for (int l = 0; l < 16; ++l) {
                    const int i = half * 16 + l;
                    const int v = (((lo[i] >> (4 * (k / 2))) & 0x0f) | (((hi[i] >> (2 * k)) & 3) << 4)) - 32;
                    out[l] = dl * float(v);
                }
            }
        }
    }
}

// MXFP4: one E8M0 scale byte, then 16 bytes of E2M1 nibbles (format/Mxfp4.h).
void blockMXFP4(const uint8_t* b, float* y) { dequantizeMxfp4Gguf(b, kMxfp4BlockElements, y); }

// Below this many elements the OpenMP fork costs more than it saves.
constexpr int64_t kParallelElements = int64_t(1) << 18;

// The block function is a template argument so that it is inlined into the block loop.
template <void (*Block)(const uint8_t*, float*)>
void forEachBlock(const void* src, int64_t count, float* dst, const GgmlTypeTraits& t) {
    const uint8_t* s = static_cast<const uint8_t*>(src);
    const int64_t blocks = count / t.blockElements;
    const int64_t elems = t.blockElements;
    const int64_t bytes = int64_t(t.blockBytes);
#pragma omp parallel for schedule(static) if (count >= kParallelElements)
    for (int64_t i = 0; i < blocks; ++i) Block(s + i * bytes, dst + i * elems);
}

// widenToFloat reads 16-bit elements through a uint16_t pointer, so an odd address goes through a
// small aligned copy first.
void widenAnyAlignment(const uint8_t* src, DType t, int64_t n, float* dst) {
    const size_t size = dtypeSize(t);
    if (t == DType::F32 || reinterpret_cast<uintptr_t>(src) % size == 0) {
        widenToFloat(src, t, size_t(n), dst);
        return;
    }
    constexpr int64_t kStep = 2048;
    alignas(16) uint8_t staged[kStep * 4];
    for (int64_t i = 0; i < n; i += kStep) {
        const int64_t m = n - i < kStep ? n - i : kStep;
        std::memcpy(staged, src + size_t(i) * size, size_t(m) * size);
        widenToFloat(staged, t, size_t(m), dst + i);
    }
}

// Plain float types go through DType's widening in chunks, so large tensors still spread over threads.
void widenChunks(const void* src, DType t, int64_t count, float* dst) {
    constexpr int64_t kChunk = 1 << 16;
    const uint8_t* s = static_cast<const uint8_t*>(src);
    const int64_t chunks = (count + kChunk - 1) / kChunk;
    const int64_t size = int64_t(dtypeSize(t));
#pragma omp parallel for schedule(static) if (count >= kParallelElements)
    for (int64_t c = 0; c < chunks; ++c) {
        const int64_t begin = c * kChunk;
        const int64_t n = count - begin < kChunk ? count - begin : kChunk;
        widenAnyAlignment(s + begin * size, t, n, dst + begin);
    }
}

}  // namespace

const GgmlTypeTraits* ggmlTypeTraits(uint32_t typeId) {
    switch (GgmlType(typeId)) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return &kF16;
    case GgmlType::BF16: return &kBF16;
    case GgmlType::Q4_0: return &kQ4_0;
    case GgmlType::Q4_1: return &kQ4_1;
    case GgmlType::Q5_0: return &kQ5_0;
    case GgmlType::Q5_1: return &kQ5_1;
    case GgmlType::Q8_0: return &kQ8_0;
    case GgmlType::Q2_K: return &kQ2_K;
    case GgmlType::Q3_K: return &kQ3_K;
    case GgmlType::Q4_K: return &kQ4_K;
    case GgmlType::Q5_K: return &kQ5_K;
    case GgmlType::Q6_K: return &kQ6_K;
    case GgmlType::MXFP4: return &kMXFP4;
    }
    return nullptr;
}

std::string ggmlTypeName(uint32_t typeId) {
    constexpr uint32_t known = sizeof(kTypeNames) / sizeof(kTypeNames[0]);
    if (typeId < known) return kTypeNames[typeId];
    return "type " + std::to_string(typeId);
}

void dequantizeGgml(GgmlType type, const void* src, int64_t count, float* dst) {
    const GgmlTypeTraits* traits = ggmlTypeTraits(uint32_t(type));
    if (!traits || count <= 0) return;
    const GgmlTypeTraits& t = *traits;
    switch (type) {
    case GgmlType::F32: widenChunks(src, DType::F32, count, dst); return;
    case GgmlType::F16: widenChunks(src, DType::F16, count, dst); return;
    case GgmlType::BF16: widenChunks(src, DType::BF16, count, dst); return;
    case GgmlType::Q4_0: forEachBlock<blockQ4_0>(src, count, dst, t); return;
    case GgmlType::Q4_1: forEachBlock<blockQ4_1>(src, count, dst, t); return;
    case GgmlType::Q5_0: forEachBlock<blockQ5_0>(src, count, dst, t); return;
    case GgmlType::Q5_1: forEachBlock<blockQ5_1>(src, count, dst, t); return;
    case GgmlType::Q8_0: forEachBlock<blockQ8_0>(src, count, dst, t); return;
    case GgmlType::Q2_K: forEachBlock<blockQ2_K>(src, count, dst, t); return;
    case GgmlType::Q3_K: forEachBlock<blockQ3_K>(src, count, dst, t); return;
    case GgmlType::Q4_K: forEachBlock<blockQ4Q5_K<false>>(src, count, dst, t); return;
    case GgmlType::Q5_K: forEachBlock<blockQ4Q5_K<true>>(src, count, dst, t); return;
    case GgmlType::Q6_K: forEachBlock<blockQ6_K>(src, count, dst, t); return;
    case GgmlType::MXFP4: forEachBlock<blockMXFP4>(src, count, dst, t); return;
    }
}

}  // namespace strata
