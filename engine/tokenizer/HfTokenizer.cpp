#include "tokenizer/HfTokenizer.h"

#include <algorithm>

namespace strata {

using nlohmann::json;

namespace {

std::optional<std::string> optionalString(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::fromJson(TokenizerJson tj, const std::string& name) {
    std::unique_ptr<HfTokenizer> t(new HfTokenizer());
    try {
        const json& root = tj.rest;
        const json& model = root.value("model", json::object());
        const std::string type = model.value("type", std::string("BPE"));
        if (type != "BPE") return badInput(name + ": model type '" + type + "' is not supported (only BPE)");
        if (!tj.hasVocab) return badInput(name + ": model.vocab is missing");
        for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
            if (auto v = optionalString(model, affix); v && !v->empty())
                return badInput(name + ": model." + affix + " is not supported");
        }
        if (auto d = model.find("dropout"); d != model.end() && d->is_number() && d->get<double>() > 0.0)
            return badInput(name + ": BPE dropout is not supported");
        BpeOptions options;
        options.ignoreMerges = model.value("ignore_merges", false);
        options.byteFallback = model.value("byte_fallback", false);
        options.fuseUnk = model.value("fuse_unk", false);
        options.unkToken = optionalString(model, "unk_token");
        auto bpe = BpeModel::create(std::move(tj.vocab), tj.merges, std::move(options));
        if (!bpe.ok()) return badInput(name + ": " + bpe.error().message);
        t->model_ = std::make_unique<BpeModel>(std::move(bpe).value());
        tj.merges.clear();
        tj.merges.shrink_to_fit();

        auto normalizers = parseNormalizer(root.value("normalizer", json()));
        STRATA_TRY(normalizers);
        t->normalizers_ = std::move(normalizers).value();
        auto pre = parsePreTokenizer(root.value("pre_tokenizer", json()));
        STRATA_TRY(pre);
        t->preTokenizers_ = std::move(pre).value();
        auto decoders = parseDecoder(root.value("decoder", json()));
        STRATA_TRY(decoders);
        t->decoders_ = std::move(decoders).value();
        STRATA_TRY(t->loadAddedTokens(root.value("added_tokens", json::array())));
        STRATA_TRY(t->loadPostProcessor(root.value("post_processor", json())));
    } catch (const json::exception& e) {
        return badInput(name + ": unexpected structure: " + e.what());
    }

    t->vocabSize_ = t->model_->size();
    for (const auto& [id, tok] : t->added_) t->vocabSize_ = std::max(t->vocabSize_, id + 1);
    const bool fallbackDecoder = std::any_of(t->decoders_.begin(), t->decoders_.end(), [](const DecoderStep& s) {
        return s.kind == DecoderStep::Kind::ByteFallback;
    });
    t->bytePiece_.assign(static_cast<size_t>(t->vocabSize_), false);
    if (fallbackDecoder) {
        for (int32_t id = 0; id < t->model_->size(); ++id) {
            const std::string* tok = t->model_->idToToken(id);
            if (tok && tok->size() == 6 && tok->compare(0, 3, "<0x") == 0 && tok->back() == '>')
                t->bytePiece_[static_cast<size_t>(id)] = true;
        }
    }
    if (t->prefixIds_.size() == 1) t->bosId_ = t->prefixIds_[0];
    return t;
}

Status HfTokenizer::loadAddedTokens(const json& list) {
    if (!list.is_array()) return badInput("tokenizer.json: added_tokens is not a list");
    for (const auto& e : list) {
        AddedToken tok;
        tok.id = e.at("id").get<int32_t>();
        tok.content = e.at("content").get<std::string>();
        tok.singleWord = e.value("single_word", false);
        tok.lstrip = e.value("lstrip", false);
        tok.rstrip = e.value("rstrip", false);
        tok.normalized = e.value("normalized", true);
        tok.special = e.value("special", false);
        if (tok.id < 0) return badInput("tokenizer.json: added token '" + tok.content + "' has a negative id");
        if (tok.content.empty()) continue;
        addedIds_[tok.content] = tok.id;
        if (tok.normalized) {
            AddedToken pattern = tok;
            pattern.content = applyNormalizers(normalizers_, tok.content);
            normalizedMatcher_.add(pattern);
        } else {
            rawMatcher_.add(tok);
        }
        added_[tok.id] = std::move(tok);
    }
    return {};
}

Status HfTokenizer::loadPostProcessor(const json& j) {
    if (j.is_null()) return {};
    const std::string type = j.value("type", std::string());
    if (type == "Sequence") {
        for (const auto& p : j.value("processors", json::array())) STRATA_TRY(loadPostProcessor(p));
        return {};
    }
    if (type == "ByteLevel") return {};  // only adjusts offsets
    if (type == "TemplateProcessing") {
        const json& specials = j.value("special_tokens", json::object());
        bool afterSequence = false;
        for (const auto& item : j.value("single", json::array())) {
            if (item.contains("Sequence")) {
                afterSequence = true;
                continue;
            }
            const std::string tokenName = item.at("SpecialToken").at("id").get<std::string>();
            auto s = specials.find(tokenName);
            if (s == specials.end())
                return badInput("tokenizer.json: post_processor uses undeclared special token '" + tokenName + "'");
            for (const auto& id : s->at("ids")) (afterSequence ? suffixIds_ : prefixIds_).push_back(id.get<int32_t>());
        }
        return {};
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        prefixIds_.push_back(j.at("cls").at(1).get<int32_t>());
        suffixIds_.push_back(j.at("sep").at(1).get<int32_t>());
        return {};
    }
    return badInput("tokenizer.json: post_processor type '" + type + "' is not supported");
}

void HfTokenizer::encodeText(std::string_view normalized, std::vector<int32_t>& out) const {
    thread_local PreTokenizedText words;
    preTokenize(preTokenizers_, normalized, words);
    for (size_t i = 0; i < words.words.size(); ++i) model_->encodeWord(words.word(i), out);
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool addBos) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 8);
    if (addBos) out = prefixIds_;
    std::vector<AddedTokenMatcher::Piece> pieces, inner;
    rawMatcher_.split(text, pieces);
    for (const auto& p : pieces) {
        if (p.id >= 0) {
            out.push_back(p.id);
            continue;
        }
        const std::string norm = applyNormalizers(normalizers_, text.substr(p.begin, p.end - p.begin));
        if (normalizedMatcher_.empty()) {
            encodeText(norm, out);
            continue;
        }
        inner.clear();
        normalizedMatcher_.split(norm, inner);
        for (const auto& q : inner) {
            if (q.id >= 0) out.push_back(q.id);
            else encodeText(std::string_view(norm).substr(q.begin, q.end - q.begin), out);
        }
    }
    if (addBos) out.insert(out.end(), suffixIds_.begin(), suffixIds_.end());
    return out;
}

std::string HfTokenizer::tokenText(int32_t id) const {
    if (auto it = added_.find(id); it != added_.end()) {
        if (!it->second.normalized) return it->second.content;
        return applyNormalizers(normalizers_, it->second.content);
    }
    const std::string* t = model_->idToToken(id);
    return t ? *t : std::string();
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, bool skipSpecial) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        if (auto it = added_.find(id); it != added_.end()) {
            if (skipSpecial && it->second.special) continue;
            tokens.push_back(tokenText(id));
        } else if (const std::string* t = model_->idToToken(id)) {
            tokens.push_back(*t);
        }
    }
    return runDecoders(decoders_, std::move(tokens));
}

std::optional<int32_t> HfTokenizer::tokenId(std::string_view text) const {
    if (auto it = addedIds_.find(std::string(text)); it != addedIds_.end()) return it->second;
    return model_->tokenToId(text);
}

bool HfTokenizer::isSpecial(int32_t id) const {
    auto it = added_.find(id);
    return it != added_.end() && it->second.special;
}

bool HfTokenizer::isBytePiece(int32_t id) const {
    return id >= 0 && id < vocabSize_ && bytePiece_[static_cast<size_t>(id)];
}

}  // namespace strata
