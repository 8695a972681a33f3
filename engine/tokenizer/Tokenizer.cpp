#include "tokenizer/Tokenizer.h"

#include <algorithm>

#include "format/GgufFile.h"
#include "tokenizer/GgufVocabulary.h"
#include "tokenizer/HfTokenizer.h"
#include "tokenizer/SentencePieceTokenizer.h"
#include "tokenizer/TekkenTokenizer.h"
#include "tokenizer/TokenizerConfig.h"
#include "tokenizer/Unicode.h"

namespace strata {

namespace {

Result<std::unique_ptr<Tokenizer>> loadGgufTokenizer(const std::filesystem::path& path) {
    auto file = GgufFile::open(path);
    STRATA_TRY(file);
    auto vocab = readGgufVocabulary(*file.value());
    STRATA_TRY(vocab);
    auto tok = HfTokenizer::fromJson(std::move(vocab.value().tokenizer), path.string() + " (GGUF vocabulary)");
    STRATA_TRY(tok);
    tok.value()->setBos(vocab.value().bosId);
    tok.value()->setEos(vocab.value().eosIds);
    tok.value()->setDeclaresChatTemplate(file.value()->find("tokenizer.chat_template") != nullptr);
    return std::unique_ptr<Tokenizer>(std::move(tok).value());
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> loadTokenizer(const std::filesystem::path& modelDir) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(modelDir, ec) && GgufFile::hasGgufMagic(modelDir))
        return loadGgufTokenizer(modelDir);
    if (!std::filesystem::is_directory(modelDir, ec))
        return badInput("tokenizer folder " + modelDir.string() + " does not exist");
    auto config = readTokenizerConfig(modelDir);
    STRATA_TRY(config);
    const TokenizerConfig& cfg = config.value();

    const auto jsonFile = modelDir / "tokenizer.json";
    if (std::filesystem::exists(jsonFile, ec)) {
        auto parsed = readTokenizerJson(jsonFile);
        STRATA_TRY(parsed);
        auto tok = HfTokenizer::fromJson(std::move(parsed).value(), jsonFile.string());
        STRATA_TRY(tok);
        HfTokenizer& t = *tok.value();
        auto idOf = [&](const std::optional<std::string>& text) -> int32_t {
            if (!text) return -1;
            auto id = t.tokenId(*text);
            return id ? *id : -1;
        };
        if (cfg.hasBosEntry) t.setBos(idOf(cfg.bosToken));
        std::vector<int32_t> eos;
        if (int32_t id = idOf(cfg.eosToken); id >= 0) eos.push_back(id);
        for (int32_t id : cfg.generationEosIds)
            if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
        t.setEos(std::move(eos));
        t.setDeclaresChatTemplate(cfg.hasChatTemplate);
        return std::unique_ptr<Tokenizer>(std::move(tok).value());
    }
    // Mistral's own releases (Voxtral, NeMo) ship only tekken.json.
    const auto tekkenFile = modelDir / "tekken.json";
    if (std::filesystem::exists(tekkenFile, ec)) {
        auto tok = TekkenTokenizer::load(tekkenFile);
        STRATA_TRY(tok);
        // Mistral's instruct format comes with the tokenizer (mistral-common), template file or not.
        tok.value()->setDeclaresChatTemplate(true);
        return std::unique_ptr<Tokenizer>(std::move(tok).value());
    }
    const auto modelFile = modelDir / "tokenizer.model";
    if (std::filesystem::exists(modelFile, ec)) {
        auto tok = SentencePieceTokenizer::load(modelFile, cfg);
        STRATA_TRY(tok);
        tok.value()->setDeclaresChatTemplate(cfg.hasChatTemplate);
        return std::unique_ptr<Tokenizer>(std::move(tok).value());
    }
    return badInput("no tokenizer.json, tekken.json or tokenizer.model in " + modelDir.string());
}

namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
constexpr size_t kWindowLimit = 32;  // ids kept before the window is cut back
constexpr size_t kContext = 4;       // ids kept as context after a cut
}  // namespace

std::string StreamingDecoder::push(int32_t id) {
    ids_.push_back(id);
    // A run of byte pieces decodes as a whole (to text or to U+FFFD per byte), so its text is
    // not final until the run ends.
    if (tokenizer_.isBytePiece(id)) return {};
    const std::string text = tokenizer_.decode(ids_, skipSpecial_);
    size_t stable = unicode::completePrefixLength(text);
    // A trailing U+FFFD may be an unfinished UTF-8 sequence that the next id completes.
    while (stable >= kReplacement.size() && std::string_view(text).substr(stable - kReplacement.size(), kReplacement.size()) == kReplacement)
        stable -= kReplacement.size();
    std::string out;
    if (stable > emittedBytes_) {
        out = text.substr(emittedBytes_, stable - emittedBytes_);
        emittedBytes_ = stable;
    }
    // Keep decoding cost flat: once everything is final, keep only a few ids as context (the
    // context keeps SentencePiece from treating the next piece as the start of the text).
    if (stable == text.size() && ids_.size() > kWindowLimit) {
        ids_.erase(ids_.begin(), ids_.end() - static_cast<long>(kContext));
        emittedBytes_ = tokenizer_.decode(ids_, skipSpecial_).size();
    }
    return out;
}

std::string StreamingDecoder::flush() {
    std::string out;
    if (!ids_.empty()) {
        const std::string text = tokenizer_.decode(ids_, skipSpecial_);
        if (text.size() > emittedBytes_) out = text.substr(emittedBytes_);
    }
    ids_.clear();
    emittedBytes_ = 0;
    return out;
}

}  // namespace strata
