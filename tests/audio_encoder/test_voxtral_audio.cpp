// Voxtral's audio side against transformers: the Whisper-style encoder and the multimodal
// projector of a tiny random-weight VoxtralForConditionalGeneration with real-size chunks
// (tests/tools/make_voxtral_audio_fixtures.py). 45 s of audio go the way the application takes
// them: readAudioFeatures, two chunks of [128 x 3000] encoded one by one and concatenated, then
// projected to 750 audio tokens.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "AudioDocument.h"
#include "audio/VoxtralAudioConfig.h"
#include "audio/VoxtralAudioEncoder.h"
#include "audio/VoxtralProjector.h"
#include "../support/JsonFixtures.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "backend/cpu/CpuOps.h"
#include "format/Checkpoint.h"

using namespace strata;
namespace fs = std::filesystem;
using strata::testsupport::maxAbsDiff;
using strata::testsupport::readF32;
using strata::testsupport::readJson;
using strata::testsupport::writeText;

namespace {

const fs::path kFixture = strata::testsupport::testDataDir() / "models" / "voxtral_audio";
const fs::path kAudio = strata::testsupport::testDataDir() / "audio" / "tones_45s_16k_mono.flac";
constexpr int64_t kChunks = 2;
constexpr size_t kEncoderStride = 7;  // encoder.f32 keeps every 7th value (reference.json)

}  // namespace

class TestVoxtralAudio : public QObject {
    Q_OBJECT
    CpuOps ops_;

private slots:
    void config() {
        auto c = loadVoxtralAudioConfig(kFixture);
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QCOMPARE(c->hiddenSize, 32);
        QCOMPARE(c->intermediateSize, 128);
        QCOMPARE(c->numLayers, 2);
        QCOMPARE(c->numHeads, 2);
        QCOMPARE(c->numMelBins, 128);
        QCOMPARE(c->maxSourcePositions, 1500);
        QCOMPARE(c->chunkFrames(), 3000);
        QCOMPARE(c->framesPerToken(), 4);
        QCOMPARE(c->tokensPerChunk(), 375);
        QCOMPARE(c->textHiddenSize, 48);
    }

    void parity() {
        auto encoder = VoxtralAudioEncoder::load(ops_, kFixture);
        QVERIFY2(encoder.ok(), encoder.ok() ? "" : encoder.error().message.c_str());
        auto projector = VoxtralProjector::load(kFixture);
        QVERIFY2(projector.ok(), projector.ok() ? "" : projector.error().message.c_str());
        const VoxtralAudioConfig& c = (*encoder)->config();

        auto features = readAudioFeatures(kAudio);
        QVERIFY2(features.ok(), features.ok() ? "" : features.error().message.c_str());
        QCOMPARE(features->chunks, kChunks);
        QCOMPARE(features->bins, c.numMelBins);
        QCOMPARE(features->frames, c.chunkFrames());
        const std::vector<float> wantEncoded = readF32(kFixture / "encoder.f32");
        const std::vector<float> wantProjected = readF32(kFixture / "projected.f32");

        // Both chunks in one pass over the weights; each is encoded on its own.
        auto both = (*encoder)->encode(features->chunk(0), kChunks);
        QVERIFY2(both.ok(), both.ok() ? "" : both.error().message.c_str());
        const std::vector<float>& encoded = both.value();
        const size_t perChunk = size_t(c.maxSourcePositions * c.hiddenSize);
        QCOMPARE(encoded.size(), size_t(kChunks) * perChunk);
        auto second = (*encoder)->encode(features->chunk(1));
        QVERIFY2(second.ok(), second.ok() ? "" : second.error().message.c_str());
        QVERIFY(std::equal(second->begin(), second->end(), encoded.begin() + std::ptrdiff_t(perChunk)));
        QCOMPARE(wantEncoded.size(), (encoded.size() + kEncoderStride - 1) / kEncoderStride);
        std::vector<float> strided;
        for (size_t i = 0; i < encoded.size(); i += kEncoderStride) strided.push_back(encoded[i]);
        const float encoderDiff = maxAbsDiff(strided, wantEncoded);
        qDebug("audio encoder max |diff| = %g over %zu of %zu values", double(encoderDiff), strided.size(),
               encoded.size());
        QVERIFY(encoderDiff < 1e-4f);

        auto projected = projector->project(encoded);
        QVERIFY2(projected.ok(), projected.ok() ? "" : projected.error().message.c_str());
        QCOMPARE(int64_t(projected->size()), kChunks * c.tokensPerChunk() * c.textHiddenSize);
        QCOMPARE(projected->size(), wantProjected.size());
        const float projectorDiff = maxAbsDiff(*projected, wantProjected);
        qDebug("projector max |diff| = %g over %zu values", double(projectorDiff), projected->size());
        QVERIFY(projectorDiff < 1e-4f);

        // The whole-model reference covers one forward pass over a prompt holding these tokens.
        QCOMPARE(readF32(kFixture / "logits.f32").size(), size_t(3 + kChunks * c.tokensPerChunk() + 4) * 64);

        // The projector checks what it is given: a partial group of frames is refused.
        auto wrong = projector->project(std::span<const float>(encoded.data(), size_t(c.hiddenSize * 3)));
        QVERIFY(!wrong.ok());
        QCOMPARE(wrong.error().kind, ErrorKind::BadInput);
        QVERIFY(!(*encoder)->encode(nullptr).ok());
    }

    void missingAudioConfig() {
        auto c = parseVoxtralAudioConfig(R"({"model_type": "llama", "hidden_size": 48})", "config.json");
        QVERIFY(!c.ok());
        QCOMPARE(c.error().kind, ErrorKind::BadInput);
        QVERIFY2(c.error().message.find("audio_config") != std::string::npos, c.error().message.c_str());

        auto noHeads = parseVoxtralAudioConfig(
            R"({"audio_config": {"hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2},
                "text_config": {"hidden_size": 48}})",
            "config.json");
        QVERIFY(!noHeads.ok());
        QVERIFY2(noHeads.error().message.find("num_attention_heads") != std::string::npos,
                 noHeads.error().message.c_str());

        // Whisper's names for the same sizes are accepted.
        auto whisperNames = parseVoxtralAudioConfig(
            R"({"audio_config": {"d_model": 32, "encoder_ffn_dim": 128, "encoder_layers": 2,
                "encoder_attention_heads": 2}, "text_config": {"hidden_size": 48}})",
            "config.json");
        QVERIFY2(whisperNames.ok(), whisperNames.ok() ? "" : whisperNames.error().message.c_str());
        QCOMPARE(whisperNames->maxSourcePositions, 1500);
        QCOMPARE(whisperNames->chunkFrames(), 3000);

        auto otherAct = parseVoxtralAudioConfig(
            R"({"audio_config": {"hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2,
                "num_attention_heads": 2}, "text_config": {"hidden_size": 48}, "projector_hidden_act": "relu"})",
            "config.json");
        QVERIFY(!otherAct.ok());
        QVERIFY2(otherAct.error().message.find("projector_hidden_act") != std::string::npos,
                 otherAct.error().message.c_str());

        // A text-only checkpoint has no audio side.
        auto textOnly = VoxtralAudioEncoder::load(ops_, strata::testsupport::testDataDir() / "models" / "llama_tied");
        QVERIFY(!textOnly.ok());
        QCOMPARE(textOnly.error().kind, ErrorKind::BadInput);
    }

    void missingTensor() {
        // A config asking for a third encoder layer names the tensor it cannot find.
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const fs::path dir = tmp.path().toStdString();
        fs::copy_file(kFixture / "model.safetensors", dir / "model.safetensors");
        nlohmann::json config = readJson(kFixture / "config.json");
        QCOMPARE(config["audio_config"]["num_hidden_layers"].get<int>(), 2);
        config["audio_config"]["num_hidden_layers"] = 3;
        writeText(dir / "config.json", config.dump());

        auto encoder = VoxtralAudioEncoder::load(ops_, dir);
        QVERIFY(!encoder.ok());
        QCOMPARE(encoder.error().kind, ErrorKind::BadInput);
        QVERIFY2(encoder.error().message.find("audio_tower.layers.2.self_attn_layer_norm.weight") != std::string::npos,
                 encoder.error().message.c_str());

        // A checkpoint without the projector says so.
        auto c = loadVoxtralAudioConfig(kFixture);
        QVERIFY(c.ok());
        auto textCheckpoint = Checkpoint::open(strata::testsupport::testDataDir() / "models" / "llama_tied");
        QVERIFY(textCheckpoint.ok());
        auto projector = VoxtralProjector::load(**textCheckpoint, *c);
        QVERIFY(!projector.ok());
        QVERIFY2(projector.error().message.find("multi_modal_projector.linear_1.weight") != std::string::npos,
                 projector.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestVoxtralAudio)
#include "test_voxtral_audio.moc"
