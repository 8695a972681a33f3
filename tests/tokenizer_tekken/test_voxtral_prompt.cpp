// Voxtral's prompt ids (MediaPrompt: voxtralChatIds, voxtralTranscriptionIds, mistralFollowUpIds,
// mistralControlIds) against the ids mistral-common 1.13.1 gives, from tests/data/tekken/voxtral_chat.json
// (tests/tools/make_voxtral_chat_fixtures.py). That fixture was made with tekken_240911.json plus
// Voxtral's audio special tokens and audio settings ("added_to_tekken_file"); this test writes the same
// file, in the form of a real Voxtral tekken.json, next to the installed vocabulary and loads it.
#include <QTemporaryDir>
#include <QtTest>

#include <array>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/JsonFixtures.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "../support/TinyMultimodalModels.h"
#include "audio/VoxtralAudioConfig.h"
#include "core/ModelLocations.h"
#include "multimodal/MediaPrompt.h"
#include "tokenizer/TekkenTokenizer.h"

using namespace strata;
namespace fs = std::filesystem;
using strata::testsupport::contains;
using strata::testsupport::idsText;
using strata::testsupport::readJson;
using strata::testsupport::kTekkenLegacyNames;
using strata::testsupport::voxtralTekkenJson;
using strata::testsupport::writeFile;

namespace {

const fs::path kFixture = strata::testsupport::testDataDir() / "tekken" / "voxtral_chat.json";

// Where two id lists first differ, with the ids around it, for failure messages.
std::string difference(const std::vector<int32_t>& got, const std::vector<int32_t>& expected) {
    size_t i = 0;
    while (i < got.size() && i < expected.size() && got[i] == expected[i]) ++i;
    const size_t from = i > 4 ? i - 4 : 0;
    auto tail = [&](const std::vector<int32_t>& v) {
        return from < v.size() ? idsText(std::vector<int32_t>(v.begin() + std::ptrdiff_t(from), v.end()), 16) : std::string();
    };
    return "got " + std::to_string(got.size()) + " ids, expected " + std::to_string(expected.size()) +
           "; first difference at " + std::to_string(i) + "\n  got      from " + std::to_string(from) + ": " +
           tail(got) + "\n  expected from " + std::to_string(from) + ": " + tail(expected);
}

}  // namespace

class TestVoxtralPrompt : public QObject {
    Q_OBJECT

    nlohmann::json fixture_;
    std::unique_ptr<TekkenTokenizer> plain_;  // tekken_240911.json as installed: no audio tokens
    std::unique_ptr<TekkenTokenizer> audio_;  // the same with Voxtral's special_tokens, v7 and audio
    std::string missing_;
    QTemporaryDir dir_;

    const nlohmann::json& testCase(const std::string& name) const {
        for (const auto& c : fixture_["cases"])
            if (c["name"] == name) return c;
        qFatal("voxtral_chat.json has no case %s", name.c_str());
    }

    static std::vector<int32_t> idsOf(const nlohmann::json& c) { return c["ids"].get<std::vector<int32_t>>(); }

private slots:
    void initTestCase() {
        fixture_ = readJson(kFixture);
        QCOMPARE(fixture_["cases"].size(), size_t(5));
        const fs::path file = modelsDir() / "tekken" / "tekken_240911.json";
        if (!fs::exists(file)) {
            missing_ = file.string() + " is not installed; run packaging/install-models.sh (it extracts it from "
                       "the mistral-common 1.13.1 wheel)";
            return;
        }
        auto plain = TekkenTokenizer::load(file);
        QVERIFY2(plain.ok(), plain.ok() ? "" : plain.error().message.c_str());
        plain_ = std::move(plain).value();

        // Voxtral's tekken.json: every special id listed by name, version v7 and the audio settings.
        const auto doc = voxtralTekkenJson(fixture_["added_to_tekken_file"]);
        QVERIFY2(doc, "the installed tekken_240911.json could not be turned into Voxtral's tekken.json");
        QVERIFY(dir_.isValid());
        const fs::path voxtral = writeFile(dir_, "tekken.json", doc->dump());
        auto audio = TekkenTokenizer::load(voxtral);
        QVERIFY2(audio.ok(), audio.ok() ? "" : audio.error().message.c_str());
        audio_ = std::move(audio).value();
    }

    void init() {
        if (audio_) return;
        const char* require = std::getenv("STRATA_REQUIRE_MODELS");
        if (require && std::string(require) == "1") QFAIL(missing_.c_str());
        QSKIP(missing_.c_str());
    }

    void tokenizerMatchesFixture() {
        // The written file gives the fixture's special ids and text ids, and the legacy names for 0..19.
        for (const auto& [name, id] : fixture_["special_ids"].items())
            QCOMPARE(audio_->tokenId(name), std::optional<int32_t>(id.get<int32_t>()));
        for (const auto& [text, ids] : fixture_["text_ids"].items())
            QCOMPARE(audio_->encode(text, false), ids.get<std::vector<int32_t>>());
        for (size_t id = 0; id < kTekkenLegacyNames.size(); ++id) {
            QCOMPARE(plain_->tokenId(kTekkenLegacyNames[id]), std::optional<int32_t>(int32_t(id)));
            QCOMPARE(audio_->tokenId(kTekkenLegacyNames[id]), std::optional<int32_t>(int32_t(id)));
        }
        QCOMPARE(audio_->tokenId("<SPECIAL_26>"), std::optional<int32_t>(26));
        QCOMPARE(audio_->vocabSize(), plain_->vocabSize());
    }

    void controlIds() {
        const auto& s = fixture_["special_ids"];
        auto ids = mistralControlIds(*audio_);
        QVERIFY2(ids.ok(), ids.ok() ? "" : ids.error().message.c_str());
        QCOMPARE(ids->bos, s["<s>"].get<int32_t>());
        QCOMPARE(ids->eos, s["</s>"].get<int32_t>());
        QCOMPARE(ids->inst, s["[INST]"].get<int32_t>());
        QCOMPARE(ids->instEnd, s["[/INST]"].get<int32_t>());
        QCOMPARE(ids->beginAudio, s["[BEGIN_AUDIO]"].get<int32_t>());
        QCOMPARE(ids->audio, s["[AUDIO]"].get<int32_t>());
        QCOMPARE(ids->transcribe, s["[TRANSCRIBE]"].get<int32_t>());

        auto plain = mistralControlIds(*plain_);
        QVERIFY2(plain.ok(), plain.ok() ? "" : plain.error().message.c_str());
        QCOMPARE(plain->bos, 1);
        QCOMPARE(plain->inst, 3);
        QCOMPARE(plain->beginAudio, -1);
        QCOMPARE(plain->audio, -1);
        QCOMPARE(plain->transcribe, -1);
    }

    void chatWithAudioMatchesMistralCommon_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("45 s") << QString("chat_audio_45s");
        QTest::newRow("10 s") << QString("chat_audio_10s");
    }
    void chatWithAudioMatchesMistralCommon() {
        QFETCH(QString, name);
        const auto& c = testCase(name.toStdString());
        const std::vector<int64_t> rows{c["audio_tokens"].get<int64_t>()};
        const std::string text = "What is said in this recording?";
        auto ids = voxtralChatIds(*audio_, VoxtralAudioConfig{}, rows, text);
        QVERIFY2(ids.ok(), ids.ok() ? "" : ids.error().message.c_str());
        const auto expected = idsOf(c);
        QVERIFY2(*ids == expected, difference(*ids, expected).c_str());
        qInfo("%s: %zu ids (%lld audio tokens) equal to mistral-common's", c["name"].get<std::string>().c_str(),
              ids->size(), static_cast<long long>(rows[0]));
    }

    void multiTurnMatchesMistralCommon() {
        // A session goes on with the answer's ids, then the follow-up turn (whose first id is </s>).
        const auto& c = testCase("chat_multi_turn");
        auto first = voxtralChatIds(*audio_, VoxtralAudioConfig{}, {}, "Hello");
        QVERIFY2(first.ok(), first.ok() ? "" : first.error().message.c_str());
        auto followUp = mistralFollowUpIds(*audio_, "Summarise the call.");
        QVERIFY2(followUp.ok(), followUp.ok() ? "" : followUp.error().message.c_str());
        QCOMPARE(followUp->front(), fixture_["special_ids"]["</s>"].get<int32_t>());
        std::vector<int32_t> ids = *first;
        const auto answer = audio_->encode("Hi there.", false);
        ids.insert(ids.end(), answer.begin(), answer.end());
        ids.insert(ids.end(), followUp->begin(), followUp->end());
        const auto expected = idsOf(c);
        QVERIFY2(ids == expected, difference(ids, expected).c_str());

        // Text alone needs no audio tokens: the plain vocabulary gives the same first turn.
        auto plainFirst = voxtralChatIds(*plain_, VoxtralAudioConfig{}, {}, "Hello");
        QVERIFY2(plainFirst.ok(), plainFirst.ok() ? "" : plainFirst.error().message.c_str());
        QCOMPARE(*plainFirst, *first);
        auto plainFollowUp = mistralFollowUpIds(*plain_, "Summarise the call.");
        QVERIFY2(plainFollowUp.ok(), plainFollowUp.ok() ? "" : plainFollowUp.error().message.c_str());
        QCOMPARE(*plainFollowUp, *followUp);
    }

    void transcriptionMatchesMistralCommon_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("language");
        QTest::newRow("en") << QString("transcribe_en_45s") << QString("en");
        QTest::newRow("detected") << QString("transcribe_auto_45s") << QString();
    }
    void transcriptionMatchesMistralCommon() {
        QFETCH(QString, name);
        QFETCH(QString, language);
        const auto& c = testCase(name.toStdString());
        auto ids = voxtralTranscriptionIds(*audio_, VoxtralAudioConfig{}, c["audio_tokens"].get<int64_t>(),
                                           language.toStdString());
        QVERIFY2(ids.ok(), ids.ok() ? "" : ids.error().message.c_str());
        const auto expected = idsOf(c);
        QVERIFY2(*ids == expected, difference(*ids, expected).c_str());
        qInfo("%s: %zu ids equal to mistral-common's", c["name"].get<std::string>().c_str(), ids->size());
    }

    void plainTekkenRefusesAudio() {
        const std::vector<int64_t> rows{375};
        auto chat = voxtralChatIds(*plain_, VoxtralAudioConfig{}, rows, "What is said in this recording?");
        QVERIFY(!chat.ok());
        QVERIFY2(contains(chat.error().message, "[BEGIN_AUDIO]"), chat.error().message.c_str());
        auto transcription = voxtralTranscriptionIds(*plain_, VoxtralAudioConfig{}, 375, "en");
        QVERIFY(!transcription.ok());
        QVERIFY2(contains(transcription.error().message, "[BEGIN_AUDIO]"), transcription.error().message.c_str());
    }

    void otherAudioTokenIdIsRefused() {
        VoxtralAudioConfig config;
        config.audioTokenId = 5;
        const std::vector<int64_t> rows{375};
        auto chat = voxtralChatIds(*audio_, config, rows, "What is said in this recording?");
        QVERIFY(!chat.ok());
        const std::string& why = chat.error().message;
        QVERIFY2(contains(why, "[AUDIO]") && contains(why, "24") && contains(why, "5"), why.c_str());
        auto transcription = voxtralTranscriptionIds(*audio_, config, 375, "");
        QVERIFY(!transcription.ok());
        QCOMPARE(transcription.error().message, why);
        // Without audio the number does not matter.
        QVERIFY(voxtralChatIds(*audio_, config, {}, "Hello").ok());
    }
};

QTEST_GUILESS_MAIN(TestVoxtralPrompt)
#include "test_voxtral_prompt.moc"
