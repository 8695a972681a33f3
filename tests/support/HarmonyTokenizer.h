#pragma once
// A small tokenizer with gpt-oss's harmony special tokens: the byte-level BPE of the qwen3 fixture
// (tests/data/models/qwen3/tokenizer.json) with <|start|>, <|channel|>, <|message|>, <|end|>,
// <|return|>, <|call|>, <|constrain|> and <|endoftext|> added as special tokens after its vocabulary,
// written into a folder as a model ships it, so that text with the markers encodes to their ids.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/Tokenizer.h"
#include "TestPaths.h"

namespace strata::testsupport {

inline constexpr const char* kHarmonySpecials[] = {"<|start|>",  "<|channel|>", "<|message|>", "<|end|>",
                                                   "<|return|>", "<|call|>",    "<|constrain|>", "<|endoftext|>"};

// Writes dir/tokenizer.json and loads it; null with a message in *why when the fixture is missing.
inline std::unique_ptr<Tokenizer> writeHarmonyTokenizer(const std::filesystem::path& dir, std::string* why) {
    std::ifstream in(testDataDir() / "models/qwen3/tokenizer.json");
    if (!in) {
        *why = "tests/data/models/qwen3/tokenizer.json is missing";
        return nullptr;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str());
    int32_t next = 0;
    for (const auto& [token, id] : json["model"]["vocab"].items()) next = std::max(next, id.get<int32_t>() + 1);
    for (const auto& added : json["added_tokens"]) next = std::max(next, added["id"].get<int32_t>() + 1);
    for (const char* special : kHarmonySpecials)
        json["added_tokens"].push_back({{"id", next++}, {"content", special}, {"single_word", false}, {"lstrip", false},
                                        {"rstrip", false}, {"normalized", false}, {"special", true}});
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "tokenizer.json") << json.dump();
    auto tokenizer = loadTokenizer(dir);
    if (!tokenizer.ok()) {
        *why = tokenizer.error().message;
        return nullptr;
    }
    return std::move(tokenizer.value());
}

}  // namespace strata::testsupport
