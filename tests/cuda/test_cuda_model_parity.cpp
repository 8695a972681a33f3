// Whole-model parity on the CUDA backend: the fixtures of test_model_parity run through
// TransformerModel on CudaOps, against transformers' logits. Each fixture runs with every unit in
// VRAM, and again with a budget that leaves units in all three tiers (VRAM, pinned RAM through the
// device slots, disk through the staging ring), fed one token per pass after the first half of
// the prompt so that the streamer's prefetch wraps around many times. A mixture of experts keeps
// its experts as parts of their own, in the VRAM expert cache, the RAM one, or on disk.
//
// Tolerance: the products round activations to the weights' 16-bit type (bf16: 2^-9 relative),
// so logits may move by about 2^-9 * sum|x||w| per product; over a few layers of these tiny models
// that stays under 3e-2 of the largest logit. Top-1 must agree at every position except where the
// reference's best two logits are that close.
#include <QtTest>

#include <cmath>

#include "../support/ParityFixture.h"
#include "CudaOps.h"
#include "CudaTestSupport.h"
#include "model/TransformerModel.h"
#include "model/Generator.h"
#include "runtime/ExpertCache.h"

using namespace strata;
using namespace strata::testsupport;

class TestCudaModelParity : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<CudaOps> ops_;

private slots:
    void initTestCase() {
        STRATA_REQUIRE_CUDA_DEVICE(info);
        auto ops = CudaOps::create(uint64_t(1) << 30);
        QVERIFY2(ops.ok(), qPrintable(ops.ok() ? QString() : cudatest::describe(ops.error())));
        ops_ = std::move(ops.value());
    }

    void logits_data() {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<int>("chunk");
        QTest::addColumn<bool>("streamed");
        for (const char* name : kParityFixtures) {
            QTest::newRow((std::string(name) + "/whole").c_str()) << QString(name) << 256 << false;
            QTest::newRow((std::string(name) + "/chunk7").c_str()) << QString(name) << 7 << false;
            QTest::newRow((std::string(name) + "/streamed").c_str()) << QString(name) << 7 << true;
        }
    }

    void logits() {
        QFETCH(QString, fixture);
        QFETCH(int, chunk);
        QFETCH(bool, streamed);
        const ParityReference ref = readParityReference(fixture);
        const std::string path = parityModelPath(fixture).toStdString();
        ModelOptions options;
        options.prefillChunk = chunk;
        options.vramReserve = uint64_t(128) << 20;
        options.vramBudget = uint64_t(1) << 30;
        if (streamed) {
            // One unit's worth of VRAM beyond the two device slots, and of RAM beyond the two
            // staging slots: the other units are copied in from pinned RAM or read from disk.
            auto probe = TransformerModel::load(path, *ops_, options);
            QVERIFY2(probe.ok(), probe.ok() ? "" : probe.error().message.c_str());
            uint64_t largest = 0;
            for (const WeightUnit& u : probe.value()->layout().units) largest = std::max(largest, u.bytes);
            // A mixture of experts: about three experts of each layer in the VRAM expert cache and
            // six in the RAM one, so that routing reaches all three tiers.
            const uint64_t experts = ExpertCache::minimumBytes(probe.value()->layout());
            probe.value().reset();
            options.vramBudget = options.vramReserve + 3 * largest + 2 * experts;
            options.ramBudget = 3 * largest + 5 * experts;
        }
        auto model = TransformerModel::load(path, *ops_, options);
        QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
        const ResidencyPlan& plan = model.value()->streamer().plan();
        if (streamed) {
            QVERIFY(plan.unitsIn(Residency::Vram) > 0);
            QVERIFY(plan.unitsIn(Residency::Ram) + plan.unitsIn(Residency::Disk) > 0);
        } else {
            QCOMPARE(plan.unitsIn(Residency::Vram), int(plan.units.size()));
        }
        // Streamed, the KV cache is paged too: blocks of 4 tokens, two per layer in VRAM, two in
        // pinned RAM and the rest on disk.
        QTemporaryDir kvDir;
        KvCacheOptions kvOptions;
        if (streamed) {
            kvOptions.blockTokens = 4;
            const uint64_t block = KvCache::blockBytes(model.value()->config(), kvOptions.blockTokens);
            kvOptions.residentBytes = block * uint64_t(2 * model.value()->config().numLayers + kvOptions.stagingBlocks);
            kvOptions.hostBytes = 2 * block;
            kvOptions.directory = kvDir.path().toStdString();
        }
        auto kv = KvCache::create(*ops_, model.value()->config(), kvOptions);
        QVERIFY(kv.ok());
        std::vector<float> logits;
        const std::span<const int32_t> ids(ref.inputIds);
        const size_t firstPass = streamed ? ids.size() / 2 : ids.size();
        Status st = model.value()->forward(ids.first(firstPass), *kv.value(), true, logits);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
        std::vector<float> step;
        for (size_t p = firstPass; p < ids.size(); ++p) {
            st = model.value()->forward(ids.subspan(p, 1), *kv.value(), true, step);
            QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
            logits.insert(logits.end(), step.begin(), step.end());
        }
        QCOMPARE(logits.size(), ref.logits.size());
        if (streamed) {
            const StreamerStats stats = model.value()->streamer().stats();
            qInfo("%s streamed: %d VRAM / %d RAM / %d disk units; %llu bytes copied to the device, %llu read",
                  qPrintable(fixture), plan.unitsIn(Residency::Vram), plan.unitsIn(Residency::Ram),
                  plan.unitsIn(Residency::Disk), static_cast<unsigned long long>(stats.bytesToDevice),
                  static_cast<unsigned long long>(stats.bytesRead));
            QVERIFY(stats.bytesToDevice > 0);
            QVERIFY(kv.value()->stats().diskBlocks > 0);
            if (model.value()->config().isMixtureOfExperts()) {
                const ExpertCacheStats e = model.value()->streamer().expertStats();
                qInfo("%s experts: %lld acquired, %lld from VRAM, %lld from RAM, %lld read from disk",
                      qPrintable(fixture), (long long)e.acquired, (long long)e.deviceHits,
                      (long long)(e.hits - e.deviceHits), (long long)e.misses);
                QVERIFY(model.value()->layout().expertsSplit());
                QVERIFY(e.deviceHits > 0 && e.hits > e.deviceHits && e.misses > 0);
                QCOMPARE(e.acquired, e.hits + e.misses);
            }
        }

        const LogitComparison c = compareLogits(logits, ref);
        const size_t positions = ref.inputIds.size();
        qInfo("%s chunk %d on CUDA: max abs logit diff %.3g (relative %.3g); top-1 agrees at %d/%zu",
              qPrintable(fixture), chunk, c.maxAbs, c.maxAbs / c.maxRef, c.agree, positions);
        QVERIFY2(c.maxAbs / c.maxRef < 3e-2, "logits differ from transformers by more than the bf16 tolerance");
        QCOMPARE(size_t(c.agree + c.closeCalls), positions);
    }

    // A reserve too small for the work asked of it: the activations do not fit the pool. The
    // failure is an error naming the VRAM budget and the settings to change.
    void outOfMemoryIsAClearError() {
        const uint64_t budget = uint64_t(16) << 20;
        auto small = CudaOps::create(budget);
        QVERIFY2(small.ok(), qPrintable(small.ok() ? QString() : cudatest::describe(small.error())));
        CudaOps& ops = *small.value();
        ModelOptions options;
        options.vramBudget = budget;
        options.vramReserve = uint64_t(4) << 20;
        options.prefillChunk = 1 << 20;  // one chunk: activations for every token at once
        auto model = TransformerModel::load(parityModelPath(kParityFixtures[0]).toStdString(), ops, options);
        QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
        const ModelConfig& c = model.value()->config();

        const uint64_t kvPerToken = KvCache::bytesFor(c, 1);
        const int64_t tokens = int64_t(ops.pool().freeBytes() * 6 / 10 / kvPerToken);
        const uint64_t activations = deviceReserveBytes(c, tokens, tokens) - KvCache::bytesFor(c, tokens) - (uint64_t(96) << 20);
        auto kv = KvCache::create(ops, c, {});
        QVERIFY(kv.ok());
        QVERIFY2(activations > ops.pool().freeBytes(), "the test needs a prompt whose activations exceed the pool");
        const std::vector<int32_t> prompt(size_t(tokens), 1);
        std::vector<float> logits;
        const Status st = model.value()->forward(prompt, *kv.value(), false, logits);
        QVERIFY(!st.ok());
        qInfo("activations: %s", st.error().message.c_str());
        QVERIFY(st.error().message.find("--vram-budget") != std::string::npos);
        QVERIFY(st.error().message.find("--chunk") != std::string::npos);
        // The failure leaves the backend usable.
        const Status again = model.value()->forward(std::span<const int32_t>(prompt).first(4), *kv.value(), false, logits);
        QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestCudaModelParity)
#include "test_cuda_model_parity.moc"
