#include "tokenizer/GgufVocabulary.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "tokenizer/GgufPreTokenizer.h"
#include "tokenizer/Unicode.h"

namespace strata {

using nlohmann::json;

namespace {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum TokenType : int { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Chat end-of-turn tokens: generation stops at them as at the end-of-sequence token.
constexpr std::string_view kEndOfTurn[] = {"<end_of_turn>", "<|eot_id|>", "<|eom_id|>", "<|im_end|>"};

size_t codePoints(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

std::string replaceAll(std::string s, std::string_view from, std::string_view to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    return s;
}

json replaceStep(std::string_view from, std::string_view to) {
    return {{"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}

json bosTemplate(const std::string& bos, int32_t bosId, bool addBos, const std::string& eos, int32_t eosId,
                 bool addEos) {
    json single = json::array(), special = json::object();
    if (addBos) {
        single.push_back({{"SpecialToken", {{"id", bos}, {"type_id", 0}}}});
        special[bos] = {{"id", bos}, {"ids", {bosId}}, {"tokens", {bos}}};
    }
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (addEos) {
        single.push_back({{"SpecialToken", {{"id", eos}, {"type_id", 0}}}});
        special[eos] = {{"id", eos}, {"ids", {eosId}}, {"tokens", {eos}}};
    }
    return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", single}, {"special_tokens", special}};
}

// transformers' generate_merges with piece scores: every split of a piece into two pieces of the
// vocabulary, ordered by the piece's score (highest first), then by the longer left and right
// parts, then by piece id and the parts' ids.
std::vector<std::pair<std::string, std::string>> mergesFromScores(const std::vector<std::string>& pieces,
                                                                  const std::vector<double>& scores,
                                                                  const std::vector<int>& types) {
    std::unordered_map<std::string_view, int32_t> ids;
    ids.reserve(pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) ids.emplace(pieces[i], int32_t(i));
    struct Candidate {
        double score;
        uint32_t leftLen, rightLen;
        int32_t piece, left, right;
        uint32_t split;  // bytes in the left part
    };
    std::vector<Candidate> found;
    for (size_t i = 0; i < pieces.size(); ++i) {
        if (types[i] != Normal && types[i] != UserDefined) continue;
        const std::string_view p = pieces[i];
        const size_t total = codePoints(p);
        size_t leftChars = 0;
        for (size_t at = 1; at < p.size(); ++at) {
            if ((static_cast<unsigned char>(p[at]) & 0xC0) == 0x80) continue;
            ++leftChars;
            auto l = ids.find(p.substr(0, at)), r = ids.find(p.substr(at));
            if (l == ids.end() || r == ids.end()) continue;
            found.push_back({scores[i], uint32_t(leftChars), uint32_t(total - leftChars), int32_t(i), l->second,
                             r->second, uint32_t(at)});
        }
    }
    std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.leftLen != b.leftLen) return a.leftLen > b.leftLen;
        if (a.rightLen != b.rightLen) return a.rightLen > b.rightLen;
        if (a.piece != b.piece) return a.piece < b.piece;
        if (a.left != b.left) return a.left < b.left;
        return a.right < b.right;
    });
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(found.size());
    for (const Candidate& c : found) {
        const std::string& p = pieces[size_t(c.piece)];
        merges.emplace_back(p.substr(0, c.split), p.substr(c.split));
    }
    return merges;
}

Status sentencePieceModel(const GgufFile& gguf, std::vector<std::string>& pieces, const std::vector<int>& types,
                          GgufVocabulary& out, json& root) {
    const GgufValue* scoreValue = gguf.find("tokenizer.ggml.scores");
    if (!scoreValue || scoreValue->type != GgufValueType::Array || scoreValue->numbers.size() != pieces.size())
        return badInput(gguf.name() + ": tokenizer.ggml.scores must list one score per token");
    // llama.cpp writes -1000 for control and user-defined pieces, which the .model file scored 0.
    std::vector<double> scores = scoreValue->numbers;
    for (size_t i = 0; i < pieces.size(); ++i)
        if (types[i] != Normal) scores[i] = 0;
    // llama.cpp turns "▁" back into spaces in user-defined pieces so it can match them in raw
    // text; the SentencePiece vocabulary (and Hugging Face's) keeps "▁".
    for (size_t i = 0; i < pieces.size(); ++i)
        if (types[i] == UserDefined) pieces[i] = replaceAll(pieces[i], " ", kSpaceMark);

    const bool addSpacePrefix = gguf.intOr("tokenizer.ggml.add_space_prefix").value_or(1) != 0;
    json normalizer = replaceStep(" ", kSpaceMark);
    if (addSpacePrefix)
        normalizer = {{"type", "Sequence"},
                      {"normalizers", {{{"type", "Prepend"}, {"prepend", kSpaceMark}}, normalizer}}};
    json decoders = {replaceStep(kSpaceMark, " "), {{"type", "ByteFallback"}}, {{"type", "Fuse"}}};
    if (addSpacePrefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    const auto unk = gguf.intOr("tokenizer.ggml.unknown_token_id");
    root["normalizer"] = normalizer;
    root["pre_tokenizer"] = nullptr;
    root["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
    root["model"] = {{"type", "BPE"}, {"dropout", nullptr},
                     {"unk_token", unk && *unk >= 0 && size_t(*unk) < pieces.size() ? json(pieces[size_t(*unk)]) : json()},
                     {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                     {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false}};
    out.tokenizer.merges = mergesFromScores(pieces, scores, types);
    out.addBos = gguf.intOr("tokenizer.ggml.add_bos_token").value_or(1) != 0;
    return {};
}

Status byteLevelModel(const GgufFile& gguf, GgufVocabulary& out, json& root) {
    const GgufValue* merges = gguf.find("tokenizer.ggml.merges");
    if (!merges || merges->type != GgufValueType::Array || merges->elementType != GgufValueType::String)
        return badInput(gguf.name() + ": a gpt2 tokenizer needs tokenizer.ggml.merges");
    out.tokenizer.merges.reserve(merges->strings.size());
    for (const std::string& m : merges->strings) {
        const size_t space = m.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == m.size() || m.find(' ', space + 1) != std::string::npos)
            return badInput(gguf.name() + ": tokenizer.ggml.merges entry '" + m + "' is not two tokens");
        out.tokenizer.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
    // tokenizer.ggml.pre names the split regexes; llama.cpp reads a missing or empty one as "default".
    const GgufValue* preValue = gguf.find("tokenizer.ggml.pre");
    if (preValue && preValue->type != GgufValueType::String)
        return badInput(gguf.name() + ": tokenizer.ggml.pre must be a string");
    const std::string preName = preValue && !preValue->text.empty() ? preValue->text : "default";
    auto pre = ggufPreTokenizer(preName, gguf.name());
    STRATA_TRY(pre);
    json splits = json::array();
    for (std::string_view regex : pre.value().regexes)
        splits.push_back({{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}});
    const json byteLevel = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                            {"use_regex", false}};
    splits.push_back(byteLevel);
    root["normalizer"] = pre.value().nfc ? json{{"type", "NFC"}} : json(nullptr);
    root["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", splits}};
    root["decoder"] = byteLevel;
    root["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                     {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                     {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", pre.value().ignoreMerges}};
    // As in llama.cpp: the name gives the default, the file's own flag decides.
    out.addBos = gguf.intOr("tokenizer.ggml.add_bos_token").value_or(pre.value().addsBosByDefault ? 1 : 0) != 0;
    return {};
}

}  // namespace

Result<GgufVocabulary> readGgufVocabulary(const GgufFile& gguf) {
    auto model = gguf.getString("tokenizer.ggml.model");
    STRATA_TRY(model);
    const GgufValue* tokenValue = gguf.find("tokenizer.ggml.tokens");
    if (!tokenValue || tokenValue->type != GgufValueType::Array || tokenValue->elementType != GgufValueType::String ||
        tokenValue->strings.empty())
        return badInput(gguf.name() + ": tokenizer.ggml.tokens must be a list of strings");
    std::vector<std::string> pieces = tokenValue->strings;
    const size_t n = pieces.size();
    for (size_t i = 0; i < n; ++i)
        if (!unicode::isValidUtf8(pieces[i]))
            return badInput(gguf.name() + ": token " + std::to_string(i) + " of tokenizer.ggml.tokens is not valid UTF-8");
    std::vector<int> types(n, Normal);
    if (const GgufValue* t = gguf.find("tokenizer.ggml.token_type")) {
        if (t->type != GgufValueType::Array || t->numbers.size() != n)
            return badInput(gguf.name() + ": tokenizer.ggml.token_type must list one type per token");
        for (size_t i = 0; i < n; ++i) {
            const double v = t->numbers[i];
            if (!(v >= 0 && v <= double(Byte)) || v != double(int(v)))
                return badInput(gguf.name() + ": tokenizer.ggml.token_type holds " + std::to_string(v) +
                                " for token " + std::to_string(i) + ", not a token type (0 to 6)");
            types[i] = int(v);
        }
    }

    GgufVocabulary out;
    json root = json::object();
    if (model.value() == "llama") {
        STRATA_TRY(sentencePieceModel(gguf, pieces, types, out, root));
    } else if (model.value() == "gpt2") {
        STRATA_TRY(byteLevelModel(gguf, out, root));
    } else {
        return badInput(gguf.name() + ": tokenizer.ggml.model '" + model.value() +
                        "' is not supported (supported: llama, gpt2)");
    }

    auto idOf = [&](const char* key) -> int32_t {
        const auto v = gguf.intOr(key);
        return v && *v >= 0 && size_t(*v) < n ? int32_t(*v) : -1;
    };
    out.bosId = idOf("tokenizer.ggml.bos_token_id");
    const int32_t eos = idOf("tokenizer.ggml.eos_token_id");
    if (out.addBos && out.bosId < 0) return badInput(gguf.name() + ": the tokenizer adds a BOS token but names none");
    if (eos >= 0) out.eosIds.push_back(eos);
    for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
        if (int32_t id = idOf(key); id >= 0) out.eosIds.push_back(id);

    json added = json::array();
    for (size_t i = 0; i < n; ++i) {
        const int t = types[i];
        if (t == Control || t == Unknown) {
            for (std::string_view end : kEndOfTurn)
                if (pieces[i] == end) out.eosIds.push_back(int32_t(i));
        }
        if (t != Control && t != UserDefined && t != Unknown) continue;
        added.push_back({{"id", i}, {"content", pieces[i]}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", t != UserDefined}});
    }
    std::sort(out.eosIds.begin(), out.eosIds.end());
    out.eosIds.erase(std::unique(out.eosIds.begin(), out.eosIds.end()), out.eosIds.end());
    if (eos >= 0) {  // the end-of-sequence token first, as configs list it
        std::stable_partition(out.eosIds.begin(), out.eosIds.end(), [&](int32_t id) { return id == eos; });
    }
    root["added_tokens"] = added;
    const bool addEos = gguf.intOr("tokenizer.ggml.add_eos_token").value_or(0) != 0;
    root["post_processor"] = bosTemplate(out.bosId >= 0 ? pieces[size_t(out.bosId)] : "", out.bosId, out.addBos,
                                         eos >= 0 ? pieces[size_t(eos)] : "", eos, addEos && eos >= 0);
    out.tokenizer.rest = std::move(root);
    out.tokenizer.vocab.reserve(n);
    for (size_t i = 0; i < n; ++i) out.tokenizer.vocab.emplace_back(std::move(pieces[i]), int32_t(i));
    out.tokenizer.hasVocab = true;
    return out;
}

json tokenizerJsonDocument(const TokenizerJson& t) {
    json doc = t.rest;
    doc["version"] = "1.0";
    json vocab = json::object();
    for (const auto& [token, id] : t.vocab) vocab[token] = id;
    json merges = json::array();
    for (const auto& [a, b] : t.merges) merges.push_back({a, b});
    doc["model"]["vocab"] = std::move(vocab);
    doc["model"]["merges"] = std::move(merges);
    return doc;
}

}  // namespace strata
