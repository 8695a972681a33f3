#include "format/Mxfp4.h"

#include <bit>
#include <cmath>

namespace strata {
namespace {

// E2M1 values in Hugging Face's order; index 8 is negative zero.
constexpr float kFp4[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                            -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
// ggml's table: the same values doubled, as int8 (so nibble 8 is +0).
constexpr int8_t kFp4Doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128) for an E8M0 byte, as float32 bits: subnormal for e < 2 (ggml_e8m0_to_fp32_half).
inline float e8m0Half(uint8_t e) {
    const uint32_t bits = e < 2 ? (uint32_t(0x00200000) << e) : (uint32_t(e - 1) << 23);
    return std::bit_cast<float>(bits);
}

}  // namespace

void dequantizeMxfp4Groups(const uint8_t* blocks, const uint8_t* scales, int64_t groups, float* dst) {
    for (int64_t g = 0; g < groups; ++g) {
        const int exponent = int(scales[g]) - 127;
        const uint8_t* b = blocks + g * 16;
        float* y = dst + g * kMxfp4BlockElements;
        if (scales[g] == 255) {
            // 2^128 is past float32, but 0.5 * 2^128 is not: ldexp is exact here (no rounding but
            // to infinity), as torch.ldexp's x * 2^e is.
            for (int j = 0; j < 16; ++j) {
                y[2 * j] = std::ldexp(kFp4[b[j] & 0x0f], exponent);
                y[2 * j + 1] = std::ldexp(kFp4[b[j] >> 4], exponent);
            }
            continue;
        }
        // Below that, the scale is a float32 (2^-127 a subnormal) and each product with it exact.
        const float scale = std::ldexp(1.0f, exponent);
        for (int j = 0; j < 16; ++j) {
            y[2 * j] = kFp4[b[j] & 0x0f] * scale;
            y[2 * j + 1] = kFp4[b[j] >> 4] * scale;
        }
    }
}

void dequantizeMxfp4Gguf(const void* src, int64_t count, float* dst) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i + kMxfp4BlockElements <= count; i += kMxfp4BlockElements, p += kMxfp4GgufBlockBytes) {
        const float d = e8m0Half(p[0]);
        const uint8_t* qs = p + 1;
        float* y = dst + i;
        for (int j = 0; j < 16; ++j) {
            y[j] = d * float(kFp4Doubled[qs[j] & 0x0f]);
            y[j + 16] = d * float(kFp4Doubled[qs[j] >> 4]);
        }
    }
}

void mxfp4GgufToHf(const uint8_t* src, int64_t groups, uint8_t* blocks, uint8_t* scales) {
    for (int64_t g = 0; g < groups; ++g, src += kMxfp4GgufBlockBytes) {
        if (scales) scales[g] = src[0];
        if (!blocks) continue;
        // Hugging Face's byte k holds elements 2k and 2k + 1; GGUF's byte j elements j and j + 16.
        // Elements 0..15 are the low nibbles of the GGUF bytes, 16..31 the high ones.
        const uint8_t* qs = src + 1;
        uint8_t* out = blocks + g * 16;
        for (int k = 0; k < 8; ++k) {
            out[k] = uint8_t((qs[2 * k] & 0x0f) | (qs[2 * k + 1] << 4));
            out[k + 8] = uint8_t((qs[2 * k] >> 4) | (qs[2 * k + 1] & 0xf0));
        }
    }
}

}  // namespace strata
