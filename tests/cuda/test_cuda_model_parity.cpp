// Whole-model parity on the CUDA backend: the fixtures of test_model_parity run through
// TransformerModel on CudaOps, against transformers' logits and greedy continuations.
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
#include "runtime/Generator.h"

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
        for (const char* name : kParityFixtures) {
            QTest::newRow((std::string(name) + "/whole").c_str()) << QString(name) << 256;
            QTest::newRow((std::string(name) + "/chunk7").c_str()) << QString(name) << 7;
        }
    }

    void logits() {
        QFETCH(QString, fixture);
        QFETCH(int, chunk);
        const ParityReference ref = readParityReference(fixture);
        ModelOptions options;
        options.prefillChunk = chunk;
        auto model = TransformerModel::load(parityModelPath(fixture).toStdString(), *ops_, options);
        QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
        auto kv = KvCache::create(*ops_, model.value()->config(), int64_t(ref.inputIds.size()));
        QVERIFY(kv.ok());
        std::vector<float> logits;
        const Status st = model.value()->forward(ref.inputIds, kv.value(), true, logits);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
        QCOMPARE(logits.size(), ref.logits.size());

        double maxAbs = 0, maxRef = 0;
        int agree = 0, closeCalls = 0;
        const size_t positions = ref.inputIds.size();
        for (size_t p = 0; p < positions; ++p) {
            const float* a = logits.data() + p * size_t(ref.vocab);
            const float* b = ref.logits.data() + p * size_t(ref.vocab);
            for (int64_t v = 0; v < ref.vocab; ++v) {
                maxAbs = std::max(maxAbs, double(std::fabs(a[v] - b[v])));
                maxRef = std::max(maxRef, double(std::fabs(b[v])));
            }
            const int64_t best = std::max_element(b, b + ref.vocab) - b;
            float second = -INFINITY;
            for (int64_t v = 0; v < ref.vocab; ++v)
                if (v != best) second = std::max(second, b[v]);
            const bool same = std::max_element(a, a + ref.vocab) - a == best;
            agree += same;
            closeCalls += !same && b[best] - second < 3e-2 * maxRef;
        }
        qInfo("%s chunk %d on CUDA: max abs logit diff %.3g (relative %.3g); top-1 agrees at %d/%zu",
              qPrintable(fixture), chunk, maxAbs, maxAbs / maxRef, agree, positions);
        QVERIFY2(maxAbs / maxRef < 3e-2, "logits differ from transformers by more than the bf16 tolerance");
        QCOMPARE(size_t(agree + closeCalls), positions);
    }
};

QTEST_GUILESS_MAIN(TestCudaModelParity)
#include "test_cuda_model_parity.moc"
