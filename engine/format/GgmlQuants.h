#pragma once
#include <cstdint>
#include <string>

namespace strata {

// GGML tensor type ids as written in GGUF tensor infos (ggml.h numbering).
enum class GgmlType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    BF16 = 30,
    MXFP4 = 39
};

struct GgmlTypeTraits {
    const char* name;        // "Q4_K"
    int64_t blockElements;   // 1 for F32/F16/BF16, 32 for Q4_0.., 256 for K-quants
    uint64_t blockBytes;     // bytes per block
};

// The traits of a type id read from a file; nullptr when Strata cannot dequantise that id
// (also for ids ggml knows but Strata does not support).
const GgmlTypeTraits* ggmlTypeTraits(uint32_t typeId);

// Name for any ggml type id, including unsupported ones ("IQ2_XXS", or "type 99" when unknown),
// for error messages.
std::string ggmlTypeName(uint32_t typeId);

// Dequantises `count` elements from src to fp32 dst. `count` must be a multiple of the type's
// blockElements (the caller checks the tensor shape); a partial trailing block is left unwritten,
// and a type without traits writes nothing. src needs no alignment. Large counts run on the
// OpenMP threads. Results are bit-identical to gguf-py's gguf.quants.dequantize.
void dequantizeGgml(GgmlType type, const void* src, int64_t count, float* dst);

}  // namespace strata
