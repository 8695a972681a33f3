#include "tokenizer/TokenizerConfig.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace strata {

using nlohmann::json;

namespace {

Result<json> readJson(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return badInput("cannot open " + file.string());
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return json::parse(ss.str());
    } catch (const json::exception& e) {
        return badInput(file.string() + ": invalid JSON: " + e.what());
    }
}

// Token entries are either a string or an AddedToken object with "content".
std::optional<std::string> tokenContent(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object()) {
        if (auto c = v.find("content"); c != v.end() && c->is_string()) return c->get<std::string>();
    }
    return std::nullopt;
}

}  // namespace

Result<TokenizerConfig> readTokenizerConfig(const std::filesystem::path& dir) {
    TokenizerConfig cfg;
    std::error_code ec;
    cfg.hasChatTemplate = std::filesystem::exists(dir / "chat_template.jinja", ec);
    const auto tc = dir / "tokenizer_config.json";
    if (std::filesystem::exists(tc, ec)) {
        auto j = readJson(tc);
        STRATA_TRY(j);
        const json& c = j.value();
        if (!c.is_object()) return badInput(tc.string() + ": the top level is not a JSON object");
        try {
            if (auto it = c.find("bos_token"); it != c.end()) {
                cfg.hasBosEntry = true;
                cfg.bosToken = tokenContent(*it);
            }
            if (auto it = c.find("eos_token"); it != c.end()) cfg.eosToken = tokenContent(*it);
            if (auto it = c.find("chat_template"); it != c.end() && !it->is_null()) cfg.hasChatTemplate = true;
            if (auto it = c.find("add_bos_token"); it != c.end() && it->is_boolean()) cfg.addBosToken = it->get<bool>();
            if (auto it = c.find("add_eos_token"); it != c.end() && it->is_boolean()) cfg.addEosToken = it->get<bool>();
            if (auto it = c.find("added_tokens_decoder"); it != c.end() && it->is_object()) {
                for (const auto& [key, v] : it->items()) {
                    AddedToken tok;
                    tok.id = std::stoi(key);
                    tok.content = v.value("content", std::string());
                    tok.special = v.value("special", false);
                    tok.singleWord = v.value("single_word", false);
                    tok.lstrip = v.value("lstrip", false);
                    tok.rstrip = v.value("rstrip", false);
                    tok.normalized = v.value("normalized", false);
                    if (!tok.content.empty()) cfg.addedTokens.push_back(std::move(tok));
                }
            }
        } catch (const std::exception& e) {
            return badInput(tc.string() + ": unexpected structure: " + e.what());
        }
    }
    const auto gc = dir / "generation_config.json";
    if (std::filesystem::exists(gc, ec)) {
        auto j = readJson(gc);
        STRATA_TRY(j);
        if (auto it = j.value().find("eos_token_id"); it != j.value().end()) {
            if (it->is_number_integer()) cfg.generationEosIds.push_back(it->get<int32_t>());
            else if (it->is_array())
                for (const auto& v : *it)
                    if (v.is_number_integer()) cfg.generationEosIds.push_back(v.get<int32_t>());
        }
    }
    return cfg;
}

}  // namespace strata
