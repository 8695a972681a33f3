// RMSNorm on the device against the CPU reference, across shapes, weight types and both variants.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "CudaDevice.h"
#include "CudaTestSupport.h"
#include "CudaKernels.h"
#include "backend/cpu/CpuKernels.h"
#include "core/DType.h"

using namespace strata;
using namespace strata::cudatest;

namespace {


}  // namespace

class TestCudaRmsNorm : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { STRATA_REQUIRE_CUDA_DEVICE(info); }

    void matchesCpu_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("wType");
        QTest::addColumn<bool>("addOne");
        const int shapes[][2] = {{1, 64}, {3, 100}, {7, 1000}, {17, 896}, {64, 2048}, {300, 4096}, {5, 4093},
                                 {2, 2560}, {129, 1536}, {1, 33}};
        const DType types[] = {DType::F32, DType::BF16, DType::F16};
        for (const auto& s : shapes)
            for (DType t : types)
                for (bool addOne : {false, true}) {
                    const std::string name = std::to_string(s[0]) + "x" + std::to_string(s[1]) + " " +
                                             std::string(dtypeName(t)) + (addOne ? " addOne" : "");
                    QTest::newRow(name.c_str()) << s[0] << s[1] << int(t) << addOne;
                }
    }

    void matchesCpu() {
        QFETCH(int, rows);
        QFETCH(int, dim);
        QFETCH(int, wType);
        QFETCH(bool, addOne);
        const DType type = DType(wType);
        const float eps = 1e-6f;

        std::mt19937 rng(uint32_t(rows * 7919 + dim * 31 + wType * 3 + addOne));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> x(size_t(rows) * dim);
        for (float& v : x) v = normal(rng) * 3.0f;
        // Weights near 1 for the plain variant and near 0 for addOne, as real checkpoints store them.
        std::vector<float> w(dim);
        for (float& v : w) v = (addOne ? 0.0f : 1.0f) + 0.2f * normal(rng);

        // The stored weight is what both sides see: round it to its dtype first.
        std::vector<uint16_t> w16(dim);
        const void* hostW = w.data();
        if (type != DType::F32) {
            for (int i = 0; i < dim; ++i) {
                if (type == DType::BF16) {
                    w16[i] = floatToBf16(w[i]);
                    w[i] = bf16ToFloat(w16[i]);
                } else {
                    w16[i] = halfBits(w[i]);
                    w[i] = f16ToFloat(w16[i]);
                }
            }
            hostW = w16.data();
        }

        std::vector<float> expected(x.size());
        cpu::rmsNorm(x.data(), rows, dim, w.data(), eps, addOne, expected.data());

        DeviceBuffer dX(x.size() * sizeof(float)), dY(x.size() * sizeof(float)), dW(size_t(dim) * dtypeSize(type));
        QVERIFY2(dX.status().ok(), qPrintable(describe(dX.status())));
        QVERIFY2(dY.status().ok(), qPrintable(describe(dY.status())));
        QVERIFY2(dW.status().ok(), qPrintable(describe(dW.status())));
        Status s = cudaStatus(cudaMemcpy(dX.get(), x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice), "upload x");
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        s = cudaStatus(cudaMemcpy(dW.get(), hostW, size_t(dim) * dtypeSize(type), cudaMemcpyHostToDevice), "upload w");
        QVERIFY2(s.ok(), qPrintable(describe(s)));

        s = cudaRmsNorm(dX.floats(), rows, dim, dW.get(), type, eps, addOne, dY.floats(), nullptr);
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        std::vector<float> got(x.size());
        s = cudaStatus(cudaMemcpy(got.data(), dY.get(), got.size() * sizeof(float), cudaMemcpyDeviceToHost), "download y");
        QVERIFY2(s.ok(), qPrintable(describe(s)));

        const double err = maxRelativeError(got, expected);
        qInfo("max relative error %.3g", err);
        QVERIFY2(err < 1e-5, qPrintable(QString("max relative error %1 exceeds 1e-5").arg(err)));

        // In place must give the same answer: the kernel finishes reading a row before writing it.
        s = cudaRmsNorm(dX.floats(), rows, dim, dW.get(), type, eps, addOne, dX.floats(), nullptr);
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        s = cudaStatus(cudaMemcpy(got.data(), dX.get(), got.size() * sizeof(float), cudaMemcpyDeviceToHost), "download x");
        QVERIFY2(s.ok(), qPrintable(describe(s)));
        QVERIFY2(maxRelativeError(got, expected) < 1e-5, "in-place result differs from the CPU reference");
    }

    void rejectsBadArguments() {
        float dummy = 0;
        Status s = cudaRmsNorm(&dummy, -1, 64, &dummy, DType::F32, 1e-6f, false, &dummy, nullptr);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().kind, ErrorKind::BadInput);
        s = cudaRmsNorm(&dummy, 1, 0, &dummy, DType::F32, 1e-6f, false, &dummy, nullptr);
        QVERIFY(!s.ok());
        s = cudaRmsNorm(nullptr, 1, 64, &dummy, DType::F32, 1e-6f, false, &dummy, nullptr);
        QVERIFY(!s.ok());
        QVERIFY(cudaRmsNorm(nullptr, 0, 64, nullptr, DType::F32, 1e-6f, false, nullptr, nullptr).ok());
    }

private:
    // Relative to the reference element; elements both exactly zero count as equal.
    static double maxRelativeError(const std::vector<float>& got, const std::vector<float>& want) {
        double worst = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            if (!std::isfinite(got[i])) return INFINITY;
            const double diff = std::fabs(double(got[i]) - want[i]);
            if (diff == 0) continue;
            worst = std::max(worst, diff / std::max(std::fabs(double(want[i])), 1e-30));
        }
        return worst;
    }

    // fp16 rounding for the test's weights; torch casts with round-to-nearest-even too.
    static uint16_t halfBits(float f) {
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        const uint32_t sign = (bits >> 16) & 0x8000u;
        const float a = std::fabs(f);
        if (a >= 65520.0f) return uint16_t(sign | 0x7c00u);
        if (a < 6.103515625e-05f) {  // subnormal range: multiples of 2^-24
            const uint32_t m = uint32_t(std::nearbyint(a * 16777216.0f));
            return uint16_t(sign | m);
        }
        uint32_t abits = bits & 0x7fffffffu;
        abits += 0xfffu + ((abits >> 13) & 1u);
        return uint16_t(sign | (((abits >> 23) - 112u) << 10) | ((abits >> 13) & 0x3ffu));
    }
};

QTEST_GUILESS_MAIN(TestCudaRmsNorm)
#include "test_cuda_rmsnorm.moc"
