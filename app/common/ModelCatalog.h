#pragma once
// The models a user can pick without typing a path: GGUF files and Hugging Face folders
// (config.json with safetensors) in Strata's models folder and in folders the user names, and
// the snapshots in the Hugging Face cache (~/.cache/huggingface/hub, or $HF_HUB_CACHE / $HF_HOME).
#include <filesystem>
#include <string>
#include <vector>

namespace strata {

struct ModelEntry {
    std::filesystem::path path;  // a GGUF file or a model folder
    std::string label;           // "gemma-3-270m-q4_k_m.gguf", "google/gemma-3-1b-it (HF cache)"
};

// The Hugging Face hub cache folder by the hub's own rules.
std::filesystem::path huggingFaceHubCache();

// Looks in each folder and one level below it, then in hubCache; unreadable folders are skipped.
// Sorted by label, without duplicates.
std::vector<ModelEntry> findModels(const std::vector<std::filesystem::path>& folders,
                                   const std::filesystem::path& hubCache = huggingFaceHubCache());

}  // namespace strata
