// The device memory pool and the matrix product against the CPU reference, across token counts,
// shapes (multiples of 8 and not), the three plain weight types stored row-major and input-major,
// and MXFP4 (the GEMV and the path through cuBLAS, and its decoding bit for bit).
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "CudaDevice.h"
#include "CudaTestSupport.h"
#include "CudaGemm.h"
#include "DevicePool.h"
#include "backend/Ops.h"
#include "backend/cpu/CpuKernels.h"
#include "core/DType.h"
#include "format/Mxfp4.h"

using namespace strata;
using namespace strata::cudatest;

namespace {


constexpr double kU32 = 1.0 / 16777216.0;  // 2^-24, fp32 unit roundoff

// Unit roundoff of rounding x to the weight's type (what the product's input loses).
double inputRoundoff(DType t) {
    switch (t) {
    case DType::BF16: return 1.0 / 512.0;   // 2^-9
    case DType::F16: return 1.0 / 2048.0;   // 2^-11
    case DType::F32: return 0.0;
    case DType::U8:
    case DType::Q8_0:
    case DType::MXFP4: break;  // packed: mxfp4MatchesCpu says how x is rounded
    }
    return 0.0;
}

float roundTo(DType t, float v) {
    switch (t) {
    case DType::BF16: return bf16ToFloat(floatToBf16(v));
    case DType::F16: return f16ToFloat(floatToF16(v));
    case DType::F32: return v;
    case DType::U8:
    case DType::Q8_0:
    case DType::MXFP4: break;
    }
    return v;
}

Status upload(void* dst, const void* src, size_t bytes) {
    return cudaStatus(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the device");
}
Status download(void* dst, const void* src, size_t bytes) {
    return cudaStatus(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy from the device");
}

// The CPU references a device product is checked against. `values` are the stored weight's values
// widened, in [rows, cols] order whatever the storage order.
struct Reference {
    std::vector<float> want;         // the fp32 product
    std::vector<float> wantRounded;  // the product of x rounded as the device rounds it (xRounding)
    std::vector<float> absSum;       // sum_k |x_k| |w_k| per output: the scale of every bound
    std::vector<double> rowAbsW;     // sum_k |w_k| per weight row: F16's subnormal inputs
};

Reference cpuReference(const std::vector<float>& x, int n, const WeightRef& hostW, const std::vector<float>& values,
                       DType xRounding) {
    const int64_t rows = hostW.rows, cols = hostW.cols;
    Reference ref;
    ref.want.resize(size_t(n) * size_t(rows));
    ref.wantRounded.resize(ref.want.size());
    ref.absSum.resize(ref.want.size());
    cpu::matmul(x.data(), n, hostW, ref.want.data());
    std::vector<float> xr(x.size()), absX(x.size()), absW(values.size());
    for (size_t i = 0; i < x.size(); ++i) xr[i] = roundTo(xRounding, x[i]), absX[i] = std::fabs(xr[i]);
    for (size_t i = 0; i < values.size(); ++i) absW[i] = std::fabs(values[i]);
    cpu::matmul(xr.data(), n, hostW, ref.wantRounded.data());
    cpu::matmul(absX.data(), n, WeightRef{absW.data(), DType::F32, rows, cols}, ref.absSum.data());
    ref.rowAbsW.assign(size_t(rows), 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) ref.rowAbsW[size_t(r)] += absW[size_t(r * cols + c)];
    return ref;
}

struct Check {
    QString failure;  // empty when every output is within its bounds
    double worstTight = 0, worstLoose = 0, accum = 0;
};

// Accumulation: fp32 over k = cols terms, on the device and in the reference, in any order; 4 k u
// rather than 2 k u leaves room for tensor cores that truncate when they align addends. Against
// the product of x rounded as on the device only that; against the fp32 product also u, the unit
// roundoff of x's rounding, and F16's subnormal inputs (absolute `subnormal` per |w|).
Check checkProduct(const std::vector<float>& got, const Reference& ref, int n, int64_t rows, int64_t cols, double u,
                   double subnormal, const QString& rounding) {
    Check check;
    check.accum = (4.0 * double(cols) + 16.0) * kU32;
    for (int t = 0; t < n; ++t)
        for (int64_t r = 0; r < rows; ++r) {
            const size_t i = size_t(t) * size_t(rows) + size_t(r);
            if (!std::isfinite(got[i])) {
                check.failure = QString("y[%1, %2] = %3").arg(t).arg(r).arg(got[i]);
                return check;
            }
            const double scaleSum = std::max(double(ref.absSum[i]), 1e-30);
            const double tight = std::fabs(double(got[i]) - ref.wantRounded[i]);
            const double loose = std::fabs(double(got[i]) - ref.want[i]);
            check.worstTight = std::max(check.worstTight, tight / scaleSum);
            check.worstLoose = std::max(check.worstLoose, loose / scaleSum);
            if (tight > check.accum * scaleSum) {
                check.failure = QString("y[%1, %2] = %3, CPU with x %4: %5; error %6 > %7 sum|x||w|")
                                    .arg(t).arg(r).arg(got[i], 0, 'g', 9).arg(rounding)
                                    .arg(ref.wantRounded[i], 0, 'g', 9).arg(tight / scaleSum).arg(check.accum);
                return check;
            }
            const double bound = (u + check.accum) * scaleSum + subnormal * ref.rowAbsW[size_t(r)];
            if (loose > bound) {
                check.failure = QString("y[%1, %2] = %3, fp32 CPU: %4; error %5 exceeds the bound %6")
                                    .arg(t).arg(r).arg(got[i], 0, 'g', 9).arg(ref.want[i], 0, 'g', 9)
                                    .arg(loose).arg(bound);
                return check;
            }
        }
    return check;
}

// A random MXFP4 matrix in gpt-oss's layout, with its values. Scale bytes 116..122 put the
// weights at 2^-12 .. 6 * 2^-5, as in gpt-oss's experts (rows of about 1/sqrt(cols)).
struct Mxfp4Matrix {
    std::vector<uint8_t> blocks, scales;
    std::vector<float> values;
};

Mxfp4Matrix randomMxfp4(int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> byte(0, 255), scale(116, 122);
    Mxfp4Matrix m;
    const int64_t groups = rows * cols / kMxfp4BlockElements;
    m.blocks.resize(size_t(groups) * 16);
    m.scales.resize(size_t(groups));
    for (uint8_t& b : m.blocks) b = uint8_t(byte(rng));
    for (uint8_t& s : m.scales) s = uint8_t(scale(rng));
    m.values.resize(size_t(rows * cols));
    dequantizeMxfp4Groups(m.blocks.data(), m.scales.data(), groups, m.values.data());
    return m;
}

}  // namespace

class TestCudaGemm : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        STRATA_REQUIRE_CUDA_DEVICE(info);
        totalDeviceMemory_ = uint64_t(info->totalMemoryBytes);

        auto pool = DevicePool::create(uint64_t(512) << 20);
        QVERIFY2(pool.ok(), qPrintable(pool.ok() ? QString() : describe(pool.error())));
        pool_ = std::move(*pool);
        QVERIFY2(cudaStatus(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate").ok(),
                 "cannot create a stream");
        auto gemm = CudaGemm::create(*pool_, stream_);
        QVERIFY2(gemm.ok(), qPrintable(gemm.ok() ? QString() : describe(gemm.error())));
        gemm_ = std::move(*gemm);
        QVERIFY(gemm_->workspaceBytes() >= (uint64_t(4) << 20));
        QCOMPARE(pool_->allocationCount(), size_t(1));  // the cuBLAS workspace
    }

    void cleanupTestCase() {
        gemm_.reset();
        if (stream_) (void)cudaStreamDestroy(stream_);
        pool_.reset();
    }

    // --- the pool ---

    void poolAlignsAndMemoryIsUsable() {
        auto pool = DevicePool::create(uint64_t(8) << 20);
        QVERIFY2(pool.ok(), qPrintable(pool.ok() ? QString() : describe(pool.error())));
        DevicePool& p = **pool;
        QCOMPARE(p.budget(), uint64_t(8) << 20);
        QCOMPARE(p.capacity(), uint64_t(8) << 20);  // cudaMalloc returns 256-byte aligned memory
        std::vector<void*> blocks;
        for (uint64_t bytes : {uint64_t(1), uint64_t(1000), uint64_t(4096), uint64_t(65537), uint64_t(3)}) {
            auto b = p.allocate(bytes);
            QVERIFY2(b.ok(), qPrintable(b.ok() ? QString() : describe(b.error())));
            QCOMPARE(reinterpret_cast<uintptr_t>(*b) % 256, uintptr_t(0));
            blocks.push_back(*b);
        }
        // Every byte of every block can be written and read back, with no neighbour overwritten.
        const uint64_t sizes[] = {1, 1000, 4096, 65537, 3};
        for (size_t i = 0; i < blocks.size(); ++i)
            QVERIFY(cudaStatus(cudaMemset(blocks[i], int(i + 1), sizes[i]), "cudaMemset").ok());
        for (size_t i = 0; i < blocks.size(); ++i) {
            std::vector<unsigned char> back(sizes[i]);
            QVERIFY(download(back.data(), blocks[i], back.size()).ok());
            QVERIFY(std::all_of(back.begin(), back.end(), [&](unsigned char c) { return c == i + 1; }));
        }
        for (void* b : blocks) QVERIFY(p.release(b).ok());
        QCOMPARE(p.usedBytes(), uint64_t(0));
        QVERIFY(p.peakBytes() >= 1000 + 4096 + 65537);
    }

    void poolReusesReleasedBlocks() {
        auto pool = DevicePool::create(uint64_t(1) << 20);
        QVERIFY(pool.ok());
        DevicePool& p = **pool;
        auto a = p.allocate(4096), b = p.allocate(4096);
        QVERIFY(a.ok() && b.ok());
        void* first = *a;
        QVERIFY(p.release(*a).ok());
        auto c = p.allocate(1000);
        QVERIFY(c.ok());
        QCOMPARE(*c, first);
        QCOMPARE(p.allocationCount(), size_t(2));
        QVERIFY(p.release(*c).ok());
        QVERIFY(p.release(*b).ok());
        QVERIFY(!p.release(*b).ok());  // twice is an error, not a crash
        {
            auto owned = p.allocateBuffer(10000, "a scoped buffer");
            QVERIFY(owned.ok());
            QCOMPARE(p.allocationCount(), size_t(1));
        }
        QCOMPARE(p.allocationCount(), size_t(0));
        QCOMPARE(p.usedBytes(), uint64_t(0));
        QVERIFY(p.peakBytes() >= 2 * 4096);
        p.resetPeak();
        QCOMPARE(p.peakBytes(), uint64_t(0));
        auto all = p.allocate(uint64_t(1) << 20);
        QVERIFY(all.ok());
        p.reset();
        QCOMPARE(p.usedBytes(), uint64_t(0));
        QCOMPARE(p.peakBytes(), uint64_t(1) << 20);
    }

    void poolExhaustionNamesTheBudget() {
        auto pool = DevicePool::create(uint64_t(1) << 20);
        QVERIFY(pool.ok());
        DevicePool& p = **pool;
        QVERIFY(p.allocate((uint64_t(1) << 20) - 1024).ok());
        auto r = p.allocate(4096, "the KV cache");
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, ErrorKind::BadInput);
        QVERIFY2(describe(r.error()).startsWith("the VRAM budget of 1.00 MiB is exhausted: 4096 bytes requested for the KV "
                                                "cache, 1024 free"),
                 qPrintable(describe(r.error())));
        QVERIFY2(describe(r.error()).contains("--vram-budget"), qPrintable(describe(r.error())));
    }

    void poolBudgetBeyondTheDevice() {
        auto r = DevicePool::create(totalDeviceMemory_ * 2);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, ErrorKind::BadInput);
        QVERIFY2(describe(r.error()).contains("cannot reserve the VRAM budget"), qPrintable(describe(r.error())));
        QVERIFY2(describe(r.error()).contains("smaller --vram-budget"), qPrintable(describe(r.error())));
        QVERIFY(!DevicePool::create(0).ok());
        // The failed reservation must not poison later CUDA calls.
        auto ok = DevicePool::create(uint64_t(1) << 20);
        QVERIFY2(ok.ok(), qPrintable(ok.ok() ? QString() : describe(ok.error())));
    }

    // --- the conversion kernel ---

    void conversionMatchesHostRounding() {
        std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 1.00390625f /* bf16 tie, rounds to even */,
                                1.01171875f /* tie, rounds up */, 3.14159265f, 65504.0f, 65519.0f, 65520.0f, 1e30f,
                                -1e30f, 6.1e-5f, 5.96e-8f, 2.98e-8f, 1e-40f, INFINITY, -INFINITY, NAN,
                                1.00048828125f /* f16 tie, rounds to even */, 1.00146484375f /* tie, rounds up */};
        std::mt19937 rng(7);
        std::uniform_int_distribution<uint32_t> bits;
        for (int i = 0; i < 4000; ++i) {
            const uint32_t b = bits(rng);
            float f;
            std::memcpy(&f, &b, 4);
            x.push_back(f);
        }
        PoolBuffer dX, dOut;
        {
            auto a = pool_->allocateBuffer(x.size() * 4), b = pool_->allocateBuffer(x.size() * 2);
            QVERIFY(a.ok() && b.ok());
            dX = std::move(*a);
            dOut = std::move(*b);
        }
        QVERIFY(upload(dX.get(), x.data(), x.size() * 4).ok());
        for (DType t : {DType::BF16, DType::F16}) {
            Status s = cudaConvertFromF32(dX.as<float>(), int64_t(x.size()), t, dOut.get(), stream_);
            QVERIFY2(s.ok(), qPrintable(describe(s)));
            QVERIFY(cudaStatus(cudaStreamSynchronize(stream_), "sync").ok());
            std::vector<uint16_t> got(x.size());
            QVERIFY(download(got.data(), dOut.get(), got.size() * 2).ok());
            for (size_t i = 0; i < x.size(); ++i) {
                if (std::isnan(x[i])) {
                    QVERIFY(std::isnan(t == DType::BF16 ? bf16ToFloat(got[i]) : f16ToFloat(got[i])));
                    continue;
                }
                const uint16_t want = t == DType::BF16 ? floatToBf16(x[i]) : floatToF16(x[i]);
                if (got[i] != want)
                    QFAIL(qPrintable(QString("%1 of %2: got 0x%3, want 0x%4")
                                         .arg(QString::fromLatin1(dtypeName(t).data()))
                                         .arg(double(x[i]), 0, 'g', 9)
                                         .arg(got[i], 4, 16, QChar('0'))
                                         .arg(want, 4, 16, QChar('0'))));
            }
        }
        QVERIFY(!cudaConvertFromF32(dX.as<float>(), 4, DType::F32, dOut.get(), stream_).ok());
        QVERIFY(!cudaConvertFromF32(dX.as<float>(), -1, DType::BF16, dOut.get(), stream_).ok());
    }

    // --- the product ---

    void matchesCpu_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<int>("wType");
        const int shapes[][2] = {{64, 64}, {100, 72}, {257, 1000}, {1000, 257}, {896, 1152}, {4093, 4096}, {4096, 4093}};
        const DType types[] = {DType::BF16, DType::F16, DType::F32};
        for (int n : {1, 3, 17, 300})
            for (const auto& s : shapes)
                for (DType t : types) {
                    const std::string name = "n" + std::to_string(n) + " " + std::to_string(s[0]) + "x" +
                                             std::to_string(s[1]) + " " + std::string(dtypeName(t));
                    QTest::newRow(name.c_str()) << n << s[0] << s[1] << int(t);
                }
    }

    void matchesCpu() {
        QFETCH(int, n);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(int, wType);
        const DType type = DType(wType);

        std::mt19937 rng(uint32_t(n * 7919 + rows * 31 + cols * 17 + wType));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> x(size_t(n) * cols);
        for (float& v : x) v = 2.0f * normal(rng);
        // Weights scaled as trained ones are, so outputs stay near x's magnitude.
        const float scale = 1.0f / std::sqrt(float(cols));
        std::vector<float> w(size_t(rows) * cols);  // the stored values, widened
        std::vector<uint16_t> w16(type == DType::F32 ? 0 : w.size());
        for (size_t i = 0; i < w.size(); ++i) {
            const float v = scale * normal(rng);
            if (type == DType::BF16) w16[i] = floatToBf16(v), w[i] = bf16ToFloat(w16[i]);
            else if (type == DType::F16) w16[i] = floatToF16(v), w[i] = f16ToFloat(w16[i]);
            else w[i] = v;
        }
        const void* storedW = type == DType::F32 ? static_cast<const void*>(w.data()) : w16.data();
        const size_t wBytes = w.size() * dtypeSize(type);

        // Three references on the CPU: the fp32 product, the product of x rounded as the device
        // rounds it, and sum |x||w| per output, the scale of every rounding bound.
        const Reference ref = cpuReference(x, n, WeightRef{storedW, type, rows, cols}, w, type);
        std::vector<float> got;
        runProduct(x, n, storedW, wBytes, WeightRef{nullptr, type, rows, cols}, got);
        if (QTest::currentTestFailed()) return;

        const Check check = checkProduct(got, ref, n, rows, cols, inputRoundoff(type),
                                         type == DType::F16 ? std::ldexp(1.0, -25) : 0.0,
                                         "rounded to " + QString::fromLatin1(dtypeName(type).data()));
        QVERIFY2(check.failure.isEmpty(), qPrintable(check.failure));
        qInfo("max error / sum|x||w|: %.3g against x rounded as on the device (bound %.3g), %.3g against fp32 x "
              "(bound %.3g)",
              check.worstTight, check.accum, check.worstLoose, inputRoundoff(type) + check.accum);
    }

    // Input-major weights ([cols, rows] as stored, gpt-oss's bf16 experts): the same product with
    // the other transpose flag, so the same bounds as matchesCpu.
    void inputMajorMatchesCpu_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<int>("wType");
        auto row = [](int n, int rows, int cols, DType t) {
            const std::string name = "n" + std::to_string(n) + " " + std::to_string(rows) + "x" +
                                     std::to_string(cols) + " " + std::string(dtypeName(t));
            QTest::newRow(name.c_str()) << n << rows << cols << int(t);
        };
        // gpt-oss's bf16 gate_up experts ([2880, 5760] stored) and odd shapes; the other types on
        // the small ones only (the flag is the same for all).
        for (int n : {1, 3, 17, 64}) {
            row(n, 5760, 2880, DType::BF16);
            row(n, 33, 100, DType::BF16);
        }
        for (DType t : {DType::F16, DType::F32})
            for (int n : {1, 17}) {
                row(n, 33, 100, t);
                row(n, 257, 1000, t);
            }
    }

    void inputMajorMatchesCpu() {
        QFETCH(int, n);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(int, wType);
        const DType type = DType(wType);
        std::mt19937 rng(uint32_t(n * 7907 + rows * 37 + cols * 13 + wType));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> x(size_t(n) * cols);
        for (float& v : x) v = 2.0f * normal(rng);
        const float scale = 1.0f / std::sqrt(float(cols));
        // Stored [cols, rows]; `w` keeps the values in [rows, cols] order for the bounds.
        std::vector<float> stored(size_t(rows) * cols), w(stored.size());
        std::vector<uint16_t> stored16(type == DType::F32 ? 0 : stored.size());
        for (int c = 0; c < cols; ++c)
            for (int r = 0; r < rows; ++r) {
                const size_t at = size_t(c) * rows + r;
                float v = scale * normal(rng);
                if (type == DType::BF16) stored16[at] = floatToBf16(v), v = bf16ToFloat(stored16[at]);
                else if (type == DType::F16) stored16[at] = floatToF16(v), v = f16ToFloat(stored16[at]);
                stored[at] = v;
                w[size_t(r) * cols + c] = v;
            }
        const void* storedW = type == DType::F32 ? static_cast<const void*>(stored.data()) : stored16.data();
        WeightRef hostW{storedW, type, rows, cols};
        hostW.inputMajor = true;
        const Reference ref = cpuReference(x, n, hostW, w, type);
        std::vector<float> got;
        runProduct(x, n, storedW, stored.size() * dtypeSize(type), WeightRef{nullptr, type, rows, cols, nullptr, true},
                   got);
        if (QTest::currentTestFailed()) return;
        const Check check = checkProduct(got, ref, n, rows, cols, inputRoundoff(type),
                                         type == DType::F16 ? std::ldexp(1.0, -25) : 0.0,
                                         "rounded to " + QString::fromLatin1(dtypeName(type).data()));
        QVERIFY2(check.failure.isEmpty(), qPrintable(check.failure));
        qInfo("max error / sum|x||w|: %.3g (bound %.3g), %.3g against fp32 x (bound %.3g)", check.worstTight,
              check.accum, check.worstLoose, inputRoundoff(type) + check.accum);
    }

    // MXFP4 weights, gpt-oss's expert shapes and a small odd one, at n on both sides of the GEMV's
    // limit; "unaligned" puts the packed bytes, the scales and x off their 16-byte boundaries (the
    // GEMV's scalar loads, the widening's byte loads).
    //
    // Tolerance: both sides multiply the same weights, exactly dequantised (the device's fp32
    // table times a power of two is exact, see kernels/mxfp4.cu). Up to kMxfp4GemvMaxTokens the
    // device multiplies fp32 x in fp32, so only the accumulation order differs: the 4 k 2^-24
    // bound of matchesCpu against the fp32 product. Past it x is rounded to bf16 for cuBLAS, as
    // for a BF16 weight: that bound against the product of bf16-rounded x, plus 2^-9 against fp32 x.
    void mxfp4MatchesCpu_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<bool>("aligned");
        const int shapes[][2] = {{5760, 2880}, {37, 224}};
        for (const auto& s : shapes)
            for (int n : {1, 3, 8, 9, 17, 64}) {
                const std::string name = "n" + std::to_string(n) + " " + std::to_string(s[0]) + "x" +
                                         std::to_string(s[1]);
                QTest::newRow(name.c_str()) << n << s[0] << s[1] << true;
            }
        for (auto [n, rows, cols] : {std::tuple{1, 37, 224}, std::tuple{3, 37, 224}, std::tuple{17, 37, 224},
                                     std::tuple{3, 5760, 2880}, std::tuple{17, 5760, 2880}}) {
            const std::string name = "n" + std::to_string(n) + " " + std::to_string(rows) + "x" +
                                     std::to_string(cols) + " unaligned";
            QTest::newRow(name.c_str()) << n << rows << cols << false;
        }
    }

    void mxfp4MatchesCpu() {
        QFETCH(int, n);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(bool, aligned);
        std::mt19937 rng(uint32_t(n * 7901 + rows * 41 + cols * 11 + aligned));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> x(size_t(n) * cols);
        for (float& v : x) v = 2.0f * normal(rng);
        const Mxfp4Matrix m = randomMxfp4(rows, cols, uint32_t(rows * 3 + cols + n));
        WeightRef hostW{m.blocks.data(), DType::MXFP4, rows, cols};
        hostW.scales = m.scales.data();
        const bool gemv = n <= kMxfp4GemvMaxTokens;
        const Reference ref = cpuReference(x, n, hostW, m.values, gemv ? DType::F32 : DType::BF16);

        // One byte (x: one float) past each buffer's start when unaligned.
        const size_t skew = aligned ? 0 : 1;
        PoolBuffer dX, dBlocks, dScales, dY;
        {
            auto a = pool_->allocateBuffer((x.size() + skew) * 4, "x"),
                 b = pool_->allocateBuffer(m.blocks.size() + skew, "blocks"),
                 c = pool_->allocateBuffer(m.scales.size() + skew, "scales"),
                 d = pool_->allocateBuffer(ref.want.size() * 4, "y");
            QVERIFY2(a.ok() && b.ok() && c.ok() && d.ok(), "the test pool is too small");
            dX = std::move(*a);
            dBlocks = std::move(*b);
            dScales = std::move(*c);
            dY = std::move(*d);
        }
        float* xAt = dX.as<float>() + skew;
        uint8_t* blocksAt = dBlocks.as<uint8_t>() + skew;
        uint8_t* scalesAt = dScales.as<uint8_t>() + skew;
        QVERIFY(upload(xAt, x.data(), x.size() * 4).ok());
        QVERIFY(upload(blocksAt, m.blocks.data(), m.blocks.size()).ok());
        QVERIFY(upload(scalesAt, m.scales.data(), m.scales.size()).ok());
        QVERIFY(cudaStatus(cudaMemset(dY.get(), 0xff, ref.want.size() * 4), "cudaMemset").ok());
        WeightRef dW{blocksAt, DType::MXFP4, rows, cols};
        dW.scales = scalesAt;
        Status s = gemm_->matmul(xAt, n, dW, dY.as<float>());
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        QVERIFY(cudaStatus(cudaStreamSynchronize(stream_), "cudaStreamSynchronize").ok());
        std::vector<float> got(ref.want.size());
        QVERIFY(download(got.data(), dY.get(), got.size() * 4).ok());

        const double u = gemv ? 0.0 : inputRoundoff(DType::BF16);
        const Check check = checkProduct(got, ref, n, rows, cols, u, 0.0, gemv ? "in fp32" : "rounded to BF16");
        QVERIFY2(check.failure.isEmpty(), qPrintable(check.failure));
        qInfo("%s: max error / sum|x||w|: %.3g (bound %.3g), %.3g against fp32 x (bound %.3g)",
              gemv ? "GEMV" : "widened to bf16 + cuBLAS", check.worstTight, check.accum, check.worstLoose,
              u + check.accum);
    }

    // Every nibble with every scale byte, bit for bit against format/Mxfp4.cpp (itself checked
    // against transformers): the widening to bf16 for all 256 scale bytes (the subnormal 2^-127 of
    // byte 0, the infinities of 254 and 255, -0), and the GEMV for the bytes whose values are all
    // finite (0 .. 252), read one weight at a time through one-hot rows of x.
    void mxfp4DecodesEveryValueExactly() {
        // Group g of a row holds the bytes 16 g .. 16 g + 15, so 16 groups hold every byte value.
        const int64_t groupsPerRow = 16, cols = groupsPerRow * kMxfp4BlockElements;
        auto rowOfEveryByte = [&](int64_t rows, std::vector<uint8_t>& blocks, std::vector<uint8_t>& scales) {
            blocks.resize(size_t(rows * groupsPerRow * 16));
            scales.resize(size_t(rows * groupsPerRow));
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t g = 0; g < groupsPerRow; ++g) {
                    scales[size_t(r * groupsPerRow + g)] = uint8_t(r);
                    for (int j = 0; j < 16; ++j) blocks[size_t((r * groupsPerRow + g) * 16 + j)] = uint8_t(16 * g + j);
                }
        };
        std::vector<uint8_t> blocks, scales;
        rowOfEveryByte(256, blocks, scales);
        std::vector<float> want(size_t(256 * cols));
        dequantizeMxfp4Groups(blocks.data(), scales.data(), 256 * groupsPerRow, want.data());

        auto dBlocks = pool_->allocateBuffer(blocks.size()), dScales = pool_->allocateBuffer(scales.size()),
             dWide = pool_->allocateBuffer(want.size() * 2);
        QVERIFY(dBlocks.ok() && dScales.ok() && dWide.ok());
        QVERIFY(upload(dBlocks->get(), blocks.data(), blocks.size()).ok());
        QVERIFY(upload(dScales->get(), scales.data(), scales.size()).ok());
        Status s = cudaMxfp4ToBf16(dBlocks->get(), dScales->as<uint8_t>(), 256 * groupsPerRow, dWide->get(), stream_);
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        QVERIFY(cudaStatus(cudaStreamSynchronize(stream_), "sync").ok());
        std::vector<uint16_t> wide(want.size());
        QVERIFY(download(wide.data(), dWide->get(), wide.size() * 2).ok());
        for (size_t i = 0; i < want.size(); ++i) {
            const float got = bf16ToFloat(wide[i]);
            if (std::memcmp(&got, &want[i], 4) != 0)
                QFAIL(qPrintable(QString("scale byte %1, element %2: bf16 %3, want %4")
                                     .arg(i / size_t(cols)).arg(i % size_t(cols))
                                     .arg(double(got), 0, 'g', 9).arg(double(want[i]), 0, 'g', 9)));
        }

        // The GEMV, eight one-hot tokens at a time: y[t, r] = w[r, column of t] exactly, every
        // other term being an exact zero.
        const int64_t rows = 253;
        constexpr int n = int(kMxfp4GemvMaxTokens);
        auto dX = pool_->allocateBuffer(size_t(n * cols) * 4), dY = pool_->allocateBuffer(size_t(n * rows) * 4);
        QVERIFY(dX.ok() && dY.ok());
        std::vector<float> x(size_t(n * cols)), y(size_t(n * rows));
        for (int64_t c0 = 0; c0 < cols; c0 += n) {
            std::fill(x.begin(), x.end(), 0.0f);
            for (int t = 0; t < n; ++t) x[size_t(t * cols + c0 + t)] = 1.0f;
            QVERIFY(upload(dX->get(), x.data(), x.size() * 4).ok());
            s = cudaMxfp4Gemv(dX->as<float>(), n, dBlocks->get(), dScales->as<uint8_t>(), rows, cols, dY->as<float>(),
                              stream_);
            QVERIFY2(s.ok(), qPrintable(describe(s)));
            QVERIFY(cudaStatus(cudaStreamSynchronize(stream_), "sync").ok());
            QVERIFY(download(y.data(), dY->get(), y.size() * 4).ok());
            for (int t = 0; t < n; ++t)
                for (int64_t r = 0; r < rows; ++r) {
                    const float w = want[size_t(r * cols + c0 + t)], got = y[size_t(t * rows + r)];
                    if (got != w)
                        QFAIL(qPrintable(QString("GEMV, scale byte %1, column %2: %3, want %4")
                                             .arg(r).arg(c0 + t).arg(double(got), 0, 'g', 9)
                                             .arg(double(w), 0, 'g', 9)));
                }
        }
    }

    void productNeedsNoNewPoolMemoryOnceWarm() {
        QVERIFY(gemm_->reserveScratch(uint64_t(300) * 4096).ok());
        QVERIFY(gemm_->reserveWeightScratch(uint64_t(64) * 4096).ok());
        auto dX = pool_->allocateBuffer(300 * 4096 * 4), dW = pool_->allocateBuffer(64 * 4096 * 4),
             dY = pool_->allocateBuffer(300 * 64 * 4);
        QVERIFY(dX.ok() && dW.ok() && dY.ok());
        QVERIFY(cudaStatus(cudaMemset(dX->get(), 0, 300 * 4096 * 4), "memset").ok());
        QVERIFY(cudaStatus(cudaMemset(dW->get(), 0, 64 * 4096 * 4), "memset").ok());
        const uint64_t used = pool_->usedBytes();
        const size_t count = pool_->allocationCount();
        for (DType t : {DType::BF16, DType::F16, DType::F32})
            for (int n : {1, 17, 300}) {
                Status s = gemm_->matmul(dX->as<float>(), n, WeightRef{dW->get(), t, 64, 4096}, dY->as<float>());
                QVERIFY2(s.ok(), qPrintable(describe(s)));
                const WeightRef inputMajor{dW->get(), t, 64, 4096, nullptr, true};
                s = gemm_->matmul(dX->as<float>(), n, inputMajor, dY->as<float>());
                QVERIFY2(s.ok(), qPrintable(describe(s)));
            }
        // MXFP4 (zero bytes: the weights are zeros): the GEMV needs nothing, the cuBLAS path its
        // widened rows, reserved above.
        WeightRef packed{dW->get(), DType::MXFP4, 64, 4096};
        packed.scales = static_cast<const uint8_t*>(dW->get());
        for (int n : {1, 8, 17, 300}) {
            Status s = gemm_->matmul(dX->as<float>(), n, packed, dY->as<float>());
            QVERIFY2(s.ok(), qPrintable(describe(s)));
        }
        QVERIFY(cudaStatus(cudaStreamSynchronize(stream_), "sync").ok());
        QCOMPARE(pool_->usedBytes(), used);
        QCOMPARE(pool_->allocationCount(), count);
    }

    void exhaustedScratchIsAnError() {
        auto pool = DevicePool::create(uint64_t(1) << 20);
        QVERIFY(pool.ok());
        auto gemm = CudaGemm::create(**pool, stream_, 0);
        QVERIFY2(gemm.ok(), qPrintable(gemm.ok() ? QString() : describe(gemm.error())));
        QCOMPARE((*pool)->usedBytes(), uint64_t(0));
        // x and W live in the big pool; the converted x (256 x 4096 x 2 bytes = 2 MiB) does not fit 1 MiB.
        auto dX = pool_->allocateBuffer(256 * 4096 * 4), dW = pool_->allocateBuffer(64 * 4096 * 2),
             dY = pool_->allocateBuffer(256 * 64 * 4);
        QVERIFY(dX.ok() && dW.ok() && dY.ok());
        QVERIFY(cudaStatus(cudaMemset(dX->get(), 0, 256 * 4096 * 4), "memset").ok());
        QVERIFY(cudaStatus(cudaMemset(dW->get(), 0, 64 * 4096 * 2), "memset").ok());
        Status s = (*gemm)->matmul(dX->as<float>(), 256, WeightRef{dW->get(), DType::BF16, 64, 4096}, dY->as<float>());
        QVERIFY(!s.ok());
        QVERIFY2(describe(s).startsWith("the VRAM budget of 1.00 MiB is exhausted: 2097152 bytes requested for "
                                        "activations converted for a matrix product"),
                 qPrintable(describe(s)));
        // A product that fits still works after the failure, and with no cuBLAS workspace at all.
        s = (*gemm)->matmul(dX->as<float>(), 16, WeightRef{dW->get(), DType::BF16, 64, 4096}, dY->as<float>());
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        QVERIFY(cudaStatus(cudaStreamSynchronize(stream_), "sync").ok());
        std::vector<float> y(16 * 64, 1.0f);
        QVERIFY(download(y.data(), dY->get(), y.size() * 4).ok());
        QVERIFY(std::all_of(y.begin(), y.end(), [](float v) { return v == 0.0f; }));
    }

    void rejectsBadArguments() {
        float* dummy = reinterpret_cast<float*>(uintptr_t(256));  // never dereferenced: checks come first
        const WeightRef w{dummy, DType::BF16, 64, 64};
        Status s = gemm_->matmul(dummy, -1, w, dummy);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().kind, ErrorKind::BadInput);
        QVERIFY(!gemm_->matmul(dummy, 1, WeightRef{dummy, DType::BF16, 0, 64}, dummy).ok());
        QVERIFY(!gemm_->matmul(dummy, 1, WeightRef{dummy, DType::BF16, 64, -3}, dummy).ok());
        QVERIFY(!gemm_->matmul(dummy, 1, WeightRef{dummy, DType::BF16, int64_t(1) << 33, 64}, dummy).ok());
        QVERIFY(!gemm_->matmul(nullptr, 1, w, dummy).ok());
        QVERIFY(!gemm_->matmul(dummy, 1, WeightRef{nullptr, DType::BF16, 64, 64}, dummy).ok());
        QVERIFY(!gemm_->matmul(dummy, 1, w, nullptr).ok());
        QVERIFY(gemm_->matmul(nullptr, 0, WeightRef{nullptr, DType::F32, 64, 64}, nullptr).ok());
        // MXFP4: columns in whole groups of 32, scales present, never input-major; no packed Q8_0.
        const auto* bytes = reinterpret_cast<const uint8_t*>(dummy);
        QVERIFY(!gemm_->matmul(dummy, 1, WeightRef{dummy, DType::MXFP4, 64, 48, bytes}, dummy).ok());
        QVERIFY(!gemm_->matmul(dummy, 1, WeightRef{dummy, DType::MXFP4, 64, 64, nullptr}, dummy).ok());
        QVERIFY(!gemm_->matmul(dummy, 17, WeightRef{dummy, DType::MXFP4, 64, 64, bytes, true}, dummy).ok());
        QVERIFY(!gemm_->matmul(dummy, 1, WeightRef{dummy, DType::Q8_0, 64, 64}, dummy).ok());
        QVERIFY(!cudaMxfp4Gemv(dummy, 9, dummy, bytes, 64, 64, dummy, stream_).ok());
        QVERIFY(!cudaMxfp4ToBf16(dummy, bytes, -1, dummy, stream_).ok());
        QVERIFY(!cudaMxfp4ToBf16(dummy, bytes, 4, reinterpret_cast<void*>(uintptr_t(258)), stream_).ok());
    }

    void releasesEverything() {
        qInfo("peak use of the test pool: %.1f MiB", double(pool_->peakBytes()) / (1 << 20));
        gemm_.reset();
        QCOMPARE(pool_->usedBytes(), uint64_t(0));
        QCOMPARE(pool_->allocationCount(), size_t(0));
    }

private:
    // y = x * W^T on the device through CudaGemm, W uploaded from `stored` (wBytes) into the
    // pool; `w` gives the type, shape and storage order. y starts as NaN, so an output the
    // product fails to write cannot pass.
    void runProduct(const std::vector<float>& x, int n, const void* stored, size_t wBytes, WeightRef w,
                    std::vector<float>& y) {
        PoolBuffer dX, dW, dY;
        const size_t yFloats = size_t(n) * size_t(w.rows);
        {
            auto a = pool_->allocateBuffer(x.size() * 4, "x"), b = pool_->allocateBuffer(wBytes, "W"),
                 c = pool_->allocateBuffer(yFloats * 4, "y");
            QVERIFY2(a.ok() && b.ok() && c.ok(), "the test pool is too small");
            dX = std::move(*a);
            dW = std::move(*b);
            dY = std::move(*c);
        }
        QVERIFY(upload(dX.get(), x.data(), x.size() * 4).ok());
        QVERIFY(upload(dW.get(), stored, wBytes).ok());
        QVERIFY(cudaStatus(cudaMemset(dY.get(), 0xff, yFloats * 4), "cudaMemset").ok());
        w.data = dW.get();
        Status s = gemm_->matmul(dX.as<float>(), n, w, dY.as<float>());
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        QVERIFY(cudaStatus(cudaStreamSynchronize(stream_), "cudaStreamSynchronize").ok());
        y.resize(yFloats);
        QVERIFY(download(y.data(), dY.get(), yFloats * 4).ok());
    }

    uint64_t totalDeviceMemory_ = 0;
    std::unique_ptr<DevicePool> pool_;
    cudaStream_t stream_ = nullptr;
    std::unique_ptr<CudaGemm> gemm_;
};

QTEST_GUILESS_MAIN(TestCudaGemm)
#include "test_cuda_gemm.moc"
