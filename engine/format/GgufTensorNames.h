#pragma once
// llama.cpp's tensor names and storage conventions, mapped to the Hugging Face names the model
// code uses: blk.N.attn_q.weight -> model.layers.N.self_attn.q_proj.weight, dimensions reversed
// to [rows, columns], and the conventions of the architecture undone as tensors are read (Q/K
// rows un-permuted where llama.cpp interleaves the rope pairs, norms stored as w+1 shifted back).
// Quantised tensors are dequantised to float16 on read.
#include <string>
#include <utility>
#include <vector>

#include "core/Result.h"
#include "format/Checkpoint.h"
#include "format/GgufFile.h"

namespace strata {

// What one GGUF architecture does differently from the common naming and storage.
struct GgufConventions {
    // The Hugging Face name of blk.N.ffn_norm.weight, the norm in front of the MLP.
    std::string ffnNormName = "post_attention_layernorm.weight";
    // Norm weights are stored as w + 1 (the model multiplies by 1 + w).
    bool normsStoredPlusOne = false;
    // The rows of attn_q and attn_k (and their biases) are permuted to interleave the rope pairs.
    bool permutedQueryKeyRows = false;
    // The Hugging Face names of the family's own layer tensors: the part after "blk.N." -> the part
    // after "model.layers.N.", besides the common ones.
    std::vector<std::pair<std::string, std::string>> layerNames;
    // The MXFP4 experts ffn_gate_exps, ffn_up_exps and ffn_down_exps and the gate and up
    // biases are presented in Hugging Face's layout, as mlp.experts.gate_up_proj_blocks, _scales
    // and _bias (gate and up rows interleaved) and mlp.experts.down_proj_blocks and _scales, rebuilt
    // as they are read (ExpertRepack) and still MXFP4.
    bool gateUpExperts = false;
};

// The conventions of a GGUF architecture Strata runs, or nullptr. Defined by the architecture
// registry (arch/Registry.cpp), which knows the families.
const GgufConventions* ggufConventionsFor(const std::string& architecture);
// "a, b, c": the GGUF architectures Strata runs, for messages. Defined there too.
std::string supportedGgufArchitectures();

// Every tensor of the file as the engine sees it. Tensors without a Hugging Face counterpart
// (rope_freqs.weight, for one) keep their GGUF names.
Result<std::vector<TensorInfo>> hfTensorsFromGguf(const GgufFile& gguf, int fileIndex);

}  // namespace strata
