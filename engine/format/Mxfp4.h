#pragma once
// MXFP4 (OCP microscaling, FP4 E2M1 elements with one E8M0 scale per 32), in which mixture-of-
// experts checkpoints store their experts. Two layouts hold the same numbers:
//  - Hugging Face: `*_blocks` u8 [..., rows, groups, 16] and `*_scales` u8 [..., rows, groups],
//    in separate tensors; byte j of a group holds element 2j in its low nibble and 2j+1 in its high
//    nibble; value = FP4[nibble] * 2^(scale - 127), where FP4 is {0, .5, 1, 1.5, 2, 3, 4, 6} and its
//    negatives (nibble 8 is -0).
//  - GGUF (ggml type 39): 17-byte blocks of one scale byte then 16 bytes; byte j holds element j in
//    its low nibble and element j + 16 in its high one; value = 2*FP4[nibble] * 2^(scale - 128),
//    computed in float32 (nibble 8 gives +0, as ggml's int8 table has no -0).
// Every value is a small integer times a power of two, so both are exact in float32; only a
// product past float32's range (scales near 255) becomes infinity, as in the references.
#include <cstdint>

namespace strata {

constexpr int64_t kMxfp4BlockElements = 32;
constexpr int64_t kMxfp4GgufBlockBytes = 17;

// Hugging Face layout: `groups` consecutive groups of 32 elements (blocks: 16 bytes each, scales:
// one byte each) into 32 * groups floats. Bit-identical to transformers' convert_moe_packed_tensors
// before its final transpose.
void dequantizeMxfp4Groups(const uint8_t* blocks, const uint8_t* scales, int64_t groups, float* dst);

// GGUF layout: `count` elements (a multiple of 32) of 17-byte blocks. Bit-identical to gguf-py's
// gguf.quants.dequantize.
void dequantizeMxfp4Gguf(const void* src, int64_t count, float* dst);

// GGUF blocks into the Hugging Face layout, losslessly: `groups` 17-byte blocks into 16 bytes of
// nibbles each (into `blocks`, nibbles moved to Hugging Face's order) and one scale byte each
// (into `scales`, unchanged: both layouts hold the same number, 2 * FP4 * 2^(s - 128) being
// FP4 * 2^(s - 127)). Either output may be null. The one difference in value is the sign of zero:
// nibble 8 is -0 in Hugging Face's table and +0 in ggml's, which no product can tell apart.
void mxfp4GgufToHf(const uint8_t* src, int64_t groups, uint8_t* blocks, uint8_t* scales);

}  // namespace strata
