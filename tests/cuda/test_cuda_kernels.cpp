// The CUDA op set against the CPU backend: rope, gated activation, add, scale, soft-cap, embedding
// gather, segmented attention (begin / accumulate / finish, single pass and split-KV) and argmax.
// Inputs are random with fixed seeds; each slot states its tolerance and why.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "CudaDevice.h"
#include "CudaTestSupport.h"
#include "CudaKernels.h"
#include "backend/cpu/CpuKernels.h"
#include "core/DType.h"
#include "sampling/Sampler.h"

using namespace strata;
using namespace strata::cudatest;

namespace {


#define CHECK_STATUS(expr)                                   \
    do {                                                     \
        const Status check_status_ = (expr);                 \
        QVERIFY2(check_status_.ok(), qPrintable(describe(check_status_))); \
    } while (0)

template <typename T>
Status upload(const DeviceBuffer& dst, const std::vector<T>& src) {
    return cudaStatus(cudaMemcpy(dst.get(), src.data(), src.size() * sizeof(T), cudaMemcpyHostToDevice), "upload");
}

// Synchronises first, so that an asynchronous kernel fault is reported here, by name.
template <typename T>
Status download(std::vector<T>& dst, const DeviceBuffer& src) {
    const Status synced = cudaStatus(cudaDeviceSynchronize(), "kernel execution");
    if (!synced.ok()) return synced;
    return cudaStatus(cudaMemcpy(dst.data(), src.get(), dst.size() * sizeof(T), cudaMemcpyDeviceToHost), "download");
}

// max |got - want| / max(|want|, floor): relative for large values, absolute (scaled by floor)
// near zero, where cancellation makes relative error meaningless. Non-finite results fail.
double maxError(const std::vector<float>& got, const std::vector<float>& want, double floor) {
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::isfinite(want[i]) != std::isfinite(got[i])) return INFINITY;
        if (!std::isfinite(want[i])) continue;
        const double diff = std::fabs(double(got[i]) - want[i]);
        worst = std::max(worst, diff / std::max(std::fabs(double(want[i])), floor));
    }
    return worst;
}

std::vector<int32_t> consecutive(int64_t n, int32_t start) {
    std::vector<int32_t> p(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) p[size_t(t)] = start + int32_t(t);
    return p;
}

// How positions [0, capacity) are cut into KV segments: the cache's fixed blocks (16 or 256
// positions, the last one partial) or uneven sizes that leave partial tiles and one-key segments.
enum class Layout { Blocks16, Blocks256, Uneven };

const char* layoutName(Layout layout) {
    switch (layout) {
    case Layout::Blocks16: return "blocks of 16";
    case Layout::Blocks256: return "blocks of 256";
    case Layout::Uneven: return "uneven segments";
    }
    return "?";
}

std::vector<int64_t> segmentSizes(int64_t capacity, Layout layout) {
    static const int64_t uneven[] = {16, 5, 64, 1, 33, 256, 7, 100};
    std::vector<int64_t> sizes;
    for (int64_t done = 0, i = 0; done < capacity; ++i) {
        const int64_t want = layout == Layout::Blocks16 ? 16 : layout == Layout::Blocks256 ? 256 : uneven[i % 8];
        sizes.push_back(std::min(want, capacity - done));
        done += sizes.back();
    }
    return sizes;
}

}  // namespace

class TestCudaKernels : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { STRATA_REQUIRE_CUDA_DEVICE(info); }

    void rope_data() {
        QTest::addColumn<int>("headDim");
        QTest::addColumn<int>("style");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("start");
        for (int hd : {64, 128, 256})
            for (RopeStyle style : {RopeStyle::NeoX, RopeStyle::Interleaved})
                for (auto [n, start] : {std::pair{1, 0}, std::pair{1, 4097}, std::pair{19, 0}, std::pair{33, 100000}}) {
                    const std::string name = "d" + std::to_string(hd) +
                                             (style == RopeStyle::NeoX ? " neox" : " interleaved") + " n" +
                                             std::to_string(n) + " from " + std::to_string(start);
                    QTest::newRow(name.c_str()) << hd << int(style) << n << start;
                }
    }

    // Same fp32 angle, the same double cos/sin rounded to float, and the rotation with explicit
    // roundings: the results match the CPU to the last bit except where the two math libraries'
    // double cos/sin round to different floats (1 ulp). Tolerance 1e-5 relative, absolute below 0.1.
    void rope() {
        QFETCH(int, headDim);
        QFETCH(int, style);
        QFETCH(int, n);
        QFETCH(int, start);
        const int heads = 8;
        std::vector<float> x = randomNormal(size_t(n) * heads * headDim, uint32_t(headDim * 31 + n + style), 1.0f);
        std::vector<float> invFreq(size_t(headDim / 2));
        for (int i = 0; i < headDim / 2; ++i)
            invFreq[size_t(i)] = float(1.0 / std::pow(10000.0, double(2 * i) / double(headDim)));
        const std::vector<int32_t> pos = consecutive(n, start);

        std::vector<float> expected = x;
        cpu::rope(expected.data(), n, heads, headDim, pos.data(), invFreq.data(), RopeStyle(style));

        DeviceBuffer dX(x.size() * 4), dPos(pos.size() * 4), dFreq(invFreq.size() * 4);
        CHECK_STATUS(dX.status());
        CHECK_STATUS(dPos.status());
        CHECK_STATUS(dFreq.status());
        CHECK_STATUS(upload(dX, x));
        CHECK_STATUS(upload(dPos, pos));
        CHECK_STATUS(upload(dFreq, invFreq));
        CHECK_STATUS(cudaRope(dX.floats(), n, heads, headDim, dPos.ints(), dFreq.floats(), RopeStyle(style), nullptr));
        std::vector<float> got(x.size());
        CHECK_STATUS(download(got, dX));
        const double err = maxError(got, expected, 0.1);
        QVERIFY2(err < 1e-5, qPrintable(QString("max error %1 exceeds 1e-5").arg(err)));
    }

    void gatedActivation_data() {
        QTest::addColumn<int>("act");
        QTest::addColumn<int>("count");
        for (Activation act : {Activation::SiLU, Activation::GeluTanh})
            for (int count : {1, 1000, (1 << 20) + 3}) {
                const std::string name =
                    std::string(act == Activation::SiLU ? "silu " : "gelu_tanh ") + std::to_string(count);
                QTest::newRow(name.c_str()) << int(act) << count;
            }
    }

    // expf / tanhf against std::exp / std::tanh: a few ulp. GELU's 1 + tanh cancels for negative
    // inputs, so the error is measured relative to max(|want|, 1): 1e-5.
    void gatedActivation() {
        QFETCH(int, act);
        QFETCH(int, count);
        const std::vector<float> gate = randomNormal(size_t(count), uint32_t(count + act), 4.0f);
        const std::vector<float> up = randomNormal(size_t(count), uint32_t(count * 3 + act), 1.0f);
        std::vector<float> expected(static_cast<size_t>(count));
        for (size_t i = 0; i < expected.size(); ++i)
            expected[i] =
                (Activation(act) == Activation::SiLU ? cpu::silu(gate[i]) : cpu::geluTanh(gate[i])) * up[i];

        DeviceBuffer dGate(gate.size() * 4), dUp(up.size() * 4), dOut(gate.size() * 4);
        CHECK_STATUS(dGate.status());
        CHECK_STATUS(dUp.status());
        CHECK_STATUS(dOut.status());
        CHECK_STATUS(upload(dGate, gate));
        CHECK_STATUS(upload(dUp, up));
        CHECK_STATUS(cudaGatedActivation(dGate.floats(), dUp.floats(), count, Activation(act), dOut.floats(), nullptr));
        std::vector<float> got(static_cast<size_t>(count));
        CHECK_STATUS(download(got, dOut));
        double err = maxError(got, expected, 1.0);
        QVERIFY2(err < 1e-5, qPrintable(QString("max error %1 exceeds 1e-5").arg(err)));

        // In place over the gate, as the model does with its scratch.
        CHECK_STATUS(cudaGatedActivation(dGate.floats(), dUp.floats(), count, Activation(act), dGate.floats(), nullptr));
        CHECK_STATUS(download(got, dGate));
        err = maxError(got, expected, 1.0);
        QVERIFY2(err < 1e-5, qPrintable(QString("in place: max error %1 exceeds 1e-5").arg(err)));
    }

    // One fp32 addition per element, as on the CPU: bit-exact.
    void add() {
        for (int count : {1, 777, (1 << 21) + 5}) {
            std::vector<float> y = randomNormal(size_t(count), uint32_t(count), 1.0f);
            const std::vector<float> x = randomNormal(size_t(count), uint32_t(count + 1), 1.0f);
            std::vector<float> expected = y;
            for (size_t i = 0; i < y.size(); ++i) expected[i] += x[i];
            DeviceBuffer dY(y.size() * 4), dX(x.size() * 4);
            CHECK_STATUS(dY.status());
            CHECK_STATUS(dX.status());
            CHECK_STATUS(upload(dY, y));
            CHECK_STATUS(upload(dX, x));
            CHECK_STATUS(cudaAdd(dY.floats(), dX.floats(), count, nullptr));
            std::vector<float> got(y.size());
            CHECK_STATUS(download(got, dY));
            QVERIFY2(std::memcmp(got.data(), expected.data(), got.size() * 4) == 0,
                     qPrintable(QString("add of %1 elements differs from the CPU").arg(count)));
        }
    }

    // One fp32 multiplication per element: bit-exact.
    void scale() {
        for (int count : {1, 777, (1 << 21) + 5}) {
            const std::vector<float> x = randomNormal(size_t(count), uint32_t(count + 2), 1.0f);
            const float factor = std::sqrt(640.0f);
            std::vector<float> expected = x;
            for (float& v : expected) v *= factor;
            DeviceBuffer dX(x.size() * 4);
            CHECK_STATUS(dX.status());
            CHECK_STATUS(upload(dX, x));
            CHECK_STATUS(cudaScale(dX.floats(), count, factor, nullptr));
            std::vector<float> got(x.size());
            CHECK_STATUS(download(got, dX));
            QVERIFY2(std::memcmp(got.data(), expected.data(), got.size() * 4) == 0,
                     qPrintable(QString("scale of %1 elements differs from the CPU").arg(count)));
        }
    }

    // tanhf against std::tanh, both after the same division: a few ulp; 1e-5 relative.
    void softcap() {
        for (float cap : {30.0f, 50.0f})
            for (int count : {1, 262144 + 7}) {
                const std::vector<float> x = randomNormal(size_t(count), uint32_t(count + int(cap)), 40.0f);
                std::vector<float> expected = x;
                for (float& v : expected) v = cap * std::tanh(v / cap);
                DeviceBuffer dX(x.size() * 4);
                CHECK_STATUS(dX.status());
                CHECK_STATUS(upload(dX, x));
                CHECK_STATUS(cudaSoftcap(dX.floats(), count, cap, nullptr));
                std::vector<float> got(x.size());
                CHECK_STATUS(download(got, dX));
                const double err = maxError(got, expected, 1.0);
                QVERIFY2(err < 1e-5, qPrintable(QString("cap %1: max error %2 exceeds 1e-5").arg(cap).arg(err)));
            }
    }

    void embeddingGather_data() {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("cols");
        QTest::addColumn<float>("scale");
        for (DType t : {DType::F32, DType::BF16, DType::F16})
            for (int cols : {640, 1001})
                for (float scale : {1.0f, std::sqrt(640.0f)}) {
                    const std::string name = std::string(dtypeName(t)) + " cols" + std::to_string(cols) +
                                             (scale == 1.0f ? "" : " scaled");
                    QTest::newRow(name.c_str()) << int(t) << cols << scale;
                }
    }

    // Widening is exact and the scale one multiplication, as TransformerModel::embed: bit-exact.
    // Ids outside the table give rows of zeros.
    void embeddingGather() {
        QFETCH(int, type);
        QFETCH(int, cols);
        QFETCH(float, scale);
        const DType t = DType(type);
        const int64_t rows = 300;
        const std::vector<float> values = randomNormal(size_t(rows * cols), uint32_t(cols + type), 1.0f);
        std::vector<uint8_t> table(size_t(rows * cols) * dtypeSize(t));
        std::vector<float> widened(values.size());
        for (size_t i = 0; i < values.size(); ++i) {
            if (t == DType::F32) {
                std::memcpy(table.data() + i * 4, &values[i], 4);
                widened[i] = values[i];
            } else {
                const uint16_t h = t == DType::BF16 ? floatToBf16(values[i]) : floatToF16(values[i]);
                std::memcpy(table.data() + i * 2, &h, 2);
                widened[i] = t == DType::BF16 ? bf16ToFloat(h) : f16ToFloat(h);
            }
        }
        const std::vector<int32_t> ids = {0, 299, 17, 17, -1, 300, 123, std::numeric_limits<int32_t>::max(), 5};
        std::vector<float> expected(ids.size() * size_t(cols), 0.0f);
        for (size_t r = 0; r < ids.size(); ++r)
            if (ids[r] >= 0 && ids[r] < rows)
                for (int c = 0; c < cols; ++c) expected[r * cols + c] = widened[size_t(ids[r]) * cols + c] * scale;

        DeviceBuffer dTable(table.size()), dIds(ids.size() * 4), dOut(expected.size() * 4);
        CHECK_STATUS(dTable.status());
        CHECK_STATUS(dIds.status());
        CHECK_STATUS(dOut.status());
        CHECK_STATUS(upload(dTable, table));
        CHECK_STATUS(upload(dIds, ids));
        // Poison the output: the zero rows must be written, not left over.
        CHECK_STATUS(cudaStatus(cudaMemset(dOut.get(), 0x7f, expected.size() * 4), "memset"));
        CHECK_STATUS(cudaEmbeddingGather(dTable.get(), t, rows, cols, dIds.ints(), int64_t(ids.size()), scale,
                                         dOut.floats(), nullptr));
        std::vector<float> got(expected.size());
        CHECK_STATUS(download(got, dOut));
        QVERIFY2(std::memcmp(got.data(), expected.data(), got.size() * 4) == 0, "gathered rows differ");
    }

    void attention_data() {
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kvHeads");
        QTest::addColumn<int>("headDim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("start");
        QTest::addColumn<int>("window");
        QTest::addColumn<float>("softcap");
        QTest::addColumn<int>("layout");
        auto row = [](int h, int kvh, int hd, int n, int start, int window, float cap, Layout layout) {
            const std::string name = std::to_string(h) + "x" + std::to_string(kvh) + " d" + std::to_string(hd) +
                                     " n" + std::to_string(n) + " from " + std::to_string(start) +
                                     (window ? " window " + std::to_string(window) : std::string()) +
                                     (cap > 0 ? " softcap" : "") + " " + layoutName(layout);
            QTest::newRow(name.c_str()) << h << kvh << hd << n << start << window << cap << int(layout);
        };
        for (int hd : {64, 128, 256})
            for (auto [n, start] : {std::pair{1, 0}, std::pair{1, 1000}, std::pair{37, 0}, std::pair{37, 100}})
                for (auto [window, cap] : {std::pair{0, 0.0f}, std::pair{16, 0.0f}, std::pair{0, 5.0f},
                                           std::pair{300, 5.0f}})
                    row(8, 2, hd, n, start, window, cap,
                        (n + window + hd / 64) % 2 ? Layout::Blocks16 : Layout::Uneven);
        row(4, 1, 256, 5, 511, 512, 0.0f, Layout::Blocks256);  // Gemma 3 270M's shape
        row(8, 8, 128, 9, 20, 0, 0.0f, Layout::Uneven);        // no grouping
        row(16, 1, 256, 3, 40, 0, 0.0f, Layout::Blocks16);     // wide MQA: needs the opt-in shared memory
        row(32, 8, 128, 130, 3000, 0, 0.0f, Layout::Blocks256); // Llama 3 8B's shape, a long prefill chunk
        row(8, 2, 80, 7, 65, 0, 0.0f, Layout::Uneven);         // a head size that is no multiple of 32
    }

    // Same algorithm as the CPU (online softmax over tiles, accurate expf/tanhf) but other tile
    // sizes and summation orders, and FMAs: agreement to ~1e-6; the bound is 1e-4 relative,
    // absolute below 0.1 (outputs are averages of N(0,1) values and can cancel to near zero).
    // Every case runs in one pass per query and as the host function chooses (split-KV where the
    // device would otherwise idle), each with all segments in one call and in two.
    void attention() {
        QFETCH(int, heads);
        QFETCH(int, kvHeads);
        QFETCH(int, headDim);
        QFETCH(int, n);
        QFETCH(int, start);
        QFETCH(int, window);
        QFETCH(float, softcap);
        QFETCH(int, layout);
        AttentionShape shape;
        shape.numHeads = heads;
        shape.numKvHeads = kvHeads;
        shape.headDim = headDim;
        shape.scale = 1.0f / std::sqrt(float(headDim));
        shape.softcap = softcap;
        shape.window = window;
        const std::vector<int32_t> pos = consecutive(n, start);
        checkAttention(shape, pos, start + n + 13, Layout(layout), {1, 0},
                       uint32_t(heads * 7 + headDim + n * 3 + start + window));
    }

    void attentionSplitKv_data() {
        QTest::addColumn<int>("headDim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("window");
        QTest::addColumn<float>("softcap");
        QTest::addColumn<int>("layout");
        for (int hd : {64, 128, 256})
            for (auto [window, cap] : {std::pair{0, 0.0f}, std::pair{1024, 0.0f}, std::pair{0, 5.0f}})
                for (int n : {1, 4}) {
                    const Layout layout = n == 1 ? Layout::Blocks256 : Layout::Uneven;
                    const std::string name = "d" + std::to_string(hd) + " n" + std::to_string(n) +
                                             (window ? " window " + std::to_string(window) : std::string()) +
                                             (cap > 0 ? " softcap" : "") + " " + layoutName(layout);
                    QTest::newRow(name.c_str()) << hd << n << window << cap << int(layout);
                }
    }

    // Decode against a long cache (queries at 5000 and up), with split counts from one key per
    // split up to more splits than keys (empty splits must weigh nothing), merged into a state that
    // is empty (first call) or not (second call). Same tolerance as above.
    void attentionSplitKv() {
        QFETCH(int, headDim);
        QFETCH(int, n);
        QFETCH(int, window);
        QFETCH(float, softcap);
        QFETCH(int, layout);
        AttentionShape shape;
        shape.numHeads = 8;
        shape.numKvHeads = 2;
        shape.headDim = headDim;
        shape.scale = 1.0f / std::sqrt(float(headDim));
        shape.softcap = softcap;
        shape.window = window;
        const std::vector<int32_t> pos = consecutive(n, 5000);
        checkAttention(shape, pos, 6000, Layout(layout), {1, 2, 7, 64, 1024, 0}, uint32_t(headDim + n * 5 + window));
    }

    // Queries inside a span attended both ways (a Gemma 3 image at rows 40..295 of a 300-token
    // prefill) see the span's later keys too, with and without a sliding window.
    void attentionLastKeys() {
        const std::vector<int32_t> pos = consecutive(300, 0);
        std::vector<int32_t> last(pos);
        for (size_t t = 40; t < 296; ++t) last[t] = 295;
        for (int64_t window : {int64_t(0), int64_t(64)}) {
            AttentionShape shape{8, 2, 64, 0.125f, 0.0f, window};
            shape.lastKey = last.data();
            checkAttention(shape, pos, 320, Layout::Uneven, {1, 2, 7, 0}, uint32_t(91 + window));
        }
    }

    // Queries that see no key of a call leave their state as it was (max -inf, sum 0 merge as a
    // no-op), and a query that sees none of any call finishes as exact zeros, on both paths.
    void attentionNoKeys() {
        const AttentionShape shape{8, 2, 64, 0.125f, 0.0f, 4};
        const int64_t n = 4, hd = 64, kvFloats = 2 * 64, rows = n * 8;
        // Keys at 0..31 in the first call and 32..47 in the second. Query 2 sees keys of the first
        // only, 40 of the second only, 100 and -3 none at all.
        const std::vector<int32_t> pos = {2, 40, 100, -3};
        const std::vector<float> q = randomNormal(size_t(rows * hd), 3, 1.0f);
        const std::vector<float> k = randomNormal(size_t(48 * kvFloats), 4, 1.0f);
        const std::vector<float> v = randomNormal(k.size(), 5, 1.0f);
        const std::vector<KvSegment> hostFirst = {{k.data(), v.data(), 0, 16},
                                                  {k.data() + 16 * kvFloats, v.data() + 16 * kvFloats, 16, 16}};
        const std::vector<KvSegment> hostSecond = {{k.data() + 32 * kvFloats, v.data() + 32 * kvFloats, 32, 16}};
        std::vector<float> acc(static_cast<size_t>(rows * hd)), expected(acc.size());
        std::vector<float> mx(static_cast<size_t>(rows)), sum(static_cast<size_t>(rows));
        const AttentionState cpuState{acc.data(), mx.data(), sum.data()};
        cpu::attentionBegin(cpuState, rows, hd);
        cpu::attentionAccumulate(q.data(), n, pos.data(), hostFirst, shape, cpuState);
        cpu::attentionAccumulate(q.data(), n, pos.data(), hostSecond, shape, cpuState);
        cpu::attentionFinish(cpuState, rows, hd, expected.data());

        DeviceBuffer dQ(q.size() * 4), dK(k.size() * 4), dV(v.size() * 4), dAcc(acc.size() * 4), dMax(mx.size() * 4),
            dSum(sum.size() * 4), dOut(q.size() * 4);
        for (const DeviceBuffer* b : {&dQ, &dK, &dV, &dAcc, &dMax, &dSum, &dOut}) CHECK_STATUS(b->status());
        CHECK_STATUS(upload(dQ, q));
        CHECK_STATUS(upload(dK, k));
        CHECK_STATUS(upload(dV, v));
        const std::vector<KvSegment> first = {{dK.floats(), dV.floats(), 0, 16},
                                              {dK.floats() + 16 * kvFloats, dV.floats() + 16 * kvFloats, 16, 16}};
        const std::vector<KvSegment> second = {{dK.floats() + 32 * kvFloats, dV.floats() + 32 * kvFloats, 32, 16}};
        const AttentionState state{dAcc.floats(), dMax.floats(), dSum.floats()};
        const size_t headRow = size_t(8 * hd);
        for (int64_t splits : {1, 4}) {
            CHECK_STATUS(cudaAttentionBegin(state, rows, hd, nullptr));
            CHECK_STATUS(
                cudaAttentionAccumulateSplitKv(dQ.floats(), n, pos.data(), first, shape, splits, state, nullptr));
            // After the first call query 40 has seen nothing: its state must still be the empty one.
            std::vector<float> gotMax(mx.size()), gotSum(sum.size());
            CHECK_STATUS(download(gotMax, dMax));
            CHECK_STATUS(download(gotSum, dSum));
            for (size_t r = 8; r < size_t(rows); ++r) {
                QVERIFY2(gotMax[r] == -std::numeric_limits<float>::infinity() && gotSum[r] == 0.0f,
                         qPrintable(QString("splits %1: row %2 changed without a key").arg(splits).arg(r)));
            }
            CHECK_STATUS(
                cudaAttentionAccumulateSplitKv(dQ.floats(), n, pos.data(), second, shape, splits, state, nullptr));
            CHECK_STATUS(cudaStatus(cudaMemset(dOut.get(), 0x7f, q.size() * 4), "memset"));
            CHECK_STATUS(cudaAttentionFinish(state, rows, hd, dOut.floats(), nullptr));
            std::vector<float> got(q.size());
            CHECK_STATUS(download(got, dOut));
            for (size_t i = 2 * headRow; i < got.size(); ++i)
                QVERIFY2(got[i] == 0.0f, qPrintable(QString("splits %1: output %2 is not zero").arg(splits).arg(i)));
            const double err = maxError(got, expected, 0.1);
            QVERIFY2(err < 1e-4, qPrintable(QString("splits %1: max error %2 exceeds 1e-4").arg(splits).arg(err)));
        }
    }

    void argmax_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        for (int cols : {1, 1000, 151936, 262144})
            for (int rows : {1, 3}) {
                const std::string name = std::to_string(rows) + "x" + std::to_string(cols);
                QTest::newRow(name.c_str()) << rows << cols;
            }
    }

    // Exact: the same index as greedyToken. Rows get planted ties (the lower index must win), NaNs
    // (never chosen) and, in the last row of a multi-row case, nothing above -inf (index 0).
    void argmax() {
        QFETCH(int, rows);
        QFETCH(int, cols);
        std::vector<float> logits = randomNormal(size_t(rows) * cols, uint32_t(rows * 131 + cols), 3.0f);
        std::mt19937 rng{uint32_t(cols)};
        for (int r = 0; r < rows; ++r) {
            float* row = logits.data() + size_t(r) * cols;
            if (cols > 1) {
                std::uniform_int_distribution<int> pick(0, cols - 1);
                const int a = pick(rng), b = pick(rng);
                row[a] = row[b] = 100.0f + float(r);
                row[pick(rng)] = std::numeric_limits<float>::quiet_NaN();
                row[0] = std::numeric_limits<float>::quiet_NaN();
            }
            if (rows > 1 && r == rows - 1)
                for (int c = 0; c < cols; ++c)
                    row[c] = c % 2 ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
        }
        std::vector<int32_t> expected(static_cast<size_t>(rows));
        for (int r = 0; r < rows; ++r)
            expected[size_t(r)] = greedyToken(std::span<const float>(logits.data() + size_t(r) * cols, size_t(cols)));

        DeviceBuffer dLogits(logits.size() * 4), dOut(size_t(rows) * 4);
        CHECK_STATUS(dLogits.status());
        CHECK_STATUS(dOut.status());
        CHECK_STATUS(upload(dLogits, logits));
        CHECK_STATUS(cudaArgmax(dLogits.floats(), rows, cols, dOut.ints(), nullptr));
        std::vector<int32_t> got(static_cast<size_t>(rows));
        CHECK_STATUS(download(got, dOut));
        for (int r = 0; r < rows; ++r) QCOMPARE(got[size_t(r)], expected[size_t(r)]);
    }

    void rejectsBadArguments() {
        float f = 0;
        int32_t i = 0;
        auto bad = [](const Status& s) { return !s.ok() && s.error().kind == ErrorKind::BadInput; };
        QVERIFY(bad(cudaRope(&f, 1, 8, 63, &i, &f, RopeStyle::NeoX, nullptr)));
        QVERIFY(bad(cudaRope(nullptr, 1, 8, 64, &i, &f, RopeStyle::NeoX, nullptr)));
        QVERIFY(cudaRope(nullptr, 0, 8, 64, nullptr, nullptr, RopeStyle::NeoX, nullptr).ok());
        QVERIFY(bad(cudaGatedActivation(&f, &f, -1, Activation::SiLU, &f, nullptr)));
        QVERIFY(bad(cudaAdd(nullptr, &f, 4, nullptr)));
        QVERIFY(bad(cudaScale(&f, -2, 1.0f, nullptr)));
        QVERIFY(bad(cudaSoftcap(&f, 4, 0.0f, nullptr)));
        QVERIFY(bad(cudaEmbeddingGather(&f, DType::F32, 0, 64, &i, 1, 1.0f, &f, nullptr)));
        QVERIFY(bad(cudaEmbeddingGather(&f, DType::F32, 10, 64, nullptr, 1, 1.0f, &f, nullptr)));
        // Every call below must fail validation before it launches anything on these host pointers.
        AttentionShape shape{8, 3, 64, 1.0f, 0.0f, 0};
        const KvSegment seg{&f, &f, 0, 16};
        const std::span<const KvSegment> segs(&seg, 1);
        const AttentionState st{&f, &f, &f};
        QVERIFY(bad(cudaAttentionAccumulate(&f, 1, &i, segs, shape, st, nullptr)));  // 8 heads over 3 KV heads
        shape.numKvHeads = 2;
        shape.headDim = 512;
        QVERIFY(bad(cudaAttentionAccumulate(&f, 1, &i, segs, shape, st, nullptr)));
        shape.headDim = 64;
        shape.softcap = -1.0f;
        QVERIFY(bad(cudaAttentionAccumulate(&f, 1, &i, segs, shape, st, nullptr)));
        shape.softcap = 0.0f;
        shape.window = -1;
        QVERIFY(bad(cudaAttentionAccumulate(&f, 1, &i, segs, shape, st, nullptr)));
        shape.window = 0;
        QVERIFY(bad(cudaAttentionAccumulateSplitKv(&f, 1, &i, segs, shape, 0, st, nullptr)));
        QVERIFY(bad(cudaAttentionAccumulateSplitKv(&f, 1, &i, segs, shape, 5000, st, nullptr)));
        for (const KvSegment& s : {KvSegment{&f, &f, 0, -1}, KvSegment{nullptr, &f, 0, 4}, KvSegment{&f, nullptr, 0, 4},
                                   KvSegment{&f, &f, -16, 16}}) {
            const KvSegment two[] = {seg, s};
            QVERIFY(bad(cudaAttentionAccumulate(&f, 1, &i, two, shape, st, nullptr)));
        }
        QVERIFY(bad(cudaAttentionAccumulate(&f, 1, &i, segs, shape, AttentionState{&f, nullptr, &f}, nullptr)));
        QVERIFY(bad(cudaAttentionAccumulate(&f, 1, nullptr, segs, shape, st, nullptr)));
        QVERIFY(cudaAttentionAccumulate(nullptr, 0, nullptr, {}, shape, AttentionState{}, nullptr).ok());
        QVERIFY(bad(cudaAttentionBegin(AttentionState{}, 4, 64, nullptr)));
        QVERIFY(bad(cudaAttentionBegin(st, -1, 64, nullptr)));
        QVERIFY(bad(cudaAttentionBegin(st, 4, 0, nullptr)));
        QVERIFY(cudaAttentionBegin(AttentionState{}, 0, 64, nullptr).ok());
        QVERIFY(bad(cudaAttentionFinish(st, 4, 64, nullptr, nullptr)));
        QVERIFY(bad(cudaAttentionFinish(AttentionState{&f, &f, nullptr}, 4, 64, &f, nullptr)));
        QVERIFY(bad(cudaArgmax(&f, 1, 0, &i, nullptr)));
        QVERIFY(bad(cudaArgmax(nullptr, 1, 10, &i, nullptr)));
    }

private:
    // Runs the attention case on the CPU (three steps, the segments split between two accumulate
    // calls) and on the device with each split count (0: the host function's own choice), with the
    // segments in one call and in two, and compares. Positions [0, capacity) are cut into segments
    // as `layout` says; each segment sits in its own slot of a padded pool, in reverse order, so
    // the device must follow every descriptor. Keys no query may see (outside the causal window)
    // and the slots' padding hold NaN, so any stray read poisons the output.
    void checkAttention(const AttentionShape& shape, const std::vector<int32_t>& pos, int64_t capacity, Layout layout,
                        const std::vector<int64_t>& splitCounts, uint32_t seed) {
        const int64_t n = int64_t(pos.size());
        const int64_t rows = n * shape.numHeads, hd = shape.headDim;
        const int64_t qFloats = shape.numHeads * hd, kvFloats = shape.numKvHeads * hd;
        // Query spread 2 gives scores of spread ~2: softmax neither flat nor one-hot, and the soft-cap of 5 bites.
        const std::vector<float> q = randomNormal(size_t(n * qFloats), seed, 2.0f);
        std::vector<float> k = randomNormal(size_t(capacity * kvFloats), seed + 1, 1.0f);
        std::vector<float> v = randomNormal(size_t(capacity * kvFloats), seed + 2, 1.0f);
        const int64_t lowest = *std::min_element(pos.begin(), pos.end());
        int64_t highest = *std::max_element(pos.begin(), pos.end());
        if (shape.lastKey) highest = std::max<int64_t>(highest, *std::max_element(shape.lastKey, shape.lastKey + n));
        const int64_t firstVisible = shape.window > 0 ? std::max<int64_t>(0, lowest - shape.window + 1) : 0;
        const float nan = std::numeric_limits<float>::quiet_NaN();
        for (int64_t p = 0; p < capacity; ++p)
            if (p < firstVisible || p > highest) {
                std::fill_n(k.begin() + p * kvFloats, kvFloats, nan);
                std::fill_n(v.begin() + p * kvFloats, kvFloats, nan);
            }

        const std::vector<int64_t> sizes = segmentSizes(capacity, layout);
        const int64_t count = int64_t(sizes.size());
        const int64_t slotRows = *std::max_element(sizes.begin(), sizes.end());
        std::vector<float> poolK(size_t(count * slotRows * kvFloats), nan), poolV(poolK.size(), nan);
        std::vector<KvSegment> hostSegments, deviceSegments;
        std::vector<int64_t> slotOffsets;
        int64_t firstPos = 0;
        for (int64_t i = 0; i < count; ++i) {
            const int64_t tokens = sizes[size_t(i)];
            const int64_t offset = (count - 1 - i) * slotRows * kvFloats;
            std::copy_n(k.begin() + firstPos * kvFloats, tokens * kvFloats, poolK.begin() + offset);
            std::copy_n(v.begin() + firstPos * kvFloats, tokens * kvFloats, poolV.begin() + offset);
            hostSegments.push_back({k.data() + firstPos * kvFloats, v.data() + firstPos * kvFloats, firstPos, tokens});
            slotOffsets.push_back(offset);
            firstPos += tokens;
        }
        const size_t half = size_t((count + 1) / 2);  // the second call may get no segment at all

        std::vector<float> acc(static_cast<size_t>(rows * hd)), expected(q.size());
        std::vector<float> mx(static_cast<size_t>(rows)), sum(static_cast<size_t>(rows));
        const AttentionState cpuState{acc.data(), mx.data(), sum.data()};
        const std::span<const KvSegment> all(hostSegments);
        cpu::attentionBegin(cpuState, rows, hd);
        cpu::attentionAccumulate(q.data(), n, pos.data(), all.first(half), shape, cpuState);
        cpu::attentionAccumulate(q.data(), n, pos.data(), all.subspan(half), shape, cpuState);
        cpu::attentionFinish(cpuState, rows, hd, expected.data());

        DeviceBuffer dQ(q.size() * 4), dK(poolK.size() * 4), dV(poolV.size() * 4), dAcc(acc.size() * 4),
            dMax(mx.size() * 4), dSum(sum.size() * 4), dOut(q.size() * 4);
        for (const DeviceBuffer* b : {&dQ, &dK, &dV, &dAcc, &dMax, &dSum, &dOut}) CHECK_STATUS(b->status());
        CHECK_STATUS(upload(dQ, q));
        CHECK_STATUS(upload(dK, poolK));
        CHECK_STATUS(upload(dV, poolV));
        for (int64_t i = 0; i < count; ++i)
            deviceSegments.push_back({dK.floats() + slotOffsets[size_t(i)], dV.floats() + slotOffsets[size_t(i)],
                                      hostSegments[size_t(i)].firstPos, hostSegments[size_t(i)].tokens});
        const std::span<const KvSegment> dAll(deviceSegments);
        const AttentionState state{dAcc.floats(), dMax.floats(), dSum.floats()};
        auto accumulate = [&](std::span<const KvSegment> segments, int64_t splits) {
            return splits == 0 ? cudaAttentionAccumulate(dQ.floats(), n, pos.data(), segments, shape, state, nullptr)
                               : cudaAttentionAccumulateSplitKv(dQ.floats(), n, pos.data(), segments, shape, splits,
                                                                state, nullptr);
        };
        for (int64_t splits : splitCounts)
            for (int calls : {1, 2}) {
                CHECK_STATUS(cudaAttentionBegin(state, rows, hd, nullptr));
                if (calls == 1) {
                    CHECK_STATUS(accumulate(dAll, splits));
                } else {
                    CHECK_STATUS(accumulate(dAll.first(half), splits));
                    CHECK_STATUS(accumulate(dAll.subspan(half), splits));
                }
                // NaN: every output must be written.
                CHECK_STATUS(cudaStatus(cudaMemset(dOut.get(), 0xff, q.size() * 4), "memset"));
                CHECK_STATUS(cudaAttentionFinish(state, rows, hd, dOut.floats(), nullptr));
                std::vector<float> got(q.size());
                CHECK_STATUS(download(got, dOut));
                double err = maxError(got, expected, 0.1);
                QVERIFY2(err < 1e-4,
                         qPrintable(QString("splits %1 (0: automatic), %2 call(s): max error %3 exceeds 1e-4")
                                        .arg(splits)
                                        .arg(calls)
                                        .arg(err)));
                if (splits == 0 && calls == 2) {  // in place over the accumulator, as the model may do
                    CHECK_STATUS(cudaAttentionFinish(state, rows, hd, dAcc.floats(), nullptr));
                    CHECK_STATUS(download(got, dAcc));
                    err = maxError(got, expected, 0.1);
                    QVERIFY2(err < 1e-4, qPrintable(QString("finish in place: max error %1 exceeds 1e-4").arg(err)));
                }
            }
    }
};

QTEST_GUILESS_MAIN(TestCudaKernels)
#include "test_cuda_kernels.moc"
