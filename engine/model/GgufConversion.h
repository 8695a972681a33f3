#pragma once
// Turns a GGUF file into a Hugging Face model folder: config.json, generation_config.json,
// model.safetensors in bf16 (dequantised, llama.cpp's conventions undone), tokenizer.json and
// tokenizer_config.json. The folder loads through the safetensors path (and in transformers).
// It is written beside the destination under a temporary name and renamed when complete, so the
// destination never holds a half-written model.
#include <cstddef>
#include <filesystem>
#include <functional>

#include "core/Result.h"

namespace strata {

// Called after each tensor written: tensors done, tensors in all.
using ConversionProgress = std::function<void(size_t done, size_t total)>;

Status convertGgufToFolder(const std::filesystem::path& gguf, const std::filesystem::path& outDir,
                           const ConversionProgress& progress = {});

}  // namespace strata
