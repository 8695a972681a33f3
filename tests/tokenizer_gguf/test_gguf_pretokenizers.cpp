// GGUF pre-tokenizers (tokenizer.ggml.pre) against the Hugging Face tokenizers library, on the
// fixture made by tests/tools/make_pretokenizer_fixtures.py: for every supported name, a
// vocabulary-only GGUF written here tokenizes the corpus as tokenizers does with that name's
// regexes, plain and with BOS; the same regexes in a tokenizer.json do too; and the regex engine
// (PCRE2 behind SplitRegex) puts characters in the classes Oniguruma puts them in and splits the
// sample texts as tokenizers' Split, Digits, Punctuation and ByteLevel do.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "../support/GgufWriter.h"
#include "../support/JsonFixtures.h"
#include "../support/TestPaths.h"
#include "tokenizer/GgufPreTokenizer.h"
#include "tokenizer/HfPipeline.h"
#include "tokenizer/SplitRegex.h"
#include "tokenizer/Tokenizer.h"
#include "tokenizer/Unicode.h"

using namespace strata;
using namespace strata::testsupport;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// Every code point but the surrogates, in order, as UTF-8.
std::string allCodePoints() {
    std::string s;
    for (uint32_t cp = 0; cp < 0x110000; ++cp)
        if (cp < 0xD800 || cp > 0xDFFF) unicode::appendUtf8(s, cp);
    return s;
}

}  // namespace

class TestGgufPreTokenizers : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void engineTableMatchesFixture();
    void namesMatchTokenizers_data();
    void namesMatchTokenizers();
    void missingOrEmptyPreIsDefault();
    void tokenizerJsonMatches_data();
    void tokenizerJsonMatches();
    void bosFollowsNameAndFile();
    void unknownAndRefusedNames();
    void regexClassesMatchOniguruma();
    void splitPreTokenizersMatchTokenizers();
    void cleanupTestCase();

private:
    // A vocabulary-only GGUF of the fixture's vocabulary; a null pre leaves tokenizer.ggml.pre out,
    // addBos < 0 leaves tokenizer.ggml.add_bos_token out.
    fs::path writeVocabulary(const std::string& file, const std::string* pre, int addBos) const;
    // Counts the corpus strings whose ids differ from the group's, plain and with BOS.
    int compareWithGroup(const Tokenizer& tok, size_t group, const char* what);
    std::vector<int32_t> expectedIds(size_t group, size_t string, bool bos) const;

    json fixture_;
    std::vector<std::string> corpus_;
    QTemporaryDir dir_;
    size_t namesCompared_ = 0, encodingsCompared_ = 0, groupsCompared_ = 0;
};

void TestGgufPreTokenizers::initTestCase() {
    const fs::path data = testDataDir() / "tokenizers";
    QVERIFY2(fs::exists(data / "pretokenizers.json"), "fixture missing; run tests/tools/make_pretokenizer_fixtures.py");
    fixture_ = readJson(data / "pretokenizers.json");
    corpus_ = readJson(data / "corpus.json").get<std::vector<std::string>>();
    QVERIFY(corpus_.size() >= 300);
    QCOMPARE(fixture_["variants"].size(), corpus_.size());
    QVERIFY(dir_.isValid());
}

fs::path TestGgufPreTokenizers::writeVocabulary(const std::string& file, const std::string* pre, int addBos) const {
    const auto tokens = fixture_["tokens"].get<std::vector<std::string>>();
    const int32_t bos = fixture_["bos_id"].get<int32_t>();
    std::vector<int32_t> types(tokens.size(), 1);  // normal
    types[size_t(bos)] = 3;                        // control
    GgufMetadata m;
    m.string("general.architecture", "llama");
    m.string("tokenizer.ggml.model", "gpt2");
    if (pre) m.string("tokenizer.ggml.pre", *pre);
    m.strings("tokenizer.ggml.tokens", tokens);
    m.int32s("tokenizer.ggml.token_type", types);
    m.strings("tokenizer.ggml.merges", fixture_["merges"].get<std::vector<std::string>>());
    m.uint32("tokenizer.ggml.bos_token_id", uint32_t(bos));
    if (addBos >= 0) m.boolean("tokenizer.ggml.add_bos_token", addBos != 0);
    const fs::path path = fs::path(dir_.path().toStdString()) / file;
    writeGguf(path, m);
    return path;
}

std::vector<int32_t> TestGgufPreTokenizers::expectedIds(size_t group, size_t string, bool bos) const {
    const json& g = fixture_["groups"][group];
    // One base-36 digit per corpus string picks the string's ids among its variants.
    const char digit = g["plain"].get_ref<const std::string&>().at(string);
    const size_t variant = size_t(digit <= '9' ? digit - '0' : digit - 'a' + 10);
    auto ids = fixture_["variants"][string][variant].get<std::vector<int32_t>>();
    if (bos) ids.insert(ids.begin(), fixture_["bos_id"].get<int32_t>());
    return ids;
}

int TestGgufPreTokenizers::compareWithGroup(const Tokenizer& tok, size_t group, const char* what) {
    int failures = 0;
    for (size_t i = 0; i < corpus_.size(); ++i) {
        for (bool bos : {false, true}) {
            const auto expected = expectedIds(group, i, bos);
            const auto got = tok.encode(corpus_[i], bos);
            ++encodingsCompared_;
            if (got != expected && failures++ < 3)
                qWarning("%s #%zu addBos=%d %s\n  got      %s\n  expected %s", what, i, bos,
                         json(corpus_[i]).dump().c_str(), idsText(got).c_str(), idsText(expected).c_str());
        }
    }
    return failures;
}

// The names and regexes the engine holds are the ones the fixture was made from, so that every
// supported name is checked below and nothing checked is left out of the engine.
void TestGgufPreTokenizers::engineTableMatchesFixture() {
    std::set<std::string> engine, fixture;
    for (std::string_view n : ggufPreTokenizerNames()) QVERIFY2(engine.emplace(n).second, std::string(n).c_str());
    for (const auto& [name, entry] : fixture_["names"].items()) fixture.insert(name);
    QCOMPARE(engine, fixture);
    for (const auto& [name, entry] : fixture_["names"].items()) {
        auto pre = ggufPreTokenizer(name, "table");
        QVERIFY2(pre.ok(), name.c_str());
        const json& g = fixture_["groups"][entry["group"].get<size_t>()];
        std::vector<std::string> regexes(pre.value().regexes.begin(), pre.value().regexes.end());
        QCOMPARE(regexes, g["regexes"].get<std::vector<std::string>>());
        QCOMPARE(pre.value().ignoreMerges, g["ignore_merges"].get<bool>());
        QCOMPARE(pre.value().nfc, g["nfc"].get<bool>());
        QCOMPARE(pre.value().addsBosByDefault, entry["adds_bos_by_default"].get<bool>());
    }
    for (const auto& name : fixture_["refused"]) QVERIFY(!engine.count(name.get<std::string>()));
}

void TestGgufPreTokenizers::namesMatchTokenizers_data() {
    QTest::addColumn<QString>("name");
    for (const auto& [name, entry] : fixture_["names"].items()) QTest::newRow(name.c_str()) << QString::fromStdString(name);
}

void TestGgufPreTokenizers::namesMatchTokenizers() {
    QFETCH(QString, name);
    const std::string pre = name.toStdString();
    auto tok = loadTokenizer(writeVocabulary(pre + ".gguf", &pre, 1));
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
    QVERIFY(tok.value()->addsBosByDefault());
    QCOMPARE(compareWithGroup(*tok.value(), fixture_["names"][pre]["group"].get<size_t>(), pre.c_str()), 0);
    ++namesCompared_;
}

// llama.cpp reads a GGUF without tokenizer.ggml.pre, or with an empty one, as "default".
void TestGgufPreTokenizers::missingOrEmptyPreIsDefault() {
    const size_t group = fixture_["names"]["default"]["group"].get<size_t>();
    auto missing = loadTokenizer(writeVocabulary("no-pre.gguf", nullptr, 1));
    QVERIFY2(missing.ok(), missing.ok() ? "" : missing.error().message.c_str());
    QCOMPARE(compareWithGroup(*missing.value(), group, "no tokenizer.ggml.pre"), 0);
    const std::string empty;
    auto blank = loadTokenizer(writeVocabulary("empty-pre.gguf", &empty, 1));
    QVERIFY2(blank.ok(), blank.ok() ? "" : blank.error().message.c_str());
    QCOMPARE(compareWithGroup(*blank.value(), group, "empty tokenizer.ggml.pre"), 0);
}

void TestGgufPreTokenizers::tokenizerJsonMatches_data() {
    QTest::addColumn<int>("group");
    for (size_t g = 0; g < fixture_["groups"].size(); ++g) {
        std::string names;
        for (const auto& [name, entry] : fixture_["names"].items())
            if (entry["group"].get<size_t>() == g) names += (names.empty() ? "" : ",") + name;
        QTest::newRow(names.substr(0, 60).c_str()) << int(g);
    }
}

// The same regexes in a tokenizer.json (a Sequence of Splits, then ByteLevel) give the same ids.
void TestGgufPreTokenizers::tokenizerJsonMatches() {
    QFETCH(int, group);
    const json& g = fixture_["groups"][size_t(group)];
    json pre = json::array();
    for (const auto& r : g["regexes"])
        pre.push_back({{"type", "Split"}, {"pattern", {{"Regex", r}}}, {"behavior", "Isolated"}, {"invert", false}});
    pre.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}});
    json vocab = json::object();
    const auto tokens = fixture_["tokens"].get<std::vector<std::string>>();
    for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
    const int32_t bos = fixture_["bos_id"].get<int32_t>();
    const std::string bosText = tokens[size_t(bos)];
    const json doc = {
        {"version", "1.0"},
        {"added_tokens", {{{"id", bos}, {"content", bosText}, {"single_word", false}, {"lstrip", false},
                           {"rstrip", false}, {"normalized", false}, {"special", true}}}},
        {"normalizer", g["nfc"].get<bool>() ? json{{"type", "NFC"}} : json()},
        {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pre}}},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", {{{"SpecialToken", {{"id", bosText}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
          {"pair", json::array()},
          {"special_tokens", {{bosText, {{"id", bosText}, {"ids", {bos}}, {"tokens", {bosText}}}}}}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", fixture_["merges"]},
                   {"ignore_merges", g["ignore_merges"]}, {"fuse_unk", false}, {"byte_fallback", false}}},
    };
    const fs::path folder = fs::path(dir_.path().toStdString()) / ("json" + std::to_string(group));
    fs::create_directories(folder);
    std::ofstream(folder / "tokenizer.json", std::ios::binary) << doc.dump();
    auto tok = loadTokenizer(folder);
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
    QCOMPARE(compareWithGroup(*tok.value(), size_t(group), ("tokenizer.json group " + std::to_string(group)).c_str()), 0);
    ++groupsCompared_;
}

// Without tokenizer.ggml.add_bos_token the name decides (llama.cpp's defaults); with it, the file.
void TestGgufPreTokenizers::bosFollowsNameAndFile() {
    const int32_t bos = fixture_["bos_id"].get<int32_t>();
    for (const auto& [name, entry] : fixture_["names"].items()) {
        auto tok = loadTokenizer(writeVocabulary(name + "-nobos.gguf", &name, -1));
        QVERIFY2(tok.ok(), name.c_str());
        const bool expected = entry["adds_bos_by_default"].get<bool>();
        QVERIFY2(tok.value()->addsBosByDefault() == expected, name.c_str());
        const auto ids = tok.value()->encode("Hello", true);
        QVERIFY2((!ids.empty() && ids.front() == bos) == expected, name.c_str());
    }
    for (const std::string name : {"llama-bpe", "tekken", "chameleon"}) {
        QVERIFY(fixture_["names"][name]["adds_bos_by_default"].get<bool>());
        auto tok = loadTokenizer(writeVocabulary(name + "-bos-off.gguf", &name, 0));
        QVERIFY2(tok.ok(), name.c_str());
        QVERIFY2(!tok.value()->addsBosByDefault(), name.c_str());
        QVERIFY(tok.value()->encode("Hello", true) == tok.value()->encode("Hello", false));
    }
}

void TestGgufPreTokenizers::unknownAndRefusedNames() {
    const std::string unknown = "no-such-pre";
    auto tok = loadTokenizer(writeVocabulary("unknown.gguf", &unknown, 1));
    QVERIFY(!tok.ok());
    const std::string& message = tok.error().message;
    QVERIFY2(contains(message, "'no-such-pre' pre-tokenizer"), message.c_str());
    QVERIFY2(contains(message, "unknown.gguf"), message.c_str());
    QVERIFY2(contains(message, "supported: "), message.c_str());
    for (const auto& [name, entry] : fixture_["names"].items())
        QVERIFY2(contains(message, " " + name + ",") || contains(message, " " + name + ")"), name.c_str());
    for (const auto& r : fixture_["refused"]) {
        const std::string name = r.get<std::string>();
        auto refused = loadTokenizer(writeVocabulary(name + ".gguf", &name, 1));
        QVERIFY2(!refused.ok(), name.c_str());
        const std::string& why = refused.error().message;
        QVERIFY2(contains(why, "'" + name + "' pre-tokenizer") && contains(why, "not supported: "), why.c_str());
        QVERIFY2(!contains(why, "supported: default"), why.c_str());  // a reason, not the list
    }
    auto kimi = ggufPreTokenizer("kimi-k2", "k.gguf");
    QVERIFY(!kimi.ok());
    QVERIFY2(contains(kimi.error().message, "hand-written code"), kimi.error().message.c_str());
    auto gemma = ggufPreTokenizer("gemma4", "g.gguf");
    QVERIFY(!gemma.ok());
    QVERIFY2(contains(gemma.error().message, "not a byte-level vocabulary"), gemma.error().message.c_str());
}

// For every class the fixture lists, the code points SplitRegex (PCRE2, with Strata's rewrites)
// matches one at a time are those Oniguruma matches, over all of Unicode except the code points
// PCRE2's tables do not know yet (assigned after its Unicode version); those are counted.
void TestGgufPreTokenizers::regexClassesMatchOniguruma() {
    const std::string text = allCodePoints();
    auto matchedCodePoints = [&](const std::string& expr, std::vector<bool>& in) -> bool {
        auto regex = SplitRegex::compile(expr);
        if (!regex.ok()) {
            qWarning("%s", regex.error().message.c_str());
            return false;
        }
        std::vector<std::pair<size_t, size_t>> matches;
        regex.value().findMatches(text, matches);
        in.assign(0x110000, false);
        for (auto [b, e] : matches) {
            for (size_t at = b; at < e;) {
                size_t len = 1;
                const int32_t cp = unicode::decodeAt(text, at, len);
                in[size_t(cp)] = true;
                at += len;
            }
        }
        return true;
    };
    std::vector<bool> unknown;
    QVERIFY(matchedCodePoints(R"(\p{Cn})", unknown));
    int failures = 0;
    size_t newer = 0;
    for (const auto& [expr, runs] : fixture_["onig_classes"].items()) {
        // Runs of code points: by pairs, the gap from the end of the last run and the length less one.
        std::vector<bool> onig(0x110000, false), pcre;
        for (size_t k = 0, last = 0; k + 1 < runs.size(); k += 2) {
            const size_t first = last + runs[k].get<size_t>();
            last = first + runs[k + 1].get<size_t>();
            for (size_t cp = first; cp <= last; ++cp) onig[cp] = true;
        }
        QVERIFY2(matchedCodePoints(expr, pcre), expr.c_str());
        size_t differ = 0, first = 0;
        for (uint32_t cp = 0; cp < 0x110000; ++cp) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            if (unknown[cp]) {
                newer += onig[cp] && !pcre[cp];
                continue;
            }
            if (onig[cp] != pcre[cp] && differ++ == 0) first = cp;
        }
        if (differ) {
            ++failures;
            qWarning("%s: %zu code points differ from Oniguruma, the first U+%04zX (Oniguruma %d)", expr.c_str(), differ,
                     first, int(onig[first]));
        }
    }
    qInfo("%zu classes agree with Oniguruma; %zu class memberships Oniguruma gives to code points PCRE2's Unicode "
          "tables do not know were left out",
          fixture_["onig_classes"].size(), newer);
    QCOMPARE(failures, 0);
}

// Split with regexes, literals, every behaviour and invert, Digits, Punctuation and ByteLevel with
// its own regex give the pieces tokenizers' pre_tokenize_str gives.
void TestGgufPreTokenizers::splitPreTokenizersMatchTokenizers() {
    const auto texts = fixture_["split_texts"].get<std::vector<std::string>>();
    int failures = 0;
    for (const auto& c : fixture_["split_cases"]) {
        auto steps = parsePreTokenizer(c["pre_tokenizer"]);
        QVERIFY2(steps.ok(), steps.ok() ? c["pre_tokenizer"].dump().c_str() : steps.error().message.c_str());
        PreTokenizedText words;
        for (size_t t = 0; t < texts.size(); ++t) {
            preTokenize(steps.value(), texts[t], words);
            std::vector<std::string> got;
            for (size_t w = 0; w < words.words.size(); ++w) got.emplace_back(words.word(w));
            const auto expected = c["pieces"][t].get<std::vector<std::string>>();
            if (got != expected && failures++ < 5)
                qWarning("%s on %s\n  got      %s\n  expected %s", c["pre_tokenizer"].dump().c_str(),
                         json(texts[t]).dump().c_str(), json(got).dump().c_str(), json(expected).dump().c_str());
        }
    }
    QCOMPARE(failures, 0);
}

void TestGgufPreTokenizers::cleanupTestCase() {
    qInfo("%zu GGUF pre-tokenizer names and %zu tokenizer.json regex lists x %zu corpus strings: %zu encodings "
          "(plain and with BOS) compared with the tokenizers library",
          namesCompared_, groupsCompared_, corpus_.size(), encodingsCompared_);
}

QTEST_GUILESS_MAIN(TestGgufPreTokenizers)
#include "test_gguf_pretokenizers.moc"
