// The encoders on the CUDA backend: the ops they add (LayerNorm with a bias, weight rows added,
// activations in place, bidirectional attention) against the CPU backend, then the SigLIP and
// Voxtral audio towers of the tiny transformers fixtures on the device, with every unit in VRAM
// and with a budget that streams them (units left in pinned RAM and on disk), against
// transformers' outputs.
//
// Tolerance: the fixtures' weights are fp32, which the device multiplies in plain fp32 (no TF32),
// so the towers agree with transformers as closely as the CPU backend does, up to summation
// order: 1e-4 on outputs of order 1.
#include <QtTest>

#include <cmath>
#include <filesystem>

#include "../support/TestFiles.h"
#include "../support/RandomValues.h"
#include "../support/TestPaths.h"
#include "CudaOps.h"
#include "CudaTestSupport.h"
#include "audio/VoxtralAudioEncoder.h"
#include "AudioDocument.h"
#include "backend/cpu/CpuOps.h"
#include "vision/SiglipVisionEncoder.h"

using namespace strata;
using strata::testsupport::randomVector;
namespace fs = std::filesystem;
using strata::testsupport::maxAbsDiff;
using strata::testsupport::readF32;

namespace {

const fs::path kModels = strata::testsupport::testDataDir() / "models";


// Device copies of host vectors for the duration of a test.
class DeviceVector {
public:
    DeviceVector(Ops& ops, const std::vector<float>& host) : ops_(ops), size_(host.size()) {
        data_ = ops.allocate(size_);
        ops.upload(data_, host.data(), size_);
    }
    ~DeviceVector() { ops_.release(data_); }
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

// A budget that holds one unit in VRAM beyond the two device slots, and one in RAM beyond the two
// staging slots: the rest come from pinned RAM or the disk on every run.
ResidencyOptions streamingBudget(const EncoderTower& tower) {
    uint64_t largest = 0;
    for (const WeightUnit& unit : tower.layout().units) largest = std::max(largest, unit.bytes);
    ResidencyOptions options;
    options.vramReserve = uint64_t(64) << 20;
    options.vramBudget = options.vramReserve + 3 * largest;
    options.ramBudget = 3 * largest;
    return options;
}

}  // namespace

class TestCudaEncoders : public QObject {
    Q_OBJECT
    std::unique_ptr<CudaOps> ops_;
    CpuOps cpu_;

private slots:
    void initTestCase() {
        STRATA_REQUIRE_CUDA_DEVICE(info);
        auto ops = CudaOps::create(uint64_t(1) << 30);
        QVERIFY2(ops.ok(), qPrintable(ops.ok() ? QString() : cudatest::describe(ops.error())));
        ops_ = std::move(ops.value());
    }

    void opsAgreeWithTheCpu() {
        const int64_t rows = 33, cols = 200;
        const auto x = randomVector(size_t(rows * cols), 1);
        std::vector<uint16_t> w(static_cast<size_t>(cols)), b(static_cast<size_t>(cols)),
            positions(static_cast<size_t>(3 * cols));
        const auto wf = randomVector(w.size(), 2), bf = randomVector(b.size(), 3), pf = randomVector(positions.size(), 4);
        for (size_t i = 0; i < w.size(); ++i) {
            w[i] = floatToBf16(wf[i]);
            b[i] = floatToBf16(bf[i]);
        }
        for (size_t i = 0; i < positions.size(); ++i) positions[i] = floatToBf16(pf[i]);
        const WeightRef wRef{w.data(), DType::BF16, 1, cols}, bRef{b.data(), DType::BF16, 1, cols},
            pRef{positions.data(), DType::BF16, 3, cols};

        std::vector<float> want(x.size());
        cpu_.layerNorm(x.data(), rows, wRef, bRef, 1e-6f, want.data());
        cpu_.addWeightRows(want.data(), rows, pRef);
        cpu_.activate(want.data(), rows * cols, Activation::GeluErf);
        DeviceVector y(*ops_, x);
        ops_->layerNorm(y.get(), rows, wRef, bRef, 1e-6f, y.get());  // host weights are staged
        ops_->addWeightRows(y.get(), rows, pRef);
        ops_->activate(y.get(), rows * cols, Activation::GeluErf);
        const std::vector<float> got = y.read();
        QVERIFY2(ops_->takeError().ok(), "a CUDA op failed");
        const float diff = maxAbsDiff(got, want);
        qInfo("layerNorm + addWeightRows + GELU(erf): max |diff| %.3g", double(diff));
        QVERIFY(diff < 1e-5f);

        // Attention over 300 positions in which every query sees every key (SigLIP's head width).
        const int64_t n = 300, heads = 4, d = 72;
        const auto q = randomVector(size_t(n * heads * d), 5), k = randomVector(size_t(n * heads * d), 6),
                   v = randomVector(size_t(n * heads * d), 7);
        std::vector<float> wantAttn(q.size());
        cpu_.bidirectionalAttention(q.data(), k.data(), v.data(), n, heads, d, wantAttn.data());
        DeviceVector dq(*ops_, q), dk(*ops_, k), dv(*ops_, v), out(*ops_, std::vector<float>(q.size()));
        ops_->bidirectionalAttention(dq.get(), dk.get(), dv.get(), n, heads, d, out.get());
        const float attnDiff = maxAbsDiff(out.read(), wantAttn);
        QVERIFY2(ops_->takeError().ok(), "CUDA attention failed");
        qInfo("bidirectional attention, %lld positions: max |diff| %.3g", (long long)n, double(attnDiff));
        QVERIFY(attnDiff < 1e-5f);
    }

    void siglip_data() {
        QTest::addColumn<bool>("streamed");
        QTest::newRow("in VRAM") << false;
        QTest::newRow("streamed") << true;
    }

    void siglip() {
        QFETCH(bool, streamed);
        const fs::path dir = kModels / "gemma3_vision";
        auto encoder = SiglipVisionEncoder::load(*ops_, dir);
        QVERIFY2(encoder.ok(), encoder.ok() ? "" : encoder.error().message.c_str());
        EncoderTower& tower = (*encoder)->tower();
        if (streamed) tower.setResidency(streamingBudget(tower));
        const std::vector<float> pixels = readF32(dir / "pixels.f32");
        auto encoded = (*encoder)->encode(pixels.data());
        QVERIFY2(encoded.ok(), encoded.ok() ? "" : encoded.error().message.c_str());
        const ResidencyPlan& plan = tower.lastPlan();
        if (streamed) {
            QVERIFY(plan.unitsIn(Residency::Ram) + plan.unitsIn(Residency::Disk) > 0);
            QVERIFY(tower.lastStats().bytesToDevice > 0);
        } else {
            QCOMPARE(plan.unitsIn(Residency::Vram), int(plan.units.size()));
        }
        const float diff = maxAbsDiff(*encoded, readF32(dir / "encoder.f32"));
        qInfo("SigLIP on CUDA (%d VRAM / %d RAM / %d disk units): max |diff| %.3g", plan.unitsIn(Residency::Vram),
              plan.unitsIn(Residency::Ram), plan.unitsIn(Residency::Disk), double(diff));
        QVERIFY(diff < 1e-4f);
    }

    void voxtralAudio_data() { siglip_data(); }

    void voxtralAudio() {
        QFETCH(bool, streamed);
        const fs::path dir = kModels / "voxtral_audio";
        auto encoder = VoxtralAudioEncoder::load(*ops_, dir);
        QVERIFY2(encoder.ok(), encoder.ok() ? "" : encoder.error().message.c_str());
        EncoderTower& tower = (*encoder)->tower();
        if (streamed) tower.setResidency(streamingBudget(tower));
        auto features = readAudioFeatures(strata::testsupport::testDataDir() / "audio" / "tones_45s_16k_mono.flac");
        QVERIFY2(features.ok(), features.ok() ? "" : features.error().message.c_str());
        auto encoded = (*encoder)->encode(features->chunk(0), features->chunks);
        QVERIFY2(encoded.ok(), encoded.ok() ? "" : encoded.error().message.c_str());
        // The fixture keeps every 7th value of the encoder's output.
        const std::vector<float> want = readF32(dir / "encoder.f32");
        std::vector<float> strided;
        for (size_t i = 0; i < encoded->size(); i += 7) strided.push_back((*encoded)[i]);
        QCOMPARE(strided.size(), want.size());
        const float diff = maxAbsDiff(strided, want);
        qInfo("Voxtral audio tower on CUDA, %lld chunks: max |diff| %.3g", (long long)features->chunks, double(diff));
        QVERIFY(diff < 1e-4f);
    }
};

QTEST_GUILESS_MAIN(TestCudaEncoders)
#include "test_cuda_encoders.moc"
