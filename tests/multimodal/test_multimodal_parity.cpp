// Whole-model parity with transformers for prompts that hold images and audio: tiny random
// Gemma3ForConditionalGeneration (tests/tools/make_gemma3_vision_fixtures.py) with one and with two
// images, and VoxtralForConditionalGeneration (make_voxtral_audio_fixtures.py) with 45 s of audio.
// The encoders' rows go in place of the placeholder tokens; the logits of every prompt position
// and the greedy continuation must match transformers'.
//
// Built twice: on the CPU backend, and (test_cuda_multimodal_parity) with the decoder and the
// encoders on the CUDA backend, skipped where there is no device. The fixtures' weights are fp32,
// which the device multiplies in plain fp32, so one tolerance serves both.
#include <QtTest>

#include "../support/JsonFixtures.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "AudioDocument.h"
#include "backend/cpu/CpuOps.h"
#include "multimodal/MediaEncoders.h"
#include "multimodal/MediaPrompt.h"
#include "model/Generator.h"
#include "session/SessionTurn.h"
#ifdef STRATA_PARITY_ON_CUDA
#include "../cuda/CudaTestSupport.h"
#include "CudaOps.h"
#endif

using namespace strata;
using namespace strata::testsupport;
namespace fs = std::filesystem;

namespace {

const fs::path kGemma = testDataDir() / "models" / "gemma3_vision";
const fs::path kVoxtral = testDataDir() / "models" / "voxtral_audio";

// Logits agree to this much, as max |diff| over every position and vocabulary entry (the
// fixtures' logits lie within -5.6..4.5, mean |logit| about 1).
constexpr float kLogitTolerance = 2e-4f;

struct Case {
    std::vector<int32_t> ids;
    std::vector<int32_t> greedy;
    std::vector<float> logits;
    nlohmann::json json;
};

Case readCase(const fs::path& dir, const std::string& name) {
    Case c;
    c.json = readJson(dir / (name + ".json"));
    c.ids = c.json["input_ids"].get<std::vector<int32_t>>();
    c.greedy = c.json["greedy_ids"].get<std::vector<int32_t>>();
    c.logits = readF32(dir / c.json.value("logits_file", "logits.f32"));
    return c;
}

}  // namespace

class TestMultimodalParity : public QObject {
    Q_OBJECT

    std::unique_ptr<Ops> ops_;

    ModelOptions modelOptions() const {
        ModelOptions options;
#ifdef STRATA_PARITY_ON_CUDA
        options.vramBudget = uint64_t(1) << 30;
        options.vramReserve = uint64_t(256) << 20;
#endif
        return options;
    }

    // Every prompt position's logits, and the greedy continuation through generate().
    void checkModel(const fs::path& dir, const Case& c, const std::vector<EmbeddedSpan>& spans, int64_t chunk,
                    int64_t checkpointTokens) {
        ModelOptions options = modelOptions();
        options.prefillChunk = chunk;
        auto model = TransformerModel::load(dir, *ops_, options);
        QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
        auto& m = *model.value();

        auto kv = KvCache::create(*ops_, m.config(), {});
        QVERIFY(kv.ok());
        std::vector<float> logits;
        const Status ran = m.forward(c.ids, *kv.value(), true, logits, {}, spans);
        QVERIFY2(ran.ok(), ran.ok() ? "" : ran.error().message.c_str());
        QCOMPARE(logits.size(), c.logits.size());
        const float diff = maxAbsDiff(logits, c.logits);
        qInfo("prefill chunk %lld: logits at all %zu positions, max |diff| %.3g", (long long)chunk, c.ids.size(),
              double(diff));
        QVERIFY2(diff < kLogitTolerance, std::to_string(diff).c_str());

        GenerationRequest request;
        request.promptIds = c.ids;
        request.embedded = spans;
        request.maxNewTokens = int64_t(c.greedy.size());
        request.checkpointTokens = checkpointTokens;
        std::vector<int64_t> pieces;
        GenerationCallbacks callbacks;
        callbacks.onCheckpoint = [&](int64_t done) {
            pieces.push_back(done);
            return Status::success();
        };
        auto result = generate(m, nullptr, request, callbacks);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        QVERIFY2(result->outputIds == c.greedy, idsText(result->outputIds).c_str());
        // No prefill piece ends inside an image.
        for (int64_t done : pieces)
            for (const EmbeddedSpan& s : spans)
                if (s.bidirectional) QVERIFY(done <= s.offset || done >= s.offset + s.rows);
    }

private slots:
    void initTestCase() {
#ifdef STRATA_PARITY_ON_CUDA
        STRATA_REQUIRE_CUDA_DEVICE(info);
        auto ops = CudaOps::create(uint64_t(1) << 30);
        QVERIFY2(ops.ok(), ops.ok() ? "" : ops.error().message.c_str());
        ops_ = std::move(ops.value());
#else
        ops_ = std::make_unique<CpuOps>();
#endif
    }

    void gemma3Images_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<qlonglong>("chunk");
        QTest::addColumn<qlonglong>("checkpoint");
        // Chunks of 4 rows: an image (16 rows) is never cut; its chunk grows to hold it whole.
        for (const char* name : {"one_image", "two_images"}) {
            QTest::addRow("%s, whole prompt", name) << QString(name) << 256LL << 0LL;
            QTest::addRow("%s, chunks of 4, pieces of 7", name) << QString(name) << 4LL << 7LL;
        }
    }

    void gemma3Images() {
        QFETCH(QString, name);
        QFETCH(qlonglong, chunk);
        QFETCH(qlonglong, checkpoint);
        const Case c = readCase(kGemma, name.toStdString());
        auto encoders = MediaEncoders::load(kGemma, *ops_);
        QVERIFY2(encoders.ok(), encoders.ok() ? "" : encoders.error().message.c_str());
        QVERIFY(encoders.value()->takesImages());
        QVERIFY(!encoders.value()->takesAudio());
        const int32_t imageToken = encoders.value()->visionConfig().imageTokenId;
        QCOMPARE(imageToken, c.json["image_token_id"].get<int32_t>());

        std::vector<std::vector<float>> images;
        for (const auto& file : c.json["images"]) {
            auto rows = encoders.value()->encodeImage(readF32(kGemma / file.get<std::string>()));
            QVERIFY2(rows.ok(), rows.ok() ? "" : rows.error().message.c_str());
            images.push_back(std::move(rows.value()));
        }
        const int64_t hidden = encoders.value()->visionConfig().textHiddenSize;
        auto spans = placeMedia(c.ids, imageToken, images, hidden, true);
        QVERIFY2(spans.ok(), spans.ok() ? "" : spans.error().message.c_str());
        QCOMPARE(spans->size(), images.size());
        checkModel(kGemma, c, spans.value(), chunk, checkpoint);
    }

    // 45 s of audio read by ingest, two 30-second chunks encoded one by one, 750 rows in place of
    // the [AUDIO] tokens; attention stays causal.
    void voxtralAudio() {
        const Case c = readCase(kVoxtral, "prompt");
        const std::string audioFile = readJson(kVoxtral / "reference.json")["audio"].get<std::string>();
        auto features = readAudioFeatures(testDataDir() / "audio" / audioFile);
        QVERIFY2(features.ok(), features.ok() ? "" : features.error().message.c_str());
        QCOMPARE(features->chunks, 2LL);

        auto encoders = MediaEncoders::load(kVoxtral, *ops_);
        QVERIFY2(encoders.ok(), encoders.ok() ? "" : encoders.error().message.c_str());
        QVERIFY(encoders.value()->takesAudio());
        QVERIFY(!encoders.value()->takesImages());
        QCOMPARE(encoders.value()->tokensPerAudioChunk(), 375LL);
        const int32_t audioToken = encoders.value()->audioConfig().audioTokenId;
        QCOMPARE(audioToken, c.json["audio_token_id"].get<int32_t>());
        auto rows = encoders.value()->encodeAudio(features->logMel, features->chunks);
        QVERIFY2(rows.ok(), rows.ok() ? "" : rows.error().message.c_str());

        const std::vector<std::vector<float>> audio{std::move(rows.value())};
        auto spans = placeMedia(c.ids, audioToken, audio, encoders.value()->audioConfig().textHiddenSize, false);
        QVERIFY2(spans.ok(), spans.ok() ? "" : spans.error().message.c_str());
        QCOMPARE(spans->size(), size_t(1));
        QCOMPARE(spans->front().rows, 750LL);
        checkModel(kVoxtral, c, spans.value(), 256, 100);
    }

    // A session stopped after its first checkpoint piece resumes with the images' rows read back
    // from the session folder, to transformers' greedy answer. The piece of 12 tokens would cut
    // the first image (rows 3..18), so it ends before it, at 3.
    void gemma3SessionPausedInThePromptResumes() {
        const Case c = readCase(kGemma, "two_images");
        auto encoders = MediaEncoders::load(kGemma, *ops_);
        QVERIFY(encoders.ok());
        SavedJob job;
        job.promptIds = c.ids;
        job.maxNewTokens = int64_t(c.greedy.size());
        std::vector<std::vector<float>> images;
        for (const auto& file : c.json["images"]) {
            auto rows = encoders.value()->encodeImage(readF32(kGemma / file.get<std::string>()));
            QVERIFY(rows.ok());
            images.push_back(std::move(rows.value()));
        }
        auto spans = placeMedia(c.ids, encoders.value()->visionConfig().imageTokenId, images, 48, true);
        QVERIFY(spans.ok());
        for (size_t i = 0; i < spans->size(); ++i)
            job.media.push_back({spans->at(i).offset, spans->at(i).rows, true, images[i]});

        auto model = TransformerModel::load(kGemma, *ops_, modelOptions());
        QVERIFY(model.ok());
        auto tokenizer = loadTokenizer(sharedDir() / "tokenizers" / "gemma3");
        QVERIFY2(tokenizer.ok(), tokenizer.ok() ? "" : tokenizer.error().message.c_str());
        QTemporaryDir dir;
        auto store = SessionStore::open(dir.path().toStdString());
        QVERIFY(store.ok());

        SessionTurnRequest turn;
        turn.title = "two images";
        turn.modelPath = kGemma.string();
        turn.userText = "What differs?";
        turn.job = job;
        turn.kv.blockTokens = 16;
        turn.checkpointTokens = 12;
        SessionTurnCallbacks stop;
        std::string id;
        stop.onSessionSaved = [&](const std::string& sessionId, int64_t, int64_t) { id = sessionId; };
        stop.generation.cancelRequested = [] { return true; };
        auto first = runSessionTurn(*store.value(), *model.value(), *tokenizer.value(), turn, stop);
        QVERIFY(!first.ok());
        QCOMPARE(first.error().kind, ErrorKind::Cancelled);
        QVERIFY(fs::exists(store.value()->sessionDir(id) / "media-1.f32"));

        KvCacheOptions kv;
        kv.blockTokens = 16;
        auto resumed = resumeSessionTurn(*store.value(), *model.value(), *tokenizer.value(), id, kv, 12);
        QVERIFY2(resumed.ok(), resumed.ok() ? "" : resumed.error().message.c_str());
        QCOMPARE(resumed->resumedAt, 3LL);
        QVERIFY2(resumed->generation.outputIds == c.greedy, idsText(resumed->generation.outputIds).c_str());
        QVERIFY(!fs::exists(store.value()->sessionDir(id) / "media-0.f32"));  // in the cache now
    }

    void placeholdersMustMatchTheMedia() {
        const std::vector<int32_t> ids{2, 3, 5, 5, 5, 4, 9, 3, 5, 5, 5, 4};
        const std::vector<std::vector<float>> one(1, std::vector<float>(3 * 2));
        auto tooFew = placeMedia(ids, 5, one, 2, true);
        QVERIFY(!tooFew.ok());
        QVERIFY2(contains(tooFew.error().message, "more image or audio placeholders"), tooFew.error().message.c_str());
        const std::vector<std::vector<float>> three(3, std::vector<float>(3 * 2));
        auto tooMany = placeMedia(ids, 5, three, 2, true);
        QVERIFY(!tooMany.ok());
        QVERIFY2(contains(tooMany.error().message, "places for 2 of the 3"), tooMany.error().message.c_str());
        const std::vector<std::vector<float>> wrongRows{std::vector<float>(6), std::vector<float>(4)};
        QVERIFY(!placeMedia(ids, 5, wrongRows, 2, true).ok());
        const std::vector<std::vector<float>> two(2, std::vector<float>(3 * 2));
        auto placed = placeMedia(ids, 5, two, 2, true);
        QVERIFY(placed.ok());
        QCOMPARE(placed->at(1).offset, 8LL);
        QCOMPARE(placed->at(1).rows, 3LL);
    }

    void embeddedSpansAreChecked() {
        auto model = TransformerModel::load(kGemma, *ops_, modelOptions());
        QVERIFY(model.ok());
        auto kv = KvCache::create(*ops_, model.value()->config(), {});
        QVERIFY(kv.ok());
        const std::vector<int32_t> ids{2, 5, 5, 4};
        const std::vector<float> rows(2 * 48);
        std::vector<float> logits;
        const EmbeddedSpan outside{3, 2, rows.data(), true};
        const Status status = model.value()->forward(ids, *kv.value(), false, logits, {}, {&outside, 1});
        QVERIFY(!status.ok());
        QVERIFY2(contains(status.error().message, "do not fit"), status.error().message.c_str());
        QCOMPARE(kv.value()->length(), 0LL);
    }
};

QTEST_GUILESS_MAIN(TestMultimodalParity)
#include "test_multimodal_parity.moc"
