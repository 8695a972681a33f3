#pragma once
// Reads tokenizer.json in one streaming pass. The vocabulary and merges (hundreds of thousands
// of entries in Gemma 3's 33 MB file) go straight into flat vectors; only the small remainder
// becomes a JSON tree. Building the whole tree would cost about a second on its own.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/Result.h"

namespace strata {

struct TokenizerJson {
    nlohmann::json rest;  // everything except model.vocab and model.merges
    std::vector<std::pair<std::string, int32_t>> vocab;
    std::vector<std::pair<std::string, std::string>> merges;
    bool hasVocab = false;
};

Result<TokenizerJson> readTokenizerJson(const std::filesystem::path& file);
Result<TokenizerJson> parseTokenizerJson(std::string_view text, const std::string& nameForErrors);

}  // namespace strata
