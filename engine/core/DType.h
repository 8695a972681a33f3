#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace strata {

// Element types of stored weights. Compute on the CPU backend is always fp32.
//  - F32, F16, BF16: plain floats.
//  - U8: raw bytes, as safetensors stores MXFP4's packed nibbles and scales (never a weight by itself).
//  - Q8_0, GGML's: blocks of 32 elements, each a float16 scale and 32 int8 values (value = scale * q).
//  - MXFP4, as Hugging Face checkpoints store it (quantization_config mxfp4): blocks of 32 FP4 (E2M1) elements in 16
//    bytes, with their E8M0 scale bytes in a separate tensor (WeightRef::scales); see format/Mxfp4.h.
// Packed types stay packed in memory for backends whose products read them (Ops::multipliesPacked).
enum class DType { F32, F16, BF16, U8, Q8_0, MXFP4 };

// What each stored type costs: elements per block (1 for plain types) and the bytes of a block in
// the weight's own data (MXFP4's scale bytes, one per block, lie in their own tensor).
struct DTypeTraits {
    std::string_view name;
    int64_t blockElements;
    uint64_t blockBytes;
    bool packed;
};

inline const DTypeTraits& dtypeTraits(DType t) {
    static constexpr DTypeTraits table[] = {
        {"F32", 1, 4, false}, {"F16", 1, 2, false},   {"BF16", 1, 2, false},
        {"U8", 1, 1, false},  {"Q8_0", 32, 34, true}, {"MXFP4", 32, 16, true},
    };
    return table[int(t)];
}

constexpr int64_t kQ8_0BlockElements = 32;
constexpr size_t kQ8_0BlockBytes = 2 + 32;

// Bytes of one element of a plain type; packed types have no per-element size (use dtypeBytes).
inline size_t dtypeSize(DType t) { return size_t(dtypeTraits(t).blockBytes); }

// Bytes of `count` elements; for a packed type, count is a whole number of blocks.
inline uint64_t dtypeBytes(DType t, int64_t count) {
    const DTypeTraits& traits = dtypeTraits(t);
    return uint64_t(count / traits.blockElements) * traits.blockBytes;
}

inline bool isPacked(DType t) { return dtypeTraits(t).packed; }

inline std::string_view dtypeName(DType t) { return dtypeTraits(t).name; }

inline float bf16ToFloat(uint16_t h) {
    uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even, as torch does when it casts fp32 to bf16.
inline uint16_t floatToBf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return uint16_t(bits >> 16);
}

// Exact for every half, subnormals and NaN included, and branch-free so that loops over rows of
// weights vectorise: the exponent is rebased by adding to the bits, subnormals are renormalised by
// one float subtraction, infinities and NaNs get the rest of the exponent range.
inline float f16ToFloat(uint16_t h) {
    const uint32_t magnitude = uint32_t(h & 0x7fffu) << 13;
    const uint32_t exp = magnitude & 0x0f800000u;
    const uint32_t special = 0u - uint32_t(exp == 0x0f800000u);  // all ones for infinity / NaN
    const uint32_t subnormal = 0u - uint32_t(exp == 0u);          // all ones for zero / subnormal
    const uint32_t normalBits = magnitude + 0x38000000u + (special & 0x38000000u);  // rebias 15 -> 127
    float sub;
    const uint32_t subInput = magnitude + 0x38800000u;
    std::memcpy(&sub, &subInput, 4);
    sub -= 6.103515625e-05f;  // 2^-14: the implicit bit that subnormals lack
    uint32_t subBits;
    std::memcpy(&subBits, &sub, 4);
    const uint32_t bits = ((normalBits & ~subnormal) | (subBits & subnormal)) | (uint32_t(h & 0x8000u) << 16);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even; overflow gives infinity, as torch's cast to float16 does.
inline uint16_t floatToF16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return sign | 0x7e00u;     // NaN
    if (x >= 0x477ff000u) return sign | 0x7c00u;    // 65520 and above round to infinity
    if (x < 0x38800000u) {                          // below 2^-14: a subnormal half, in units of 2^-24
        float a;
        std::memcpy(&a, &x, 4);
        return sign | uint16_t(std::nearbyint(a * 16777216.0f));
    }
    uint32_t h = ((((x >> 23) - 127 + 15) << 10) | ((x & 0x7fffffu) >> 13));
    const uint32_t rest = x & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
    return uint16_t(sign | h);
}

// Widen n stored elements of type t to fp32 (for Q8_0, n is a whole number of blocks; each value
// is scale * q in fp32, exact, as gguf-py computes it).
void widenToFloat(const void* src, DType t, size_t n, float* dst);

}  // namespace strata
