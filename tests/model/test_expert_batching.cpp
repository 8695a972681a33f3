// Several sequences decoding together (as `ask` runs its questions) share each expert: their rows
// are grouped by expert, so that a step reads each expert it routes to once, for all of them. The
// streamer's expert counters show it, on the gpt_oss_mxfp4 fixture with its experts split into parts.
#include <QtTest>

#include <algorithm>

#include "../support/ParityFixture.h"
#include "backend/cpu/CpuOps.h"
#include "model/TransformerModel.h"

using namespace strata;
using namespace strata::testsupport;

class TestExpertBatching : public QObject {
    Q_OBJECT
private slots:
    void eightQuestionsShareEachExpert() {
        CpuOps ops;
        ModelOptions options;
        options.ramBudget = uint64_t(64) << 20;  // a budget splits the experts into parts; this one holds them all
        auto loaded = TransformerModel::load(parityModelPath("gpt_oss_mxfp4").toStdString(), ops, options);
        QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().message.c_str());
        TransformerModel& model = *loaded.value();
        QVERIFY(model.layout().expertsSplit());
        const ModelConfig& c = model.config();
        const ParityReference ref = readParityReference("gpt_oss_mxfp4");

        // A document prefilled once; eight questions forked from it.
        auto document = KvCache::create(ops, c, KvCacheOptions{});
        QVERIFY(document.ok());
        std::vector<float> logits;
        const std::vector<int32_t> prefix(ref.inputIds.begin(), ref.inputIds.begin() + 16);
        QVERIFY(model.forward(prefix, *document.value(), false, logits).ok());
        constexpr int kQuestions = 8;
        std::vector<std::unique_ptr<KvCache>> questions;
        std::vector<std::vector<int32_t>> feed;
        for (int q = 0; q < kQuestions; ++q) {
            auto fork = KvCache::fork(*document.value(), KvCacheOptions{});
            QVERIFY(fork.ok());
            questions.push_back(std::move(fork.value()));
            feed.push_back({ref.inputIds[size_t(16 + 3 * q)], ref.inputIds[size_t(17 + 3 * q)]});
        }

        for (int step = 0; step < 5; ++step) {
            std::vector<SequenceStep> steps;
            int64_t rows = 0;
            for (int q = 0; q < kQuestions; ++q) {
                steps.push_back({feed[size_t(q)], questions[size_t(q)].get(), {}});
                rows += int64_t(feed[size_t(q)].size());
            }
            const ExpertCacheStats before = model.streamer().expertStats();
            const ExpertUse used = model.expertUse();
            QVERIFY(model.forward(steps, false, logits).ok());
            const ExpertCacheStats after = model.streamer().expertStats();
            const int64_t acquired = after.acquired - before.acquired;
            const int64_t run = model.expertUse().expertsRun - used.expertsRun;
            const int64_t served = model.expertUse().rowsServed - used.rowsServed;
            qInfo("step %d: %lld rows, %lld (layer, expert) reads for %lld routed rows", step, (long long)rows,
                  (long long)acquired, (long long)served);
            // Every row went to its top-k experts, and each expert a step picked was read once.
            QCOMPARE(served, rows * c.expertsPerToken * c.numLayers);
            QCOMPARE(acquired, run);
            QVERIFY(acquired <= c.numExperts * c.numLayers);
            QVERIFY(acquired < served);  // rows of different questions shared experts
            for (int q = 0; q < kQuestions; ++q) {
                const float* row = logits.data() + size_t(q) * size_t(c.vocabSize);
                feed[size_t(q)] = {int32_t(std::max_element(row, row + c.vocabSize) - row)};
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestExpertBatching)
#include "test_expert_batching.moc"
