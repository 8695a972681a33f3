#include "tokenizer/HfPipeline.h"

#include <algorithm>
#include <array>

#include <utf8proc.h>

namespace strata {

using nlohmann::json;

namespace {

struct ByteTable {
    std::array<std::string, 256> toChar;
    std::array<int16_t, 512> toByte;  // code point -> byte, -1 when not in the alphabet
    ByteTable() {
        toByte.fill(-1);
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++);
            unicode::appendUtf8(toChar[static_cast<size_t>(b)], cp);
            toByte[cp] = static_cast<int16_t>(b);
        }
    }
};

const ByteTable& byteTable() {
    static const ByteTable table;
    return table;
}

std::string typeOf(const json& j) {
    auto it = j.find("type");
    return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// The {"String": ...} form of a pattern; regex patterns in normalizers and decoders are not
// used by any supported family.
Result<std::string> literalPattern(const json& j, const char* where) {
    auto p = j.find("pattern");
    if (p == j.end() || !p->is_object()) return badInput(std::string("tokenizer.json: ") + where + " has no pattern");
    if (auto s = p->find("String"); s != p->end() && s->is_string()) return s->get<std::string>();
    return badInput(std::string("tokenizer.json: ") + where + " uses a regex pattern, which Strata does not support");
}

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
        out.append(s, pos, hit - pos);
        out.append(to);
    }
    if (pos == 0) return;
    out.append(s, pos, std::string::npos);
    s = std::move(out);
}

Status appendNormalizer(const json& j, std::vector<NormalizerStep>& steps) {
    if (j.is_null()) return {};
    const std::string type = typeOf(j);
    if (type == "Sequence") {
        for (const auto& child : j.value("normalizers", json::array())) STRATA_TRY(appendNormalizer(child, steps));
        return {};
    }
    NormalizerStep s;
    if (type == "NFC") s.form = unicode::NormalForm::NFC;
    else if (type == "NFD") s.form = unicode::NormalForm::NFD;
    else if (type == "NFKC") s.form = unicode::NormalForm::NFKC;
    else if (type == "NFKD") s.form = unicode::NormalForm::NFKD;
    else if (type == "Lowercase") s.kind = NormalizerStep::Kind::Lowercase;
    else if (type == "Prepend") {
        s.kind = NormalizerStep::Kind::Prepend;
        s.pattern = j.value("prepend", std::string());
    } else if (type == "Replace") {
        auto p = literalPattern(j, "normalizer Replace");
        STRATA_TRY(p);
        s.kind = NormalizerStep::Kind::Replace;
        s.pattern = p.value();
        s.content = j.value("content", std::string());
    } else {
        return badInput("tokenizer.json: normalizer type '" + type + "' is not supported");
    }
    steps.push_back(std::move(s));
    return {};
}

Result<SplitBehavior> splitBehavior(const json& j) {
    const std::string b = j.value("behavior", std::string("Isolated"));
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    return badInput("tokenizer.json: Split behavior '" + b + "' is not supported");
}

// A regex split step: one of the hand-written scanners when the pattern is theirs, else PCRE2.
Status setSplitRegex(PreTokenizerStep& s, const std::string& regex, const char* where) {
    if (auto known = recogniseSplitPattern(regex)) {
        s.pattern = *known;
        return {};
    }
    auto compiled = SplitRegex::compile(regex);
    if (!compiled.ok()) return badInput(std::string("tokenizer.json: ") + where + ": " + compiled.error().message);
    s.regex = std::make_shared<const SplitRegex>(std::move(compiled).value());
    return {};
}

Status appendPreTokenizer(const json& j, std::vector<PreTokenizerStep>& steps) {
    if (j.is_null()) return {};
    const std::string type = typeOf(j);
    if (type == "Sequence") {
        for (const auto& child : j.value("pretokenizers", json::array())) STRATA_TRY(appendPreTokenizer(child, steps));
        return {};
    }
    PreTokenizerStep s;
    if (type == "ByteLevel") {
        s.kind = PreTokenizerStep::Kind::ByteLevel;
        s.addPrefixSpace = j.value("add_prefix_space", false);
        s.useRegex = j.value("use_regex", true);
    } else if (type == "Split") {
        s.invert = j.value("invert", false);
        const auto& p = j.value("pattern", json::object());
        if (auto r = p.find("Regex"); r != p.end() && r->is_string()) {
            STRATA_TRY(setSplitRegex(s, r->get<std::string>(), "Split pre-tokenizer"));
        } else if (auto l = p.find("String"); l != p.end() && l->is_string()) {
            s.literal = l->get<std::string>();
        } else {
            return badInput("tokenizer.json: Split pre-tokenizer has no pattern");
        }
        auto behavior = splitBehavior(j);
        STRATA_TRY(behavior);
        s.behavior = behavior.value();
    } else if (type == "Digits") {
        // Rust's char::is_numeric is \p{N}; runs of digits are one piece unless split one by one.
        STRATA_TRY(setSplitRegex(s, j.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)",
                                 "Digits pre-tokenizer"));
    } else if (type == "Punctuation") {
        // ASCII punctuation and Unicode's P categories, each character a delimiter of its own.
        STRATA_TRY(setSplitRegex(s, R"([\p{P}!-/:-@\[-`{-~])", "Punctuation pre-tokenizer"));
        auto behavior = splitBehavior(j);
        STRATA_TRY(behavior);
        s.behavior = behavior.value();
    } else {
        return badInput("tokenizer.json: pre-tokenizer type '" + type + "' is not supported");
    }
    steps.push_back(std::move(s));
    return {};
}

Status appendDecoder(const json& j, std::vector<DecoderStep>& steps) {
    if (j.is_null()) return {};
    const std::string type = typeOf(j);
    if (type == "Sequence") {
        for (const auto& child : j.value("decoders", json::array())) STRATA_TRY(appendDecoder(child, steps));
        return {};
    }
    DecoderStep s;
    if (type == "ByteLevel") {
    } else if (type == "ByteFallback") {
        s.kind = DecoderStep::Kind::ByteFallback;
    } else if (type == "Fuse") {
        s.kind = DecoderStep::Kind::Fuse;
    } else if (type == "Replace") {
        auto p = literalPattern(j, "decoder Replace");
        STRATA_TRY(p);
        s.kind = DecoderStep::Kind::Replace;
        s.pattern = p.value();
        s.content = j.value("content", std::string());
    } else if (type == "Strip") {
        s.kind = DecoderStep::Kind::Strip;
        s.stripChar = j.value("content", std::string(" "));
        s.start = j.value("start", size_t{0});
        s.stop = j.value("stop", size_t{0});
    } else {
        return badInput("tokenizer.json: decoder type '" + type + "' is not supported");
    }
    steps.push_back(std::move(s));
    return {};
}

// Splits one word by a pattern and regroups delimiters as the Split behaviour asks, the way the
// tokenizers library does it (empty matches included, so that they still cut the word), and
// appends the pieces' byte ranges, offset by base.
void splitWord(const PreTokenizerStep& step, std::string_view word, size_t base,
               std::vector<std::pair<size_t, size_t>>& out) {
    thread_local std::vector<std::pair<size_t, size_t>> matches;
    matches.clear();
    if (step.pattern) {
        findPatternMatches(word, *step.pattern, matches);
    } else if (step.regex) {
        step.regex->findMatches(word, matches);
    } else if (!step.literal.empty()) {
        for (size_t pos = 0, hit; (hit = word.find(step.literal, pos)) != std::string_view::npos;
             pos = hit + step.literal.size())
            matches.emplace_back(hit, hit + step.literal.size());
    }
    struct Segment {
        size_t begin, end;
        bool isMatch;
    };
    thread_local std::vector<Segment> segs;
    segs.clear();
    size_t prev = 0;
    for (auto [b, e] : matches) {
        if (b != prev) segs.push_back({prev, b, step.invert});
        segs.push_back({b, e, !step.invert});
        prev = e;
    }
    if (prev != word.size()) segs.push_back({prev, word.size(), step.invert});

    thread_local std::vector<Segment> grouped;
    grouped.clear();
    bool previousMatch = false;
    switch (step.behavior) {
        case SplitBehavior::Isolated: grouped = segs; break;
        case SplitBehavior::Removed:
            for (const auto& s : segs)
                if (!s.isMatch) grouped.push_back(s);
            break;
        case SplitBehavior::MergedWithPrevious:
            for (const auto& s : segs) {
                if (s.isMatch && !previousMatch && !grouped.empty()) grouped.back().end = s.end;
                else grouped.push_back(s);
                previousMatch = s.isMatch;
            }
            break;
        case SplitBehavior::MergedWithNext:
            for (size_t k = segs.size(); k-- > 0;) {
                const auto& s = segs[k];
                if (s.isMatch && !previousMatch && !grouped.empty()) grouped.back().begin = s.begin;
                else grouped.push_back(s);
                previousMatch = s.isMatch;
            }
            std::reverse(grouped.begin(), grouped.end());
            break;
        case SplitBehavior::Contiguous:
            for (const auto& s : segs) {
                if (s.isMatch == previousMatch && !grouped.empty()) grouped.back().end = s.end;
                else grouped.push_back(s);
                previousMatch = s.isMatch;
            }
            break;
    }
    for (const auto& s : grouped)
        if (s.end > s.begin) out.emplace_back(base + s.begin, base + s.end);
}

void appendMapped(std::string& out, std::string_view word) {
    const auto& table = byteTable();
    for (char c : word) out += table.toChar[static_cast<unsigned char>(c)];
}

// ByteFallback: a run of <0xNN> tokens becomes its bytes when they form valid UTF-8, else one
// U+FFFD per byte.
std::vector<std::string> byteFallback(std::vector<std::string> tokens) {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string run;
    size_t runLength = 0;
    auto flush = [&] {
        if (runLength == 0) return;
        if (unicode::isValidUtf8(run)) {
            out.push_back(run);
        } else {
            for (size_t k = 0; k < runLength; ++k) out.emplace_back("\xEF\xBF\xBD");
        }
        run.clear();
        runLength = 0;
    };
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (auto& t : tokens) {
        if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex(t[3]) >= 0 && hex(t[4]) >= 0) {
            run.push_back(static_cast<char>(hex(t[3]) * 16 + hex(t[4])));
            ++runLength;
        } else {
            flush();
            out.push_back(std::move(t));
        }
    }
    flush();
    return out;
}

void strip(std::string& token, const std::string& ch, size_t start, size_t stop) {
    if (ch.empty()) return;
    size_t begin = 0;
    for (size_t k = 0; k < start && token.compare(begin, ch.size(), ch) == 0; ++k) begin += ch.size();
    size_t end = token.size();
    for (size_t k = 0; k < stop && end >= begin + ch.size() && token.compare(end - ch.size(), ch.size(), ch) == 0; ++k)
        end -= ch.size();
    token = token.substr(begin, end - begin);
}

}  // namespace

const std::string& byteLevelChar(unsigned char byte) { return byteTable().toChar[byte]; }

Result<std::vector<NormalizerStep>> parseNormalizer(const json& j) {
    std::vector<NormalizerStep> steps;
    STRATA_TRY(appendNormalizer(j, steps));
    return steps;
}

Result<std::vector<PreTokenizerStep>> parsePreTokenizer(const json& j) {
    std::vector<PreTokenizerStep> steps;
    STRATA_TRY(appendPreTokenizer(j, steps));
    return steps;
}

Result<std::vector<DecoderStep>> parseDecoder(const json& j) {
    std::vector<DecoderStep> steps;
    STRATA_TRY(appendDecoder(j, steps));
    return steps;
}

std::string applyNormalizers(const std::vector<NormalizerStep>& steps, std::string_view text) {
    std::string s(text);
    for (const auto& step : steps) {
        switch (step.kind) {
            case NormalizerStep::Kind::Unicode: s = unicode::normalize(s, step.form); break;
            case NormalizerStep::Kind::Replace: replaceAll(s, step.pattern, step.content); break;
            case NormalizerStep::Kind::Prepend:
                if (!s.empty()) s.insert(0, step.pattern);
                break;
            case NormalizerStep::Kind::Lowercase: {
                std::string lower;
                for (size_t i = 0; i < s.size();) {
                    size_t len = 1;
                    const int32_t cp = unicode::decodeAt(s, i, len);
                    if (cp < 0) lower.append(s, i, len);
                    else unicode::appendUtf8(lower, static_cast<uint32_t>(utf8proc_tolower(cp)));
                    i += len;
                }
                s = std::move(lower);
                break;
            }
        }
    }
    return s;
}

void preTokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text, PreTokenizedText& out) {
    out.buffer.assign(text);
    out.words.clear();
    if (text.empty()) return;
    out.words.emplace_back(0, text.size());
    thread_local std::vector<std::pair<size_t, size_t>> next, parts;
    thread_local std::string mapped, prefixed;
    PreTokenizerStep gpt2;
    gpt2.pattern = SplitPattern::Gpt2;
    for (const auto& step : steps) {
        next.clear();
        if (step.kind == PreTokenizerStep::Kind::Split) {
            for (auto [b, e] : out.words) splitWord(step, std::string_view(out.buffer).substr(b, e - b), b, next);
            out.words.swap(next);
            continue;
        }
        // ByteLevel: the words are rewritten into a new buffer in the byte alphabet.
        mapped.clear();
        for (auto [b, e] : out.words) {
            std::string_view w = std::string_view(out.buffer).substr(b, e - b);
            if (step.addPrefixSpace && w.front() != ' ') {
                prefixed.assign(1, ' ');
                prefixed += w;
                w = prefixed;
            }
            parts.clear();
            if (step.useRegex) splitWord(gpt2, w, 0, parts);
            else parts.emplace_back(0, w.size());
            for (auto [pb, pe] : parts) {
                const size_t begin = mapped.size();
                appendMapped(mapped, w.substr(pb, pe - pb));
                next.emplace_back(begin, mapped.size());
            }
        }
        out.buffer.swap(mapped);
        out.words.swap(next);
    }
}

std::string runDecoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens) {
    for (const auto& step : steps) {
        switch (step.kind) {
            case DecoderStep::Kind::ByteLevel: {
                const auto& table = byteTable();
                std::string bytes;
                for (const auto& t : tokens) {
                    const size_t mark = bytes.size();
                    bool mapped = true;
                    for (size_t i = 0; i < t.size();) {
                        size_t len = 1;
                        const int32_t cp = unicode::decodeAt(t, i, len);
                        if (cp < 0 || cp >= 512 || table.toByte[static_cast<size_t>(cp)] < 0) {
                            mapped = false;
                            break;
                        }
                        bytes.push_back(static_cast<char>(table.toByte[static_cast<size_t>(cp)]));
                        i += len;
                    }
                    if (!mapped) {  // not byte-level text (an added token): its own bytes
                        bytes.resize(mark);
                        bytes += t;
                    }
                }
                std::string text;
                unicode::appendLossy(text, bytes);
                tokens.assign(1, std::move(text));
                break;
            }
            case DecoderStep::Kind::Replace:
                for (auto& t : tokens) replaceAll(t, step.pattern, step.content);
                break;
            case DecoderStep::Kind::ByteFallback: tokens = byteFallback(std::move(tokens)); break;
            case DecoderStep::Kind::Fuse: {
                std::string all;
                for (const auto& t : tokens) all += t;
                tokens.assign(1, std::move(all));
                break;
            }
            case DecoderStep::Kind::Strip:
                for (auto& t : tokens) strip(t, step.stripChar, step.start, step.stop);
                break;
        }
    }
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
}

}  // namespace strata
