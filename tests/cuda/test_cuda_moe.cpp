// The mixture-of-experts ops of the CUDA backend through CudaOps, as model code calls them, against
// the CPU backend on the same inputs: gpt-oss's clamped SwiGLU, the gather of routed rows, the
// weighted scatter back onto the residual, attention sinks, and the product of MXFP4 weights held
// in host memory (staged, scales and all) or in the pool. Inputs are random with fixed seeds; each
// slot states its tolerance and why.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "CudaGemm.h"
#include "CudaKernels.h"
#include "CudaOps.h"
#include "CudaTestSupport.h"
#include "backend/cpu/CpuKernels.h"
#include "backend/cpu/CpuOps.h"
#include "core/DType.h"
#include "format/Mxfp4.h"

using namespace strata;
using namespace strata::cudatest;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// max |got - want| / max(|want|, floor); a NaN or infinity must be matched by the same.
double maxError(const std::vector<float>& got, const std::vector<float>& want, double floor) {
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i]) || std::isnan(got[i])) {
            if (std::isnan(want[i]) != std::isnan(got[i])) return INFINITY;
            continue;
        }
        if (std::isinf(want[i]) || std::isinf(got[i])) {
            if (got[i] != want[i]) return INFINITY;
            continue;
        }
        worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / std::max(std::fabs(double(want[i])), floor));
    }
    return worst;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Backend memory holding a copy of a host vector for the duration of a test.
class DeviceVector {
public:
    DeviceVector(Ops& ops, const std::vector<float>& host) : ops_(ops), size_(host.size()) {
        data_ = ops.allocate(size_);
        ops.upload(data_, host.data(), size_);
    }
    ~DeviceVector() { ops_.release(data_); }
    DeviceVector(const DeviceVector&) = delete;
    DeviceVector& operator=(const DeviceVector&) = delete;
    float* get() const { return data_; }
    std::vector<float> read() const {
        std::vector<float> out(size_);
        ops_.download(out.data(), data_, size_);
        return out;
    }

private:
    Ops& ops_;
    size_t size_;
    float* data_;
};

// Bytes copied into the CudaOps pool, where ops take them as device-resident weights (no staging).
class PoolBytes {
public:
    PoolBytes(CudaOps& ops, const void* host, size_t bytes) : ops_(ops) {
        auto p = ops.pool().allocate(std::max<size_t>(bytes, 1), "test weights");
        if (!p.ok()) {
            status_ = p.error();
            return;
        }
        data_ = p.value();
        status_ = cudaStatus(cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice), "copying test weights");
    }
    ~PoolBytes() {
        if (!data_) return;
        (void)ops_.takeError();  // synchronises: nothing queued may still read the block
        (void)ops_.pool().release(data_);
    }
    PoolBytes(const PoolBytes&) = delete;
    PoolBytes& operator=(const PoolBytes&) = delete;
    const Status& status() const { return status_; }
    void* get() const { return data_; }

private:
    CudaOps& ops_;
    void* data_ = nullptr;
    Status status_;
};

// Values as a weight of `type` stores them: the bytes, and the values they widen to.
struct StoredValues {
    std::vector<uint8_t> bytes;
    std::vector<float> values;
};

StoredValues store(const std::vector<float>& v, DType type) {
    StoredValues s;
    s.bytes.resize(v.size() * dtypeSize(type));
    s.values.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        if (type == DType::F32) {
            std::memcpy(s.bytes.data() + 4 * i, &v[i], 4);
            s.values[i] = v[i];
        } else {
            const uint16_t h = type == DType::BF16 ? floatToBf16(v[i]) : floatToF16(v[i]);
            std::memcpy(s.bytes.data() + 2 * i, &h, 2);
            s.values[i] = type == DType::BF16 ? bf16ToFloat(h) : f16ToFloat(h);
        }
    }
    return s;
}

}  // namespace

class TestCudaMoe : public QObject {
    Q_OBJECT
    std::unique_ptr<CudaOps> ops_;
    CpuOps cpu_;

private slots:
    void initTestCase() {
        STRATA_REQUIRE_CUDA_DEVICE(info);
        auto ops = CudaOps::create(uint64_t(1) << 30);
        QVERIFY2(ops.ok(), qPrintable(ops.ok() ? QString() : describe(ops.error())));
        ops_ = std::move(ops.value());
    }

    // The model keeps MXFP4 experts packed for this backend; Q8_0 it still widens when read.
    void multipliesMxfp4Packed() {
        QVERIFY(ops_->multipliesPacked(DType::MXFP4));
        QVERIFY(!ops_->multipliesPacked(DType::Q8_0));
    }

    void clampedSwiGlu_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("width");
        for (auto [n, width] : {std::pair{1, 1}, std::pair{1, 2880}, std::pair{7, 1001}, std::pair{300, 2880}}) {
            const std::string name = std::to_string(n) + "x" + std::to_string(width);
            QTest::newRow(name.c_str()) << n << width;
        }
    }

    // Inputs of spread 6 fall beyond +-7 often, and planted pairs put every one of exactly +-limit,
    // just past it, far past it, the infinities, zeros and NaN in the gate against every one in the
    // up. The clamps are comparisons (exact, NaN passing through as std::min and std::clamp let
    // it); expf against std::exp is a few ulp, then three roundings: 2e-6 relative.
    void clampedSwiGlu() {
        QFETCH(int, n);
        QFETCH(int, width);
        const float alpha = 1.702f, limit = 7.0f;
        std::vector<float> gateUp = randomNormal(size_t(n) * 2 * width, uint32_t(n * 131 + width), 6.0f);
        const float planted[] = {limit, -limit, std::nextafter(limit, 8.0f), std::nextafter(-limit, -8.0f), 100.0f,
                                 -100.0f, 1e30f, -1e30f, kInf, -kInf, kNaN, 0.0f, -0.0f};
        const size_t count = std::size(planted);
        for (size_t g = 0; g < count; ++g)
            for (size_t u = 0; u < count; ++u) {
                const size_t pair = g * count + u;
                if (pair >= size_t(n) * width) break;
                gateUp[2 * pair] = planted[g];
                gateUp[2 * pair + 1] = planted[u];
            }
        std::vector<float> want(size_t(n) * width);
        cpu_.clampedSwiGlu(gateUp.data(), n, width, alpha, limit, want.data());

        DeviceVector in(*ops_, gateUp), out(*ops_, std::vector<float>(want.size(), kNaN));
        ops_->clampedSwiGlu(in.get(), n, width, alpha, limit, out.get());
        const std::vector<float> got = out.read();
        const Status s = ops_->takeError();
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        const double err = maxError(got, want, 1e-30);
        qInfo("max relative error %.3g", err);
        QVERIFY2(err < 2e-6, qPrintable(QString("max relative error %1 exceeds 2e-6").arg(err)));
    }

    // Copies: bit-exact, repeated and out-of-order indices included. No index leaves the output
    // as it was.
    void gatherRows() {
        for (int width : {1, 7, 2880}) {
            const int64_t srcRows = 50;
            const std::vector<float> src = randomNormal(size_t(srcRows * width), uint32_t(width), 1.0f);
            const std::vector<int32_t> rows = {3, 3, 0, 49, 3, 17, 49, 0};
            std::vector<float> want(rows.size() * size_t(width));
            cpu::gatherRows(src.data(), width, rows, want.data());
            DeviceVector dSrc(*ops_, src), dDst(*ops_, std::vector<float>(want.size(), kNaN));
            ops_->gatherRows(dSrc.get(), width, rows, dDst.get());
            std::vector<float> got = dDst.read();
            QVERIFY2(ops_->takeError().ok(), "gatherRows failed");
            QVERIFY2(sameBits(got, want), qPrintable(QString("width %1: gathered rows differ").arg(width)));

            ops_->gatherRows(dSrc.get(), width, {}, dDst.get());
            QVERIFY2(ops_->takeError().ok(), "an empty gather failed");
            QVERIFY(sameBits(dDst.read(), want));
        }
    }

    void addScaledRows_data() {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("entries");
        for (int width : {1, 7, 2880})
            for (int entries : {1, 5, 64, 4096}) {
                const std::string name = "width " + std::to_string(width) + ", " + std::to_string(entries) + " rows";
                QTest::newRow(name.c_str()) << width << entries;
            }
    }

    // Destination rows drawn at random, about four entries each (a token's top-4 experts), so
    // most rows repeat. The device applies each destination's terms in order of i, the product and
    // the sum rounded separately, as the CPU does (its x86-64-v2 build has no fused multiply-add
    // to contract them into): bit-exact.
    void addScaledRows() {
        QFETCH(int, width);
        QFETCH(int, entries);
        const int64_t yRows = entries / 4 + 1;
        std::mt19937 rng(uint32_t(width * 17 + entries));
        std::uniform_int_distribution<int32_t> pick(0, int32_t(yRows - 1));
        std::vector<int32_t> rows(static_cast<size_t>(entries));
        for (int32_t& r : rows) r = pick(rng);
        const std::vector<float> weights = randomNormal(rows.size(), uint32_t(entries + 5), 0.5f);
        const std::vector<float> src = randomNormal(rows.size() * size_t(width), uint32_t(width + entries), 1.0f);
        const std::vector<float> y0 = randomNormal(size_t(yRows * width), uint32_t(width * 3 + entries), 1.0f);
        std::vector<float> want = y0;
        cpu_.addScaledRows(want.data(), width, src.data(), rows, weights);

        DeviceVector dY(*ops_, y0), dSrc(*ops_, src);
        ops_->addScaledRows(dY.get(), width, dSrc.get(), rows, weights);
        const std::vector<float> got = dY.read();
        QVERIFY2(ops_->takeError().ok(), "addScaledRows failed");
        if (!sameBits(got, want)) {
            const double err = maxError(got, want, 1.0);
            QFAIL(qPrintable(QString("differs from the CPU (max error %1): terms out of order or fused?").arg(err)));
        }
    }

    // Exact values whose sum depends on the order: 2^24 + 1 rounds back to 2^24 (ties to even), so
    // in order of i row 0 gets ((2^24 + 1) - 2^24) + 1 = 1, where any other order gives 0 or 2.
    // Row 1's entries interleave with row 0's, and row 2 takes none.
    void addScaledRowsKeepsOrder() {
        const float big = 16777216.0f;
        const int64_t width = 3;
        const std::vector<int32_t> rows = {0, 1, 0, 0, 1, 0};
        const std::vector<float> weights = {1.0f, 0.5f, 1.0f, -1.0f, 2.0f, 0.25f};
        const std::vector<float> terms = {big, 8.0f, 1.0f, big, -1.0f, 4.0f};  // one per entry, every column
        std::vector<float> src;
        for (float t : terms) src.insert(src.end(), size_t(width), t);
        const std::vector<float> y0(size_t(3 * width), 0.0f);
        DeviceVector dY(*ops_, y0), dSrc(*ops_, src);
        ops_->addScaledRows(dY.get(), width, dSrc.get(), rows, weights);
        const std::vector<float> got = dY.read();
        QVERIFY2(ops_->takeError().ok(), "addScaledRows failed");
        for (int64_t c = 0; c < width; ++c) {
            QCOMPARE(got[size_t(c)], 1.0f);
            QCOMPARE(got[size_t(width + c)], 2.0f);  // 0.5 * 8 + 2 * -1
            QCOMPARE(got[size_t(2 * width + c)], 0.0f);
        }
        std::vector<float> want = y0;
        cpu_.addScaledRows(want.data(), width, src.data(), rows, weights);
        QVERIFY(sameBits(got, want));
    }

    void attentionSinks_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("sinkType");
        QTest::addColumn<bool>("inPool");
        QTest::addColumn<bool>("large");
        for (int n : {2, 6})
            for (DType t : {DType::BF16, DType::F32})
                for (bool inPool : {false, true})
                    for (bool large : {false, true}) {
                        const std::string name = "n" + std::to_string(n) + " " + std::string(dtypeName(t)) +
                                                 (inPool ? " in the pool" : " in host memory") +
                                                 (large ? ", sinks above every score" : "");
                        QTest::newRow(name.c_str()) << n << int(t) << inPool << large;
                    }
    }

    // Token 0 sits before every key (it saw none): its rows must come out with max = sink, sum = 1
    // and output zero. "large" sinks (40 and up, scores stay below 10) dominate every row.
    //
    // First the sinks alone, on the CPU's own state copied to the device: max is a comparison
    // (exact); the rescale and the denominator are expf against std::exp and a few roundings, with
    // product and sum kept apart as on the CPU: 1e-6 relative on the state and the output. Then the
    // whole chain on the device (begin, accumulate, sinks, finish) against the CPU's: the
    // accumulation's order differs as in test_cuda_kernels' attention, 1e-4.
    void attentionSinks() {
        QFETCH(int, n);
        QFETCH(int, sinkType);
        QFETCH(bool, inPool);
        QFETCH(bool, large);
        const DType type = DType(sinkType);
        const int64_t heads = 8, kvHeads = 2, hd = 64, keys = 20, firstKey = 10;
        const int64_t rows = n * heads;
        const std::vector<int32_t> positions =
            n == 2 ? std::vector<int32_t>{3, 12} : std::vector<int32_t>{3, 10, 11, 17, 25, 29};
        const std::vector<float> q = randomNormal(size_t(rows * hd), uint32_t(n * 7 + sinkType), 2.0f);
        const std::vector<float> k = randomNormal(size_t(keys * kvHeads * hd), uint32_t(n * 11), 1.0f);
        const std::vector<float> v = randomNormal(size_t(keys * kvHeads * hd), uint32_t(n * 13), 1.0f);
        std::vector<float> sinkValues = randomNormal(size_t(heads), uint32_t(n + sinkType + large), 1.5f);
        if (large)
            for (float& s : sinkValues) s = 40.0f + std::fabs(s);
        const StoredValues sinks = store(sinkValues, type);
        AttentionShape shape;
        shape.numHeads = heads;
        shape.numKvHeads = kvHeads;
        shape.headDim = hd;
        shape.scale = 1.0f / std::sqrt(float(hd));

        // The CPU: the state after the keys, then after the sinks, then the output.
        std::vector<float> acc(static_cast<size_t>(rows * hd)), mx(static_cast<size_t>(rows)),
            sum(static_cast<size_t>(rows));
        const AttentionState cpuState{acc.data(), mx.data(), sum.data()};
        const KvSegment hostSegment{k.data(), v.data(), firstKey, keys};
        cpu::attentionBegin(cpuState, rows, hd);
        cpu::attentionAccumulate(q.data(), n, positions.data(), {&hostSegment, 1}, shape, cpuState);
        const std::vector<float> accBefore = acc, maxBefore = mx, sumBefore = sum;
        const WeightRef hostSinks{sinks.bytes.data(), type, 1, heads};
        cpu_.attentionSinks(cpuState, n, heads, hd, hostSinks);
        std::vector<float> want(acc.size());
        cpu::attentionFinish(cpuState, rows, hd, want.data());
        for (int64_t h = 0; h < heads; ++h) {  // token 0 saw no key
            QCOMPARE(mx[size_t(h)], sinks.values[size_t(h)]);
            QCOMPARE(sum[size_t(h)], 1.0f);
        }

        PoolBytes pooled(*ops_, sinks.bytes.data(), sinks.bytes.size());
        QVERIFY2(pooled.status().ok(), qPrintable(describe(pooled.status())));
        const WeightRef sinkRef = inPool ? WeightRef{pooled.get(), type, 1, heads} : hostSinks;

        DeviceVector dAcc(*ops_, accBefore), dMax(*ops_, maxBefore), dSum(*ops_, sumBefore),
            dOut(*ops_, std::vector<float>(want.size(), kNaN));
        const AttentionState state{dAcc.get(), dMax.get(), dSum.get()};
        ops_->attentionSinks(state, n, heads, hd, sinkRef);
        const std::vector<float> gotMax = dMax.read(), gotSum = dSum.read(), gotAcc = dAcc.read();
        ops_->attentionFinish(state, rows, hd, dOut.get());
        std::vector<float> got = dOut.read();
        Status s = ops_->takeError();
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        QVERIFY2(sameBits(gotMax, mx), "the running max differs from the CPU's");
        double err = std::max({maxError(gotSum, sum, 1e-30), maxError(gotAcc, acc, 1e-30), maxError(got, want, 1e-30)});
        qInfo("sinks on the CPU's state: max relative error %.3g", err);
        QVERIFY2(err < 1e-6, qPrintable(QString("max relative error %1 exceeds 1e-6").arg(err)));
        for (int64_t i = 0; i < heads * hd; ++i)
            QVERIFY2(got[size_t(i)] == 0.0f, "a row that saw no key has a non-zero output");

        // The whole chain on the device.
        DeviceVector dQ(*ops_, q), dK(*ops_, k), dV(*ops_, v);
        const KvSegment deviceSegment{dK.get(), dV.get(), firstKey, keys};
        ops_->attentionBegin(state, rows, hd);
        ops_->attentionAccumulate(dQ.get(), n, positions.data(), {&deviceSegment, 1}, shape, state);
        ops_->attentionSinks(state, n, heads, hd, sinkRef);
        ops_->attentionFinish(state, rows, hd, dOut.get());
        got = dOut.read();
        s = ops_->takeError();
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        err = maxError(got, want, 0.1);
        qInfo("begin, accumulate, sinks, finish: max error %.3g", err);
        QVERIFY2(err < 1e-4, qPrintable(QString("max error %1 exceeds 1e-4").arg(err)));
    }

    void mxfp4Matmul_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<bool>("inPool");
        for (auto [rows, cols] : {std::pair{5760, 2880}, std::pair{37, 224}})
            for (int n : {1, 3, 17, 64})
                for (bool inPool : {false, true}) {
                    const std::string name = "n" + std::to_string(n) + " " + std::to_string(rows) + "x" +
                                             std::to_string(cols) + (inPool ? " in the pool" : " in host memory");
                    QTest::newRow(name.c_str()) << n << rows << cols << inPool;
                }
    }

    // CudaOps::matmul with the packed bytes and the scales in host memory (both staged) or in the
    // pool, against CpuOps. Bounds as test_cuda_gemm's mxfp4MatchesCpu, against the fp32 product:
    // the accumulation's 4 k 2^-24 sum|x||w| up to kMxfp4GemvMaxTokens tokens (fp32 x), plus 2^-9
    // sum|x||w| beyond (x rounded to bf16 for cuBLAS).
    void mxfp4Matmul() {
        QFETCH(int, n);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(bool, inPool);
        std::mt19937 rng(uint32_t(rows + cols * 3 + n * 5));
        std::uniform_int_distribution<int> byte(0, 255), scale(116, 122);
        const int64_t groups = int64_t(rows) * cols / kMxfp4BlockElements;
        std::vector<uint8_t> blocks(size_t(groups) * 16), scales(static_cast<size_t>(groups));
        for (uint8_t& b : blocks) b = uint8_t(byte(rng));
        for (uint8_t& s : scales) s = uint8_t(scale(rng));
        std::vector<float> values(size_t(rows) * cols);
        dequantizeMxfp4Groups(blocks.data(), scales.data(), groups, values.data());
        const std::vector<float> x = randomNormal(size_t(n) * cols, uint32_t(n + rows), 2.0f);

        WeightRef hostW{blocks.data(), DType::MXFP4, rows, cols};
        hostW.scales = scales.data();
        std::vector<float> want(size_t(n) * rows), absSum(want.size());
        cpu_.matmul(x.data(), n, hostW, want.data());
        std::vector<float> absX(x.size()), absW(values.size());
        for (size_t i = 0; i < x.size(); ++i) absX[i] = std::fabs(x[i]);
        for (size_t i = 0; i < values.size(); ++i) absW[i] = std::fabs(values[i]);
        cpu_.matmul(absX.data(), n, WeightRef{absW.data(), DType::F32, rows, cols}, absSum.data());

        PoolBytes pooledBlocks(*ops_, blocks.data(), blocks.size()), pooledScales(*ops_, scales.data(), scales.size());
        QVERIFY2(pooledBlocks.status().ok() && pooledScales.status().ok(), "cannot put the weight in the pool");
        WeightRef w = hostW;
        if (inPool) {
            w.data = pooledBlocks.get();
            w.scales = static_cast<const uint8_t*>(pooledScales.get());
        }
        DeviceVector dX(*ops_, x), dY(*ops_, std::vector<float>(want.size(), kNaN));
        ops_->matmul(dX.get(), n, w, dY.get());
        const std::vector<float> got = dY.read();
        const Status s = ops_->takeError();
        QVERIFY2(s.ok(), qPrintable(describe(s)));

        const double accum = (4.0 * cols + 16.0) / 16777216.0;
        const double bound = accum + (n <= kMxfp4GemvMaxTokens ? 0.0 : 1.0 / 512.0);
        double worst = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            QVERIFY2(std::isfinite(got[i]), qPrintable(QString("y[%1] = %2").arg(i).arg(got[i])));
            const double scaleSum = std::max(double(absSum[i]), 1e-30);
            worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / scaleSum);
        }
        qInfo("max error / sum|x||w|: %.3g (bound %.3g)", worst, bound);
        QVERIFY2(worst <= bound, qPrintable(QString("max error %1 sum|x||w| exceeds %2").arg(worst).arg(bound)));
    }

    void rejectsBadArguments() {
        float f = 0;
        const int32_t negative[] = {0, -1};
        const float weights[] = {1.0f};
        auto bad = [](const Status& s) { return !s.ok() && s.error().kind == ErrorKind::BadInput; };
        // Every call below must fail validation before it launches anything on these host pointers.
        QVERIFY(bad(cudaClampedSwiGlu(&f, -1, 4, 1.702f, 7.0f, &f, nullptr)));
        QVERIFY(bad(cudaClampedSwiGlu(&f, 1, 4, 1.702f, 0.0f, &f, nullptr)));
        QVERIFY(bad(cudaClampedSwiGlu(nullptr, 1, 4, 1.702f, 7.0f, &f, nullptr)));
        QVERIFY(cudaClampedSwiGlu(nullptr, 0, 4, 1.702f, 7.0f, nullptr, nullptr).ok());
        QVERIFY(bad(cudaGatherRows(&f, 4, negative, &f, nullptr)));
        QVERIFY(bad(cudaGatherRows(&f, 0, {negative, 1}, &f, nullptr)));
        QVERIFY(bad(cudaGatherRows(nullptr, 4, {negative, 1}, &f, nullptr)));
        QVERIFY(cudaGatherRows(nullptr, 4, {}, nullptr, nullptr).ok());
        QVERIFY(bad(cudaAddScaledRows(&f, 4, &f, {negative, 1}, {}, nullptr)));
        QVERIFY(bad(cudaAddScaledRows(&f, 4, &f, {negative + 1, 1}, weights, nullptr)));
        QVERIFY(bad(cudaAddScaledRows(nullptr, 4, &f, {negative, 1}, weights, nullptr)));
        const AttentionState st{&f, &f, &f};
        QVERIFY(bad(cudaAttentionSinks(st, 1, 8, 64, nullptr, DType::BF16, nullptr)));
        QVERIFY(bad(cudaAttentionSinks(st, 1, 8, 64, &f, DType::Q8_0, nullptr)));
        QVERIFY(bad(cudaAttentionSinks(st, 1, 0, 64, &f, DType::BF16, nullptr)));
        QVERIFY(bad(cudaAttentionSinks(st, 1, 8, 512, &f, DType::BF16, nullptr)));
        QVERIFY(bad(cudaAttentionSinks(AttentionState{&f, nullptr, &f}, 1, 8, 64, &f, DType::BF16, nullptr)));
        QVERIFY(cudaAttentionSinks(AttentionState{}, 0, 8, 64, nullptr, DType::BF16, nullptr).ok());

        // Through the ops, the first failure is kept for takeError.
        std::vector<uint16_t> sinks(4);
        ops_->attentionSinks(st, 1, 8, 64, WeightRef{sinks.data(), DType::BF16, 1, 4});
        const Status s = ops_->takeError();
        QVERIFY(bad(s));
        QVERIFY2(describe(s).contains("4 sinks for 8 heads"), qPrintable(describe(s)));
        QVERIFY(ops_->takeError().ok());
    }
};

QTEST_GUILESS_MAIN(TestCudaMoe)
#include "test_cuda_moe.moc"
