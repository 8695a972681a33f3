// Gemma 3's image side against transformers: the SigLIP tower and the projector of a tiny
// random-weight Gemma3ForConditionalGeneration (tests/tools/make_gemma3_vision_fixtures.py),
// under each tensor naming that checkpoints use.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/JsonFixtures.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "backend/cpu/CpuOps.h"
#include "format/Checkpoint.h"
#include "vision/Gemma3Projector.h"
#include "vision/Gemma3VisionConfig.h"
#include "vision/SiglipVisionEncoder.h"

using namespace strata;
namespace fs = std::filesystem;
using strata::testsupport::maxAbsDiff;
using strata::testsupport::readF32;
using strata::testsupport::readJson;
using strata::testsupport::writeText;

namespace {

const fs::path kFixture = strata::testsupport::testDataDir() / "models" / "gemma3_vision";

}  // namespace

class TestGemma3Vision : public QObject {
    Q_OBJECT
    CpuOps ops_;

private slots:
    void config() {
        auto c = loadGemma3VisionConfig(kFixture);
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QCOMPARE(c->hiddenSize, 32);
        QCOMPARE(c->numLayers, 2);
        QCOMPARE(c->numHeads, 2);
        QCOMPARE(c->numPatches(), 64);
        QCOMPARE(c->mmTokensPerImage, 16);
        QCOMPARE(c->tokensPerSide(), 4);
        QCOMPARE(c->textHiddenSize, 48);
        QCOMPARE(c->pixelCount(), 3 * 32 * 32);
    }

    void parity_data() {
        QTest::addColumn<QString>("folder");
        QTest::newRow("transformers 5: vision_tower.*") << QString();
        QTest::newRow("hub: vision_tower.vision_model.*") << QStringLiteral("hub");
        QTest::newRow("model.vision_tower.vision_model.*") << QStringLiteral("prefixed");
    }

    void parity() {
        QFETCH(QString, folder);
        const fs::path dir = folder.isEmpty() ? kFixture : kFixture / folder.toStdString();
        auto encoder = SiglipVisionEncoder::load(ops_, dir);
        QVERIFY2(encoder.ok(), encoder.ok() ? "" : encoder.error().message.c_str());
        auto projector = Gemma3Projector::load(dir);
        QVERIFY2(projector.ok(), projector.ok() ? "" : projector.error().message.c_str());

        const std::vector<float> pixels = readF32(kFixture / "pixels.f32");
        const std::vector<float> wantEncoded = readF32(kFixture / "encoder.f32");
        const std::vector<float> wantProjected = readF32(kFixture / "projected.f32");
        QCOMPARE(int64_t(pixels.size()), (*encoder)->config().pixelCount());

        auto encoded = (*encoder)->encode(pixels.data());
        QVERIFY2(encoded.ok(), encoded.ok() ? "" : encoded.error().message.c_str());
        QCOMPARE(encoded->size(), wantEncoded.size());
        auto projected = projector->project(*encoded);
        QVERIFY2(projected.ok(), projected.ok() ? "" : projected.error().message.c_str());
        QCOMPARE(projected->size(), wantProjected.size());

        const float encDiff = maxAbsDiff(*encoded, wantEncoded);
        const float projDiff = maxAbsDiff(*projected, wantProjected);
        qDebug("max |diff| vs transformers: encoder %.3g, projected %.3g", double(encDiff), double(projDiff));
        QVERIFY2(encDiff < 1e-4f, "encoder output differs from transformers");
        QVERIFY2(projDiff < 1e-4f, "projected embeddings differ from transformers");

        // The projector checks what it is given.
        auto wrong = projector->project(std::span<const float>(encoded->data(), encoded->size() - 1));
        QVERIFY(!wrong.ok());
        QCOMPARE(wrong.error().kind, ErrorKind::BadInput);
    }

    void streamedFromDisk() {
        // With a RAM budget too small to hold the tower, its layers are read from the checkpoint
        // through RAM slots on each encode, and the output is the same to the bit.
        auto resident = SiglipVisionEncoder::load(ops_, kFixture);
        QVERIFY2(resident.ok(), resident.ok() ? "" : resident.error().message.c_str());
        const std::vector<float> pixels = readF32(kFixture / "pixels.f32");
        auto want = (*resident)->encode(pixels.data());
        QVERIFY2(want.ok(), want.ok() ? "" : want.error().message.c_str());
        const ResidencyPlan& residentPlan = (*resident)->tower().lastPlan();
        QCOMPARE(residentPlan.unitsIn(Residency::Disk), 0);

        auto streamed = SiglipVisionEncoder::load(ops_, kFixture);
        QVERIFY(streamed.ok());
        EncoderTower& tower = (*streamed)->tower();
        uint64_t largest = 0;
        for (const WeightUnit& unit : tower.layout().units) largest = std::max(largest, unit.bytes);
        QCOMPARE(tower.layout().units.size(), size_t(4));  // stem, two layers, final norm
        ResidencyOptions options;
        options.ramBudget = 2 * largest;
        tower.setResidency(options);
        auto got = (*streamed)->encode(pixels.data());
        QVERIFY2(got.ok(), got.ok() ? "" : got.error().message.c_str());
        QVERIFY(tower.lastPlan().unitsIn(Residency::Disk) >= 2);
        QVERIFY(tower.lastStats().bytesRead > 0);
        QCOMPARE(maxAbsDiff(*got, *want), 0.0f);

        // A budget below two slots is refused with the reason, and nothing is encoded.
        options.ramBudget = largest;
        tower.setResidency(options);
        auto refused = (*streamed)->encode(pixels.data());
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.find("too little memory is left to run the encoder") != std::string::npos,
                 refused.error().message.c_str());
    }

    void missingVisionConfig() {
        auto c = parseGemma3VisionConfig(R"({"model_type": "gemma3_text", "hidden_size": 48})", "config.json");
        QVERIFY(!c.ok());
        QCOMPARE(c.error().kind, ErrorKind::BadInput);
        QVERIFY2(c.error().message.find("vision_config") != std::string::npos, c.error().message.c_str());

        auto noPatch = parseGemma3VisionConfig(
            R"({"vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                "num_attention_heads": 2, "image_size": 32}, "text_config": {"hidden_size": 48}})",
            "config.json");
        QVERIFY(!noPatch.ok());
        QVERIFY2(noPatch.error().message.find("patch_size") != std::string::npos, noPatch.error().message.c_str());

        auto notSquare = parseGemma3VisionConfig(
            R"({"vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                "num_attention_heads": 2, "image_size": 32, "patch_size": 4}, "text_config": {"hidden_size": 48},
                "mm_tokens_per_image": 15})",
            "config.json");
        QVERIFY(!notSquare.ok());
        QVERIFY2(notSquare.error().message.find("mm_tokens_per_image") != std::string::npos,
                 notSquare.error().message.c_str());

        // A text-only checkpoint has no image side.
        auto textOnly = SiglipVisionEncoder::load(ops_, strata::testsupport::testDataDir() / "models" / "gemma3_text");
        QVERIFY(!textOnly.ok());
        QCOMPARE(textOnly.error().kind, ErrorKind::BadInput);
    }

    void missingTensor() {
        // A vision config asking for a third layer names the tensor it cannot find.
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const fs::path dir = tmp.path().toStdString();
        fs::copy_file(kFixture / "model.safetensors", dir / "model.safetensors");
        nlohmann::json config = readJson(kFixture / "config.json");
        QCOMPARE(config["vision_config"]["num_hidden_layers"].get<int>(), 2);
        config["vision_config"]["num_hidden_layers"] = 3;
        writeText(dir / "config.json", config.dump());

        auto encoder = SiglipVisionEncoder::load(ops_, dir);
        QVERIFY(!encoder.ok());
        QCOMPARE(encoder.error().kind, ErrorKind::BadInput);
        QVERIFY2(encoder.error().message.find("vision_tower.encoder.layers.2.layer_norm1.weight") != std::string::npos,
                 encoder.error().message.c_str());

        // A config asking for one layer fewer leaves layer 1's tensors unused, which is refused:
        // strict loading does not run part of a checkpoint.
        config["vision_config"]["num_hidden_layers"] = 1;
        writeText(dir / "config.json", config.dump());
        auto shorter = SiglipVisionEncoder::load(ops_, dir);
        QVERIFY(!shorter.ok());
        QVERIFY2(shorter.error().message.find("'vision_tower.encoder.layers.1.") != std::string::npos,
                 shorter.error().message.c_str());

        // A checkpoint without the projector says so.
        auto c = loadGemma3VisionConfig(kFixture);
        QVERIFY(c.ok());
        auto textCheckpoint = Checkpoint::open(strata::testsupport::testDataDir() / "models" / "gemma3_text");
        QVERIFY(textCheckpoint.ok());
        auto projector = Gemma3Projector::load(**textCheckpoint, *c);
        QVERIFY(!projector.ok());
        QVERIFY2(projector.error().message.find("multi_modal_projector.mm_input_projection_weight") != std::string::npos,
                 projector.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestGemma3Vision)
#include "test_gemma3_vision.moc"
