#pragma once
// A tiny Gemma 3 vision model that speaks the real Gemma 3 tokenizer's ids, for tests that run
// images through strata-cli or the window: the random tests/data/models/gemma3_vision fixture with
// its embedding widened to Gemma 3's 262,208-entry vocabulary (the fixture's 64 rows first, the
// rest small random values, bf16) and the image tokens renumbered to Gemma 3's (<start_of_image>
// 255999, <end_of_image> 256000, <image_soft_token> 262144), plus the tokenizer from
// ../shared/tokenizers/gemma3. About 25 MB, written at test time. Its answers are nonsense; the
// path they take is the real one. Header-only.
#include <filesystem>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "SafetensorsWriter.h"
#include "format/Checkpoint.h"
#include "vision/VisionTensors.h"

namespace strata::testsupport {

// Writes the model into dir (which must exist); false on any failure.
inline bool writeTinyGemma3Vision(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    const fs::path fixture = fs::path(STRATA_TEST_DATA_DIR) / "models" / "gemma3_vision";
    const fs::path tokenizers = fs::path(STRATA_SHARED_DIR) / "tokenizers" / "gemma3";
    constexpr int64_t kVocab = 262208;

    std::ifstream in(fixture / "config.json");
    nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
    if (config.is_discarded()) return false;
    config["boi_token_index"] = 255999;
    config["eoi_token_index"] = 256000;
    config["image_token_index"] = 262144;
    config["text_config"]["vocab_size"] = kVocab;
    config["text_config"]["max_position_embeddings"] = 1024;
    if (!writeFile(dir / "config.json", config.dump(2))) return false;

    auto checkpoint = Checkpoint::open(fixture);
    if (!checkpoint.ok()) return false;
    std::vector<TensorSpec> tensors;
    for (const auto& [name, info] : checkpoint.value()->tensors()) {
        auto values = readTensorAsFloat(*checkpoint.value(), name, info.shape);
        if (!values.ok()) return false;
        if (name.find("embed_tokens") == std::string::npos) {
            tensors.push_back(tensorF32(name, info.shape, values.value()));
            continue;
        }
        const int64_t hidden = info.shape[1];
        std::vector<float> wide(size_t(kVocab * hidden));
        std::mt19937 rng(7);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        for (float& v : wide) v = normal(rng);
        std::copy(values.value().begin(), values.value().end(), wide.begin());
        tensors.push_back(tensorBf16(name, {kVocab, hidden}, wide));
    }
    if (!writeSafetensors(dir / "model.safetensors", tensors)) return false;
    std::error_code ec;
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
        if (!fs::copy_file(tokenizers / file, dir / file, fs::copy_options::overwrite_existing, ec)) return false;
    return true;
}

}  // namespace strata::testsupport
