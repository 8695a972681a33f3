#pragma once
// llama.cpp's tensor names and storage conventions, mapped to the Hugging Face names the model
// code uses: blk.N.attn_q.weight -> model.layers.N.self_attn.q_proj.weight, dimensions reversed
// to [rows, columns], Llama Q/K rows un-permuted (llama.cpp interleaves the rope pairs), Gemma
// norms stored as w+1 shifted back. Quantised tensors are dequantised to float16 on read.
#include <string>
#include <vector>

#include "core/Result.h"
#include "format/Checkpoint.h"
#include "format/GgufFile.h"

namespace strata {

// The GGUF architectures Strata runs.
inline constexpr const char* kGgufArchitectures = "llama, qwen2, qwen3, gemma3";

// Every tensor of the file as the engine sees it. Tensors without a Hugging Face counterpart
// (rope_freqs.weight, for one) keep their GGUF names.
Result<std::vector<TensorInfo>> hfTensorsFromGguf(const GgufFile& gguf, int fileIndex);

}  // namespace strata
