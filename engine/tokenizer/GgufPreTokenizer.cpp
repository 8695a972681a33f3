#include "tokenizer/GgufPreTokenizer.h"

#include <string>

#include "tokenizer/SplitPattern.h"

namespace strata {

namespace {

// The regexes, named for what they split out (the names say which family brought them in where
// the pattern is particular to it). Non-ASCII characters are written as \u escapes.
constexpr std::string_view kJais2Words = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})";
constexpr std::string_view kLineBreak = R"([\r\n])";
constexpr std::string_view kDeepSeekLatinWords = "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+";
constexpr std::string_view kDeepSeekPunctuation = "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";
constexpr std::string_view kTrailingSpace = R"(\s+$)";
constexpr std::string_view kDeepSeekCjkHangul = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
constexpr std::string_view kDigitRun = R"(\p{N}+)";
constexpr std::string_view kDigits1to3 = R"(\p{N}{1,3})";
constexpr std::string_view kCjkKana = "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";
constexpr std::string_view kDeepSeek3Words = R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kSpark25Words = R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+)";
constexpr std::string_view kDigit = R"(\p{N})";
constexpr std::string_view kYoutuCjk = "[\uAC00-\uD7A3\u3131-\u318E]+|[\uFF01\u2026\u201C\u201D\u2018\u2019\u2014\uFF1A\uFF1B\uFF0C\u3001-\u303F\uFE30-\uFE4F]+|[\u3105-\u312F]+|[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";
constexpr std::string_view kYoutuWords = R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kSpaceLetters = R"(\s?\p{L}+)";
constexpr std::string_view kSpacePunctuation = R"(\s?\p{P}+)";
constexpr std::string_view kFalconPunctuation = R"([\p{P}\$\+<=>\^~\|`]+)";
constexpr std::string_view kThreeAsciiDigits = R"([0-9][0-9][0-9])";
constexpr std::string_view kQwen35Words = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kPoroWords = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";
constexpr std::string_view kTekkenWords = R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kChameleonSentinel = R"(<sentinel:[0-9]+>)";
constexpr std::string_view kChameleonImage = R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)";
constexpr std::string_view kChameleonWhitespace = R"(([\t\n]|    |  ))";
constexpr std::string_view kChameleonPunctuation = R"([\p{P}!-/:-@\[-`{-~])";
constexpr std::string_view kO200kWords = R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGraniteMultiWords = R"([^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kDigitGroups = R"(\d{1,3}(?=(?:\d{3})*\b))";
constexpr std::string_view kBailingWords = R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr std::string_view kSeedCoderWords = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kUfakzekaWords = R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLines = R"([^\n]+|[\n]+)";
constexpr std::string_view kExaoneMoeWords = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr std::string_view kMiniCpm5Words = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Empty matches before every group of three digits counted from the end of a run (SuperBPE): the
// run splits there and nowhere else.
constexpr std::string_view kDigitTriplesAhead = R"((?=(\d{3})+(?!\d)))";
constexpr std::string_view kDefaultPunctuation = R"([\p{P}\$\+<=>\^~\|]+)";

struct Entry {
    std::vector<std::string_view> names;
    std::vector<std::string_view> regexes;
    bool ignoreMerges, addsBosByDefault, nfc;
};

const std::vector<Entry>& table() {
    const std::string_view kGpt2 = splitPatternRegex(SplitPattern::Gpt2);
    const std::string_view kLlama3 = splitPatternRegex(SplitPattern::Llama3);
    const std::string_view kQwen2 = splitPatternRegex(SplitPattern::Qwen2);
    // Grouped as llama.cpp's pre-tokenizer types group them; ignore_merges and the BOS default
    // are llama.cpp's per name (its "original regex from tokenizer.json" comments give the
    // regexes it adapted).
    static const std::vector<Entry> entries = {
        {{"default"},
         {kDefaultPunctuation, kGpt2, kDigitRun, kThreeAsciiDigits}, false, false, false},
        {{"minicpm5"},
         {kDigits1to3, kMiniCpm5Words}, true, false, false},
        {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"},
         {kLlama3}, true, true, false},
        {{"deepseek-llm"},
         {kLineBreak, kDeepSeekLatinWords, kDeepSeekPunctuation, kTrailingSpace, kDeepSeekCjkHangul, kDigitRun},
          false, false, false},
        {{"deepseek-coder"},
         {kLineBreak, kSpaceLetters, kSpacePunctuation, kDeepSeekCjkHangul, kDigit}, false, false, false},
        {{"deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm"},
         {kDigits1to3, kCjkKana, kDeepSeek3Words}, false, false, false},
        {{"spark2_5"},
         {kDigits1to3, kCjkKana, kSpark25Words, kDigit}, false, false, false},
        {{"youtu"},
         {kYoutuCjk, kYoutuWords}, true, false, false},
        {{"falcon"},
         {kFalconPunctuation, kGpt2, kThreeAsciiDigits}, false, false, false},
        {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
          "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "trillion",
          "granite-docling", "exaone4"},
         {kGpt2}, false, false, false},
        {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"},
         {kDigit, kGpt2}, false, false, false},
        {{"jais-2"},
         {kJais2Words}, false, false, false},
        {{"qwen2"},
         {kQwen2}, false, false, true},
        {{"deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan", "solar-open", "grok-2"},
         {kQwen2}, false, false, false},
        {{"qwen35"},
         {kQwen35Words}, false, false, false},
        {{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"},
         {kLlama3}, false, false, false},
        {{"poro-chat", "bloom", "gpt3-finnish"},
         {kPoroWords}, false, false, false},
        {{"viking"},
         {kPoroWords, kDigit}, false, false, false},
        {{"tekken"},
         {kTekkenWords}, true, true, false},
        {{"chameleon"},
         {kChameleonSentinel, kChameleonImage, kChameleonWhitespace, kDigit, kChameleonPunctuation, kGpt2}, false,
          true, false},
        {{"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"},
         {kO200kWords}, false, false, false},
        {{"granite-embed-multi-97m"},
         {kGraniteMultiWords}, true, false, false},
        {{"tiny_aya", "cohere2moe"},
         {kDigitGroups, kO200kWords}, false, false, false},
        {{"bailingmoe", "bailingmoe2", "llada-moe"},
         {kBailingWords}, false, false, false},
        {{"seed-coder"},
         {kSeedCoderWords}, false, false, false},
        {{"ufakzeka"},
         {kUfakzekaWords}, false, false, false},
        {{"laguna"},
         {kLines, kQwen2}, false, false, false},
        {{"exaone-moe"},
         {kExaoneMoeWords}, false, false, false},
        {{"superbpe"},
         {kDigitRun, kDigitTriplesAhead}, false, false, false},
    };
    return entries;
}

// Names llama.cpp knows whose splitting is not a regex list over byte-level text.
struct Refusal {
    std::string_view name, reason;
};
constexpr Refusal kRefused[] = {
    {"kimi-k2", "llama.cpp splits it with hand-written code (Han runs kept apart from the words around them), "
                "not a list of regexes"},
    {"afmoe", "llama.cpp groups its digits with hand-written code (by the length of the run modulo 3), "
              "not a list of regexes"},
    {"gemma4", "it is SentencePiece-style BPE over raw UTF-8 (spaces as U+2581), not a byte-level vocabulary"},
    {"granite-embed-multi-311m", "it is SentencePiece-style BPE over raw UTF-8 (spaces as U+2581), not a "
                                 "byte-level vocabulary"},
    {"sarvam-moe", "it is SentencePiece-style BPE over raw UTF-8 (spaces as U+2581), not a byte-level vocabulary"},
    {"whitespace", "it splits at whitespace, drops it and encodes raw UTF-8, not the byte-level alphabet"},
};

}  // namespace

Result<GgufPreTokenizer> ggufPreTokenizer(std::string_view name, const std::string& fileName) {
    for (const Entry& e : table())
        for (std::string_view n : e.names)
            if (n == name) return GgufPreTokenizer{e.regexes, e.ignoreMerges, e.addsBosByDefault, e.nfc};
    for (const Refusal& r : kRefused)
        if (r.name == name)
            return badInput(fileName + ": the '" + std::string(name) + "' pre-tokenizer (tokenizer.ggml.pre) is not " +
                            "supported: " + std::string(r.reason));
    std::string supported;
    for (std::string_view n : ggufPreTokenizerNames()) {
        if (!supported.empty()) supported += ", ";
        supported += n;
    }
    return badInput(fileName + ": the '" + std::string(name) + "' pre-tokenizer (tokenizer.ggml.pre) is not " +
                    "supported (supported: " + supported + ")");
}

std::vector<std::string_view> ggufPreTokenizerNames() {
    std::vector<std::string_view> names;
    for (const Entry& e : table()) names.insert(names.end(), e.names.begin(), e.names.end());
    return names;
}

}  // namespace strata
