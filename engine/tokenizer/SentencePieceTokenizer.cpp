#include "tokenizer/SentencePieceTokenizer.h"

#include <algorithm>

#include <sentencepiece_processor.h>

namespace strata {

SentencePieceTokenizer::SentencePieceTokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
SentencePieceTokenizer::~SentencePieceTokenizer() = default;

Result<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::load(const std::filesystem::path& file,
                                                                             const TokenizerConfig& config) {
    std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
    const auto status = t->sp_->Load(file.string());
    if (!status.ok()) return badInput(file.string() + ": not a readable SentencePiece model: " + status.ToString());
    t->pieceCount_ = t->sp_->GetPieceSize();
    t->vocabSize_ = t->pieceCount_;
    auto addSpecial = [&](AddedToken tok) {
        if (tok.content.empty()) return;
        t->matcher_.add(tok);
        t->specialIds_[tok.content] = tok.id;
        t->vocabSize_ = std::max(t->vocabSize_, tok.id + 1);
        t->specials_[tok.id] = std::move(tok);
    };
    for (int32_t id = 0; id < t->pieceCount_; ++id) {
        if (t->sp_->IsControl(id) || t->sp_->IsUnknown(id)) {
            AddedToken tok;
            tok.id = id;
            tok.content = t->sp_->IdToPiece(id);
            tok.special = true;
            addSpecial(std::move(tok));
        }
    }
    for (const auto& tok : config.addedTokens) addSpecial(tok);

    auto idOf = [&](const std::string& text) -> int32_t {
        auto id = t->tokenId(text);
        return id ? *id : -1;
    };
    t->bosId_ = config.hasBosEntry ? (config.bosToken ? idOf(*config.bosToken) : -1) : t->sp_->bos_id();
    t->eosId_ = config.eosToken ? idOf(*config.eosToken) : t->sp_->eos_id();
    t->addBos_ = config.addBosToken.value_or(true);
    t->addEos_ = config.addEosToken.value_or(false);
    if (t->eosId_ >= 0) t->eosIds_.push_back(t->eosId_);
    for (int32_t id : config.generationEosIds)
        if (std::find(t->eosIds_.begin(), t->eosIds_.end(), id) == t->eosIds_.end()) t->eosIds_.push_back(id);
    return t;
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool addBos) const {
    std::vector<int32_t> out;
    if (addBos && addBos_ && bosId_ >= 0) out.push_back(bosId_);
    std::vector<AddedTokenMatcher::Piece> pieces;
    matcher_.split(text, pieces);
    std::vector<int> ids;
    for (const auto& p : pieces) {
        if (p.id >= 0) {
            out.push_back(p.id);
            continue;
        }
        if (p.end == p.begin) continue;
        ids.clear();
        // Encoding only fails on malformed input that SentencePiece rejects; it then yields nothing.
        if (sp_->Encode(text.substr(p.begin, p.end - p.begin), &ids).ok()) out.insert(out.end(), ids.begin(), ids.end());
    }
    if (addBos && addEos_ && eosId_ >= 0) out.push_back(eosId_);
    return out;
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids, bool skipSpecial) const {
    std::string out;
    std::vector<int> run;
    auto flush = [&] {
        if (run.empty()) return;
        std::string text;
        if (sp_->Decode(run, &text).ok()) out += text;
        run.clear();
    };
    for (int32_t id : ids) {
        if (auto it = specials_.find(id); it != specials_.end()) {
            flush();
            if (!(skipSpecial && it->second.special)) out += it->second.content;
        } else if (id >= 0 && id < pieceCount_) {
            run.push_back(id);
        }
    }
    flush();
    return out;
}

std::optional<int32_t> SentencePieceTokenizer::tokenId(std::string_view text) const {
    if (auto it = specialIds_.find(std::string(text)); it != specialIds_.end()) return it->second;
    const int id = sp_->PieceToId(text);
    // PieceToId answers the unknown id for any text it does not know.
    if (id == sp_->unk_id() && text != sp_->IdToPiece(id)) return std::nullopt;
    return id;
}

bool SentencePieceTokenizer::isSpecial(int32_t id) const {
    auto it = specials_.find(id);
    return it != specials_.end() && it->second.special;
}

bool SentencePieceTokenizer::isBytePiece(int32_t id) const {
    return id >= 0 && id < pieceCount_ && sp_->IsByte(id);
}

}  // namespace strata
