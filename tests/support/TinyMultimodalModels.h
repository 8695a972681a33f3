#pragma once
// Tiny multimodal models that speak the real tokenizers' ids, for tests that run images and audio
// through strata-cli or the window. Each is a random fixture of tests/data/models with its token
// tables widened to the real vocabulary (the fixture's rows first, the rest small random values,
// bf16) and its placeholder tokens renumbered to the real ones, plus the real tokenizer. Written
// at test time (about 25 MB each). Their answers are nonsense; the path they take is the real one.
// Header-only.
#include <array>
#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "SafetensorsWriter.h"
#include "TestPaths.h"
#include "core/ModelLocations.h"
#include "format/Checkpoint.h"
#include "vision/VisionTensors.h"

namespace strata::testsupport {

namespace detail {

inline std::optional<nlohmann::json> readJsonFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

// The fixture's tensors into dir/model.safetensors, those named in `widen` grown to `vocab` rows.
inline bool writeWidened(const std::filesystem::path& fixture, const std::filesystem::path& dir, int64_t vocab,
                         const std::set<std::string>& widen) {
    auto checkpoint = Checkpoint::open(fixture);
    if (!checkpoint.ok()) return false;
    std::vector<TensorSpec> tensors;
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (const auto& [name, info] : checkpoint.value()->tensors()) {
        auto values = readTensorAsFloat(*checkpoint.value(), name, info.shape);
        if (!values.ok()) return false;
        if (!widen.count(name)) {
            tensors.push_back(tensorF32(name, info.shape, values.value()));
            continue;
        }
        std::vector<float> wide(size_t(vocab * info.shape[1]));
        for (float& v : wide) v = normal(rng);
        std::copy(values.value().begin(), values.value().end(), wide.begin());
        tensors.push_back(tensorBf16(name, {vocab, info.shape[1]}, wide));
    }
    return writeSafetensors(dir / "model.safetensors", tensors);
}

}  // namespace detail

// The Gemma 3 vision fixture (32x32 images, 16 soft tokens each) on Gemma 3's 262,208-entry
// vocabulary and image tokens (<start_of_image> 255999, <end_of_image> 256000, <image_soft_token>
// 262144), context 1024, with the tokenizer from ../shared/tokenizers/gemma3. dir must exist.
inline bool writeTinyGemma3Vision(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    const fs::path fixture = testDataDir() / "models" / "gemma3_vision";
    constexpr int64_t kVocab = 262208;
    auto config = detail::readJsonFile(fixture / "config.json");
    if (!config) return false;
    (*config)["boi_token_index"] = 255999;
    (*config)["eoi_token_index"] = 256000;
    (*config)["image_token_index"] = 262144;
    (*config)["text_config"]["vocab_size"] = kVocab;
    (*config)["text_config"]["max_position_embeddings"] = 1024;
    if (!writeFile(dir / "config.json", config->dump(2))) return false;
    if (!detail::writeWidened(fixture, dir, kVocab, {"language_model.model.embed_tokens.weight"})) return false;
    std::error_code ec;
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
        if (!fs::copy_file(sharedDir() / "tokenizers" / "gemma3" / file, dir / file,
                           fs::copy_options::overwrite_existing, ec))
            return false;
    return true;
}

// The names of ids 0..19 in Tekken files without a special_tokens list (as mistral-common's
// Tekkenizer numbers them); Voxtral's tekken.json lists the same names for these ids.
inline constexpr std::array<const char*, 20> kTekkenLegacyNames = {
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]",
    "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
    "[TOOL_CONTENT]"};

// Voxtral's tekken.json as a real Voxtral release ships it: the installed tekken_240911.json
// vocabulary (see packaging/install-models.sh) with every special id named in a special_tokens
// list (the legacy names for 0..19, Voxtral's audio tokens [AUDIO] 24, [BEGIN_AUDIO] 25,
// [TRANSCRIBE] 34 and the rest as given in `added`, which is the "added_to_tekken_file" object of
// tests/data/tekken/voxtral_chat.json), format version v7 and the audio settings. Nothing when
// the vocabulary is not installed.
inline std::optional<nlohmann::json> voxtralTekkenJson(const nlohmann::json& added) {
    auto doc = detail::readJsonFile(modelsDir() / "tekken" / "tekken_240911.json");
    if (!doc || doc->contains("special_tokens")) return std::nullopt;
    const int numSpecial = (*doc)["config"]["default_num_special_tokens"].get<int>();
    std::vector<std::string> names(static_cast<size_t>(numSpecial));
    for (size_t id = 0; id < kTekkenLegacyNames.size(); ++id) names[id] = kTekkenLegacyNames[id];
    for (const auto& [name, id] : added["special_tokens"].items()) {
        const int i = id.get<int>();
        if (i < int(kTekkenLegacyNames.size()) || i >= numSpecial) return std::nullopt;
        names[size_t(i)] = name;
    }
    nlohmann::json specials = nlohmann::json::array();
    for (int id = 0; id < numSpecial; ++id) {
        const std::string& name = names[size_t(id)];
        specials.push_back({{"rank", id},
                            {"token_str", name.empty() ? "<SPECIAL_" + std::to_string(id) + ">" : name},
                            {"is_control", true}});
    }
    (*doc)["special_tokens"] = std::move(specials);
    (*doc)["config"]["version"] = added["version"];
    (*doc)["audio"] = added["audio"];
    return doc;
}

// The Voxtral audio fixture (real 30-second chunks, 375 rows each) on Tekken's 131,072-entry
// vocabulary with [AUDIO] 24, context 2048, and voxtralTekkenJson as its tekken.json. False when
// the vocabulary is not installed or on any failure; dir must exist.
inline bool writeTinyVoxtral(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    const fs::path fixture = testDataDir() / "models" / "voxtral_audio";
    constexpr int64_t kVocab = 131072;
    auto chat = detail::readJsonFile(testDataDir() / "tekken" / "voxtral_chat.json");
    if (!chat) return false;
    auto tekken = voxtralTekkenJson((*chat)["added_to_tekken_file"]);
    if (!tekken || !writeFile(dir / "tekken.json", tekken->dump())) return false;
    auto config = detail::readJsonFile(fixture / "config.json");
    if (!config) return false;
    (*config)["audio_token_id"] = 24;
    (*config)["text_config"]["vocab_size"] = kVocab;
    (*config)["text_config"]["max_position_embeddings"] = 2048;
    if (!writeFile(dir / "config.json", config->dump(2))) return false;
    return detail::writeWidened(fixture, dir, kVocab,
                                {"language_model.model.embed_tokens.weight", "language_model.lm_head.weight"});
}

}  // namespace strata::testsupport
