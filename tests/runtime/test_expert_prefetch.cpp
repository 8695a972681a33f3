// Experts read ahead of their use: the mixture-of-experts block declares the experts its router
// picked (WeightSource::prefetchExperts) and the CPU streamer's expert cache reads the missing ones
// on its reader thread while the earlier ones compute. On the gpt_oss_mxfp4 fixture with its
// experts split into parts: the block's output is the same bit for bit with and without the
// declaration (and as with the experts kept in their layers' units), reads ahead are counted,
// the reader reads no more than the slots it may fill, a read that fails names its expert, and a
// streamer destroyed with reads still declared stops cleanly.
#include <QtTest>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "../support/ParityFixture.h"
#include "../support/RandomValues.h"
#include "../support/SafetensorsWriter.h"
#include "backend/cpu/CpuOps.h"
#include "format/Checkpoint.h"
#include "arch/MixtureOfExperts.h"
#include "arch/ModelConfig.h"
#include "arch/DecoderWeights.h"
#include "runtime/ExpertCache.h"
#include "runtime/ResidencyPlan.h"
#include "runtime/WeightStreamer.h"

using namespace strata;
using namespace strata::testsupport;
using FileTensor = strata::testsupport::TensorSpec;
namespace fs = std::filesystem;

namespace {

// A checkpoint with its layout, the experts split into parts or not; the streamers made from it
// point into both.
struct MoeFixture {
    std::unique_ptr<Checkpoint> checkpoint;
    ModelConfig config;
    WeightLayout layout;
};

std::unique_ptr<MoeFixture> openFixture(const fs::path& dir, bool split) {
    auto f = std::make_unique<MoeFixture>();
    auto checkpoint = Checkpoint::open(dir);
    if (!checkpoint.ok()) qFatal("%s", checkpoint.error().message.c_str());
    f->checkpoint = std::move(checkpoint.value());
    auto config = loadModelConfig(*f->checkpoint);
    if (!config.ok()) qFatal("%s", config.error().message.c_str());
    f->config = std::move(config.value());
    const Status names = resolveTensorNames(f->config, *f->checkpoint);
    if (!names.ok()) qFatal("%s", names.error().message.c_str());
    auto layout = buildWeightLayout(f->config, *f->checkpoint);
    if (!layout.ok()) qFatal("%s", layout.error().message.c_str());
    f->layout = std::move(layout.value());
    if (split) splitExperts(f->layout, f->config.numExperts);
    return f;
}

// Every unit in RAM, and an expert cache of `perLayer` experts per layer (when split).
std::unique_ptr<WeightStreamer> startStreamer(const MoeFixture& f, int perLayer,
                                              HostMemory memory = HostMemory::aligned()) {
    auto plan = planResidency(f.layout, 0);
    if (!plan.ok()) qFatal("%s", plan.error().message.c_str());
    plan.value().expertCacheBytes = uint64_t(perLayer) * ExpertCache::minimumBytes(f.layout);
    auto streamer = std::make_unique<WeightStreamer>(*f.checkpoint, f.layout, plan.value(), std::move(memory));
    const Status started = streamer->start();
    if (!started.ok()) qFatal("%s", started.error().message.c_str());
    return streamer;
}

// A source that passes everything through but the declaration: the streamer as it was before
// experts were read ahead, every miss read on the caller's thread.
class WithoutPrefetch final : public WeightSource {
public:
    explicit WithoutPrefetch(WeightSource& source) : source_(source) {}
    Result<UnitWeights> acquire(int unit) override { return source_.acquire(unit); }
    void release(int unit) override { source_.release(unit); }
    Result<UnitWeights> acquireExpert(int layer, int expert) override { return source_.acquireExpert(layer, expert); }
    void releaseExpert(int layer, int expert) override { source_.releaseExpert(layer, expert); }
    ExpertCacheStats expertStats() const override { return source_.expertStats(); }
    const ResidencyPlan& plan() const override { return source_.plan(); }
    StreamerStats stats() const override { return source_.stats(); }

private:
    WeightSource& source_;
};

// The block's buffers on the CPU backend.
struct Buffers {
    Ops& ops;
    std::vector<float*> held;
    ExpertBuffers b;
    Buffers(Ops& o, const ModelConfig& c, int64_t rows, int64_t pieceRows) : ops(o) {
        for (size_t floats : expertBufferFloats(c, rows, pieceRows)) held.push_back(ops.allocate(floats));
        b = {pieceRows, held[0], held[1], held[2], held[3], held[4]};
    }
    ~Buffers() {
        for (float* p : held) ops.release(p);
    }
};

// Passes of `rows` rows over every layer, as a model's forward runs them, with the experts from
// `source` (or, without one, from the layers' units): the block's output of each pass and layer,
// one after the other.
std::vector<float> runPasses(Ops& ops, const MoeFixture& f, WeightSource& layers, WeightSource* source,
                             const std::vector<int64_t>& passRows) {
    const ModelConfig& c = f.config;
    std::vector<float> out;
    uint32_t seed = 1;
    for (int64_t rows : passRows) {
        Buffers buffers(ops, c, rows, 3);  // pieces of 3 rows, so a prefill pass takes several
        for (int64_t layer = 0; layer < c.numLayers; ++layer) {
            const std::vector<float> normed = randomVector(size_t(rows * c.hiddenSize), seed++);
            std::vector<float> x = randomVector(size_t(rows * c.hiddenSize), seed++);
            auto w = layers.acquire(int(layer));
            if (!w.ok()) qFatal("%s", w.error().message.c_str());
            const Status done = mixtureOfExperts(ops, c, w.value(), normed.data(), rows, x.data(), buffers.b, source,
                                                 int(layer));
            layers.release(int(layer));
            if (!done.ok()) qFatal("%s", done.error().message.c_str());
            out.insert(out.end(), x.begin(), x.end());
        }
    }
    return out;
}

// HostMemory that counts its allocations and, once armed, holds the first one until opened.
struct GatedMemory {
    std::mutex mutex;
    std::condition_variable changed;
    bool armed = false, entered = false, open = false;
    std::atomic<int> allocations{0};

    HostMemory memory() {
        return {[this](uint64_t bytes) -> void* {
                    {
                        std::unique_lock lock(mutex);
                        if (armed) {
                            ++allocations;
                            entered = true;
                            changed.notify_all();
                            changed.wait(lock, [&] { return open; });
                        }
                    }
                    constexpr uint64_t A = UnitExtent::kAlignment;
                    return std::aligned_alloc(A, (bytes + A - 1) / A * A);
                },
                [](void* p) { std::free(p); }};
    }
};

}  // namespace

class TestExpertPrefetch : public QObject {
    Q_OBJECT
private:
    CpuOps ops_{2};

    static fs::path fixtureDir() { return parityModelPath("gpt_oss_mxfp4").toStdString(); }

private slots:
    void sameResultsWithAndWithoutPrefetch_data() {
        QTest::addColumn<int>("perLayer");
        QTest::newRow("1 of 8 experts per layer") << 1;
        QTest::newRow("2 of 8") << 2;
        QTest::newRow("5 of 8") << 5;
        QTest::newRow("all 8") << 8;
    }

    // A prefill pass of 12 rows, then 24 passes of one row (decode), with `perLayer` experts cached per layer.
    void sameResultsWithAndWithoutPrefetch() {
        QFETCH(int, perLayer);
        const auto split = openFixture(fixtureDir(), true);
        const auto whole = openFixture(fixtureDir(), false);
        std::vector<int64_t> passes{12};
        passes.resize(25, 1);

        auto inUnits = startStreamer(*whole, 0);
        const std::vector<float> reference = runPasses(ops_, *whole, *inUnits, nullptr, passes);

        auto ahead = startStreamer(*split, perLayer);
        const std::vector<float> declared = runPasses(ops_, *split, *ahead, ahead.get(), passes);

        auto plain = startStreamer(*split, perLayer);
        WithoutPrefetch undeclared(*plain);
        const std::vector<float> onDemand = runPasses(ops_, *split, *plain, &undeclared, passes);

        QCOMPARE(declared.size(), reference.size());
        QCOMPARE(onDemand.size(), reference.size());
        QVERIFY(std::memcmp(declared.data(), onDemand.data(), declared.size() * sizeof(float)) == 0);
        QVERIFY(std::memcmp(declared.data(), reference.data(), declared.size() * sizeof(float)) == 0);

        const ExpertCacheStats a = ahead->expertStats(), p = plain->expertStats();
        qInfo("%d slots: read ahead: %lld acquired, %lld hits, %lld misses (%lld read ahead), %.4f s waiting; "
              "on demand: %lld hits, %lld misses",
              perLayer, (long long)a.acquired, (long long)a.hits, (long long)a.misses, (long long)a.prefetched,
              a.stallSeconds, (long long)p.hits, (long long)p.misses);
        QCOMPARE(a.acquired, p.acquired);
        QCOMPARE(a.acquired, a.hits + a.misses);
        QCOMPARE(p.acquired, p.hits + p.misses);
        // With one slot a layer's next expert can be read ahead only in the moment between the
        // release of one and the acquire of the next, which the reader may or may not win.
        if (perLayer >= 2) QVERIFY(a.prefetched > 0);
        QVERIFY(a.prefetched <= a.misses);
        QCOMPARE(p.prefetched, int64_t(0));
        QVERIFY(a.stallSeconds >= 0 && a.readSeconds > 0);
        if (perLayer == 8) QVERIFY(a.hits > 0);
    }

    // With 2 slots and 4 experts declared, the reader reads 2 and waits; each release lets it read
    // one more, and every one of them is acquired in the end.
    void readsOnlyWhatFits() {
        const auto f = openFixture(fixtureDir(), true);
        auto streamer = startStreamer(*f, 2);
        const std::vector<int> order{5, 1, 6, 2};
        uint64_t firstTwo = 0, all = 0;  // bytes of the parts (their alignment padding differs)
        for (size_t i = 0; i < order.size(); ++i) {
            const uint64_t bytes = f->layout.experts[0][size_t(order[i])].bytes;
            all += bytes;
            if (i < 2) firstTwo += bytes;
        }
        streamer->prefetchExperts(0, order);
        QTRY_COMPARE_WITH_TIMEOUT(streamer->expertStats().bytesRead, firstTwo, 5000);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QCOMPARE(streamer->expertStats().bytesRead, firstTwo);  // no declared expert was evicted for another
        for (int e : order) {
            auto w = streamer->acquireExpert(0, e);
            QVERIFY2(w.ok(), w.ok() ? "" : w.error().message.c_str());
            streamer->releaseExpert(0, e);
        }
        const ExpertCacheStats s = streamer->expertStats();
        QCOMPARE(s.acquired, int64_t(4));
        QCOMPARE(s.misses, int64_t(4));
        QVERIFY(s.prefetched >= 2);
        QCOMPARE(s.bytesRead, all);
    }

    // Layer 1's down_proj_blocks moved to the end of the file, which is cut short once the streamer
    // has started: expert 7's slice is past the new end, the others are whole.
    void failedReadNamesTheExpert() {
        QTemporaryDir tmp;
        const fs::path src = fixtureDir(), dir = tmp.path().toStdString();
        for (const char* file : {"config.json", "tokenizer.json", "tokenizer_config.json"})
            fs::copy_file(src / file, dir / file);
        std::vector<FileTensor> tensors = readSafetensors(src / "model.safetensors");
        QVERIFY(!tensors.empty());
        const std::string name = "model.layers.1.mlp.experts.down_proj_blocks";
        auto last = std::find_if(tensors.begin(), tensors.end(), [&](const FileTensor& t) { return t.name == name; });
        QVERIFY(last != tensors.end());
        std::rotate(last, last + 1, tensors.end());
        const fs::path file = dir / "model.safetensors";
        QVERIFY(writeSafetensors(file, tensors));

        const auto f = openFixture(dir, true);
        auto streamer = startStreamer(*f, 2);
        fs::resize_file(file, fs::file_size(file) - 100);

        // Read ahead: the error is the expert's acquire's, and the expert before it is unharmed.
        const std::vector<int> order{3, 7};
        streamer->prefetchExperts(1, order);
        auto good = streamer->acquireExpert(1, 3);
        QVERIFY2(good.ok(), good.ok() ? "" : good.error().message.c_str());
        streamer->releaseExpert(1, 3);
        auto bad = streamer->acquireExpert(1, 7);
        QVERIFY(!bad.ok());
        qInfo("%s", bad.error().message.c_str());
        QVERIFY(bad.error().message.find("expert 7 of layer 1") != std::string::npos);
        QVERIFY(bad.error().message.find("ended at byte") != std::string::npos);

        // Read on demand: the same error, and the cache still serves the other experts.
        auto again = streamer->acquireExpert(1, 7);
        QVERIFY(!again.ok());
        QVERIFY(again.error().message.find("expert 7 of layer 1") != std::string::npos);
        auto other = streamer->acquireExpert(1, 0);
        QVERIFY2(other.ok(), other.ok() ? "" : other.error().message.c_str());
        streamer->releaseExpert(1, 0);

        // Declared again in a later pass, it is read again, and fails again, as its own error.
        streamer->prefetchExperts(1, order);
        QVERIFY(streamer->acquireExpert(1, 3).ok());
        streamer->releaseExpert(1, 3);
        QVERIFY(!streamer->acquireExpert(1, 7).ok());
    }

    // Every expert of every layer declared while the reader is held in its first read: the
    // destructor waits for that read only, and drops the 31 others.
    void destroyedWithReadsDeclared() {
        const auto f = openFixture(fixtureDir(), true);
        GatedMemory gate;
        auto streamer = startStreamer(*f, 8, gate.memory());
        {
            std::lock_guard lock(gate.mutex);
            gate.armed = true;
        }
        const std::vector<int> all{0, 1, 2, 3, 4, 5, 6, 7};
        for (int layer = 0; layer < f->config.numLayers; ++layer) streamer->prefetchExperts(layer, all);
        {
            std::unique_lock lock(gate.mutex);
            QVERIFY(gate.changed.wait_for(lock, std::chrono::seconds(5), [&] { return gate.entered; }));
        }
        std::thread opener([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            std::lock_guard lock(gate.mutex);
            gate.open = true;
            gate.changed.notify_all();
        });
        streamer.reset();
        opener.join();
        QCOMPARE(gate.allocations.load(), 1);
    }

    // The same without holding the reader, over and over: whatever the reader is doing when the
    // streamer goes (reading, waiting for a slot, idle), it stops.
    void destroyedWhileReading() {
        const auto f = openFixture(fixtureDir(), true);
        const std::vector<int> some{6, 2, 4, 0, 7};
        for (int round = 0; round < 50; ++round) {
            auto streamer = startStreamer(*f, 1 + round % 4);
            for (int layer = 0; layer < f->config.numLayers; ++layer) streamer->prefetchExperts(layer, some);
            if (round % 2) {
                auto w = streamer->acquireExpert(round % 4, 6);
                QVERIFY(w.ok());
                streamer->releaseExpert(round % 4, 6);
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestExpertPrefetch)
#include "test_expert_prefetch.moc"
