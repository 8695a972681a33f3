// Parity of TekkenTokenizer with mistral-common's Tekkenizer on tekken_240911.json (the vocabulary
// of Mistral NeMo and Voxtral), on the corpus made by tests/tools/make_tekken_fixtures.py. The
// vocabulary itself (19 MB) is installed by packaging/install-models.sh, not kept in the tree.
#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../support/JsonFixtures.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "core/ModelLocations.h"
#include "tokenizer/TekkenTokenizer.h"

using namespace strata;
namespace fs = std::filesystem;
using strata::testsupport::idsText;
using strata::testsupport::readJson;
using testsupport::contains;
using testsupport::writeFile;

namespace {

const fs::path kFixtures = strata::testsupport::testDataDir() / "tekken";

// A small Tekken file: the 256 bytes, then "ab" and "abc", after `numSpecial` special ids.
nlohmann::json tinyTekken(int numSpecial) {
    nlohmann::json vocab = nlohmann::json::array();
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 256; ++i) {
        std::string enc{b64[i >> 2], b64[(i & 3) << 4], '=', '='};
        vocab.push_back({{"rank", i}, {"token_bytes", enc}, {"token_str", nullptr}});
    }
    vocab.push_back({{"rank", 256}, {"token_bytes", "YWI="}, {"token_str", "ab"}});
    vocab.push_back({{"rank", 257}, {"token_bytes", "YWJj"}, {"token_str", "abc"}});
    const std::string pattern =
        "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"
        "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|"
        "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    return {{"config",
             {{"pattern", pattern},
              {"num_vocab_tokens", 258},
              {"default_vocab_size", 258 + numSpecial},
              {"default_num_special_tokens", numSpecial},
              {"version", "v7"}}},
            {"vocab", vocab}};
}

}  // namespace

class TestTekkenTokenizer : public QObject {
    Q_OBJECT

    std::unique_ptr<TekkenTokenizer> tok_;
    nlohmann::json corpus_;
    std::string missing_;

private slots:
    void initTestCase() {
        corpus_ = readJson(kFixtures / "expected_ids.json");
        QVERIFY(corpus_.size() >= 300);
        const fs::path file = modelsDir() / "tekken" / "tekken_240911.json";
        if (!fs::exists(file)) {
            missing_ = file.string() + " is not installed; run packaging/install-models.sh (it extracts it from "
                       "the mistral-common 1.13.1 wheel)";
            return;
        }
        const auto t0 = std::chrono::steady_clock::now();
        auto tok = TekkenTokenizer::load(file);
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
        tok_ = std::move(tok).value();
        qInfo("loaded %s in %.2f s", file.string().c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }

    void init() {
        const std::string fn = QTest::currentTestFunction();
        if (tok_ || fn.rfind("tiny", 0) == 0 || fn.rfind("damaged", 0) == 0) return;
        const char* require = std::getenv("STRATA_REQUIRE_MODELS");
        if (require && std::string(require) == "1") QFAIL(missing_.c_str());
        QSKIP(missing_.c_str());
    }

    void corpusMatchesMistralCommon() {
        int matched = 0;
        std::string firstMismatches;
        int reported = 0;
        for (const auto& c : corpus_) {
            const std::string text = c["text"].get<std::string>();
            const auto expected = c["ids"].get<std::vector<int32_t>>();
            const auto ids = tok_->encode(text, false);
            if (ids == expected) {
                ++matched;
            } else if (reported++ < 5) {
                firstMismatches += "\n  text " + nlohmann::json(text).dump() + "\n    got      " + idsText(ids) +
                                   "\n    expected " + idsText(expected);
            }
        }
        qInfo("Tekken ids equal to mistral-common's for %d/%d strings", matched, int(corpus_.size()));
        QVERIFY2(matched == int(corpus_.size()), firstMismatches.c_str());
    }

    void corpusRoundTrips() {
        for (const auto& c : corpus_) {
            const std::string text = c["text"].get<std::string>();
            const auto ids = tok_->encode(text, true);
            QCOMPARE(tok_->decode(ids, true), text);
            QCOMPARE(tok_->decode(ids, false), "<s>" + text);
        }
    }

    void decodeMatchesMistralCommon() {
        for (const auto& c : readJson(kFixtures / "expected_decode.json")) {
            const auto ids = c["ids"].get<std::vector<int32_t>>();
            QCOMPARE(tok_->decode(ids, false), c["keep"].get<std::string>());
            QCOMPARE(tok_->decode(ids, true), c["ignore"].get<std::string>());
        }
    }

    void specialTokens() {
        const auto expected = readJson(kFixtures / "expected_special.json");
        QCOMPARE(tok_->bosId(), expected["bos"].get<int32_t>());
        QCOMPARE(tok_->eosIds(), std::vector<int32_t>{expected["eos"].get<int32_t>()});
        QCOMPARE(tok_->numSpecialTokens(), expected["num_special"].get<int32_t>());
        QCOMPARE(tok_->vocabSize(), expected["vocab_size"].get<int32_t>());
        for (const auto& [name, id] : expected["special"].items()) {
            QCOMPARE(tok_->tokenId(name), std::optional<int32_t>(id.get<int32_t>()));
            QVERIFY(tok_->isSpecial(id.get<int32_t>()));
        }
        QCOMPARE(tok_->tokenId("<SPECIAL_999>"), std::optional<int32_t>(999));
        QVERIFY(!tok_->isSpecial(1000));
        QVERIFY(tok_->addsBosByDefault());
        // Written in text, special tokens stay text.
        for (const char* text : {"<s>", "</s>", "[INST] hi [/INST]", "<SPECIAL_20>"})
            for (int32_t id : tok_->encode(text, false)) QVERIFY2(id >= 1000, text);
        const auto withBos = tok_->encode("Hello", true);
        QCOMPARE(withBos.front(), 1);
        QCOMPARE(std::vector<int32_t>(withBos.begin() + 1, withBos.end()), tok_->encode("Hello", false));
        QCOMPARE(tok_->tokenId("Hello"), std::optional<int32_t>(tok_->encode("Hello", false).at(0)));
    }

    void streamingDecodeKeepsUtf8Whole() {
        // Emoji and CJK split into byte tokens must come out whole, never as U+FFFD.
        for (const char* text : {"Hi 😀 there", "中文字符 and 👨‍👩‍👧‍👦", "Ångström ½ ٣٤٥"}) {
            const auto ids = tok_->encode(text, true);
            StreamingDecoder stream(*tok_, true);
            std::string streamed;
            for (int32_t id : ids) streamed += stream.push(id);
            streamed += stream.flush();
            QCOMPARE(streamed, std::string(text));
        }
    }

    void loadTokenizerPicksTekkenJson() {
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        std::error_code ec;
        fs::create_symlink(modelsDir() / "tekken" / "tekken_240911.json", folder / "tekken.json", ec);
        if (ec) fs::copy_file(modelsDir() / "tekken" / "tekken_240911.json", folder / "tekken.json");
        auto tok = loadTokenizer(folder);
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
        QCOMPARE(tok.value()->encode("Hello, world!", false), tok_->encode("Hello, world!", false));
        QCOMPARE(tok.value()->bosId(), 1);
    }

    void encodeSpeed() {
        std::vector<std::string> texts;
        for (const auto& c : corpus_) texts.push_back(c["text"].get<std::string>());
        size_t bytes = 0, ids = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& t : texts) {
            bytes += t.size();
            ids += tok_->encode(t, false).size();
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::string big;
        for (int i = 0; i < 50; ++i)
            for (const auto& t : texts) big += t + " ";
        const auto t1 = std::chrono::steady_clock::now();
        const size_t bigIds = tok_->encode(big, false).size();
        const double s2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        qInfo("encoded %zu strings (%zu bytes, %zu ids) in %.2f ms; one %zu-byte text (%zu ids) in %.1f ms",
              texts.size(), bytes, ids, s * 1e3, big.size(), bigIds, s2 * 1e3);
        QVERIFY(bigIds > 0);
    }

    void tinyFileWithLegacySpecials() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "tekken.json", tinyTekken(3).dump());
        auto tok = TekkenTokenizer::load(path);
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
        const auto& t = *tok.value();
        QCOMPARE(t.encode("abc", false), std::vector<int32_t>{257 + 3});
        QCOMPARE(t.encode("abab", true), (std::vector<int32_t>{1, 256 + 3, 256 + 3}));
        QCOMPARE(t.encode("x ab", false), (std::vector<int32_t>{'x' + 3, ' ' + 3, 256 + 3}));
        QCOMPARE(t.decode(std::vector<int32_t>{1, 260, 2}, false), std::string("<s>abc</s>"));
        QCOMPARE(t.tokenId("<unk>"), std::optional<int32_t>(0));
        QCOMPARE(t.vocabSize(), 261);
    }

    void tinyFileWithSpecialList() {
        auto doc = tinyTekken(5);
        doc["special_tokens"] = {{{"rank", 0}, {"token_str", "<unk>"}, {"is_control", true}},
                                 {{"rank", 1}, {"token_str", "<s>"}, {"is_control", true}},
                                 {{"rank", 2}, {"token_str", "</s>"}, {"is_control", true}},
                                 {{"rank", 3}, {"token_str", "[AUDIO]"}, {"is_control", true}}};
        QTemporaryDir dir;
        auto tok = TekkenTokenizer::load(writeFile(dir, "tekken.json", doc.dump()));
        QVERIFY2(tok.ok(), tok.ok() ? "" : tok.error().message.c_str());
        QCOMPARE(tok.value()->tokenId("[AUDIO]"), std::optional<int32_t>(3));
        QCOMPARE(tok.value()->tokenId("<SPECIAL_4>"), std::optional<int32_t>(4));
        QCOMPARE(tok.value()->encode("[AUDIO]", false).front(), '[' + 5);
    }

    void damagedFilesAreRefused() {
        QTemporaryDir dir;
        const std::string full = tinyTekken(3).dump();
        auto noVocab = tinyTekken(3);
        noVocab.erase("vocab");
        auto otherPattern = tinyTekken(3);
        otherPattern["config"]["pattern"] = "\\w+";
        auto badBytes = tinyTekken(3);
        badBytes["vocab"][257]["token_bytes"] = "***";
        auto tooSmall = tinyTekken(3);
        tooSmall["config"]["default_vocab_size"] = 400;
        const std::pair<std::string, std::string> cases[] = {
            {full.substr(0, full.size() / 2), "not a valid Tekken tokenizer file"},
            {"", "not a valid Tekken tokenizer file"},
            {"[1, 2]", "expected a JSON object"},
            {noVocab.dump(), "no \"vocab\" list"},
            {otherPattern.dump(), "unsupported pre-tokenizer pattern"},
            {badBytes.dump(), "vocab entry 257"},
            {tooSmall.dump(), "fewer than"},
        };
        for (const auto& [text, why] : cases) {
            const auto path = writeFile(dir, "tekken.json", text);
            auto tok = TekkenTokenizer::load(path);
            QVERIFY(!tok.ok());
            QVERIFY2(contains(tok.error().message, path.string()), tok.error().message.c_str());
            QVERIFY2(contains(tok.error().message, why), tok.error().message.c_str());
        }
        auto viaFolder = loadTokenizer(dir.path().toStdString());
        QVERIFY(!viaFolder.ok());
        QVERIFY2(contains(viaFolder.error().message, "tekken.json"), viaFolder.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestTekkenTokenizer)
#include "test_tekken_tokenizer.moc"
