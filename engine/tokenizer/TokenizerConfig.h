#pragma once
// The parts of tokenizer_config.json and generation_config.json that tokenization needs.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/Result.h"
#include "tokenizer/AddedTokenMatcher.h"

namespace strata {

struct TokenizerConfig {
    bool hasBosEntry = false;             // bos_token present (possibly null)
    std::optional<std::string> bosToken;  // null or absent: none
    std::optional<std::string> eosToken;
    std::optional<bool> addBosToken;
    std::optional<bool> addEosToken;
    std::vector<AddedToken> addedTokens;  // added_tokens_decoder
    std::vector<int32_t> generationEosIds;
    bool hasChatTemplate = false;  // chat_template in tokenizer_config.json, or chat_template.jinja
};

// Reads the files that exist in modelDir; missing files leave the defaults.
Result<TokenizerConfig> readTokenizerConfig(const std::filesystem::path& modelDir);

}  // namespace strata
