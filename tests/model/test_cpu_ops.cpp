// The CPU backend's ops against naive double-precision formulas, including the paths the model
// fixtures do not reach (attention soft-capping, interleaved rope, f32 weights).
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../support/RandomValues.h"
#include "backend/cpu/CpuOps.h"
#include "format/Mxfp4.h"
#include "arch/MixtureOfExperts.h"

using namespace strata;
using strata::testsupport::randomVector;

class TestCpuOps : public QObject {
    Q_OBJECT
private slots:
    // Every float16 value widens to the float it denotes (checked against the definition:
    // sign, 5-bit exponent biased by 15, 10-bit fraction, subnormals below 2^-14), and narrows back
    // to itself.
    void halfConversionsExact() {
        for (uint32_t h = 0; h < 65536; ++h) {
            const int exp = int(h >> 10) & 31, frac = int(h & 1023);
            const double magnitude = exp == 0 ? std::ldexp(frac, -24) : std::ldexp(1024 + frac, exp - 25);
            const float got = f16ToFloat(uint16_t(h));
            if (exp == 31) {
                QVERIFY(frac ? std::isnan(got) : std::isinf(got));
            } else {
                QCOMPARE(double(got), (h & 0x8000) ? -magnitude : magnitude);
                QCOMPARE(std::signbit(got), bool(h & 0x8000));
            }
            if (exp != 31 || frac == 0) QCOMPARE(floatToF16(got), uint16_t(h));
        }
    }
    void matmul_data() {
        QTest::addColumn<int>("dtype");
        QTest::addColumn<int>("rows");
        for (DType t : {DType::F32, DType::BF16, DType::F16})
            for (int n : {1, 3, 17})
                QTest::newRow((std::string(dtypeName(t)) + "/" + std::to_string(n)).c_str()) << int(t) << n;
    }
    void matmul() {
        QFETCH(int, dtype);
        QFETCH(int, rows);
        const DType t = DType(dtype);
        const int64_t out = 70, in = 45;
        const auto wf = randomVector(size_t(out * in), 1);
        std::vector<uint16_t> w16(wf.size());
        std::vector<float> wExact(wf.size());
        for (size_t i = 0; i < wf.size(); ++i) {
            if (t == DType::BF16) {
                w16[i] = floatToBf16(wf[i]);
                wExact[i] = bf16ToFloat(w16[i]);
            } else if (t == DType::F16) {
                // Values of the form k/256 in (-4, 4) are exact in f16: build them directly.
                const int k = int(std::lround(wf[i] * 256.0f));
                const float v = float(std::clamp(k, -1023, 1023)) / 256.0f;
                wExact[i] = v;
                // Encode by the bit layout: sign, exponent, mantissa.
                const float a = std::fabs(v);
                uint16_t bits = 0;
                if (a != 0.0f) {
                    int e = int(std::floor(std::log2(a)));
                    const float mant = a / std::ldexp(1.0f, e) - 1.0f;
                    bits = uint16_t(((e + 15) << 10) | int(std::lround(mant * 1024.0f)));
                }
                w16[i] = uint16_t(bits | (v < 0 ? 0x8000 : 0));
                QCOMPARE(f16ToFloat(w16[i]), v);
            } else {
                wExact[i] = wf[i];
            }
        }
        WeightRef w{t == DType::F32 ? static_cast<const void*>(wf.data()) : w16.data(), t, out, in};
        const auto x = randomVector(size_t(rows * in), 2);
        std::vector<float> y(size_t(rows * out));
        CpuOps ops;
        ops.matmul(x.data(), rows, w, y.data());
        for (int r = 0; r < rows; ++r)
            for (int64_t o = 0; o < out; ++o) {
                double ref = 0;
                for (int64_t i = 0; i < in; ++i) ref += double(x[size_t(r * in + i)]) * wExact[size_t(o * in + i)];
                QVERIFY(std::fabs(y[size_t(r * out + o)] - ref) < 1e-4 * (1 + std::fabs(ref)));
            }
    }

    // Packed Q8_0 weights (a float16 scale and 32 int8 values per block) through the fused product
    // (1 and 3 tokens) and the widened sgemm (17 tokens), against the values the blocks denote.
    void matmulQ8_0_data() {
        QTest::addColumn<int>("rows");
        for (int n : {1, 3, 17}) QTest::newRow(std::to_string(n).c_str()) << n;
    }
    void matmulQ8_0() {
        QFETCH(int, rows);
        const int64_t out = 70, in = 96, blocks = in / kQ8_0BlockElements;
        const auto scales = randomVector(size_t(out * blocks), 3), quants = randomVector(size_t(out * in), 4);
        std::vector<uint8_t> packed(size_t(out * blocks) * kQ8_0BlockBytes);
        std::vector<float> wExact(size_t(out * in));
        for (int64_t b = 0; b < out * blocks; ++b) {
            uint8_t* block = packed.data() + size_t(b) * kQ8_0BlockBytes;
            const uint16_t d = floatToF16(0.01f + 0.02f * std::fabs(scales[size_t(b)]));
            std::memcpy(block, &d, 2);
            for (int64_t j = 0; j < kQ8_0BlockElements; ++j) {
                const int8_t q = int8_t(std::clamp<long>(std::lround(quants[size_t(b * 32 + j)] * 60), -128, 127));
                block[2 + j] = uint8_t(q);
                wExact[size_t(b * 32 + j)] = f16ToFloat(d) * float(q);
            }
        }
        QCOMPARE(dtypeBytes(DType::Q8_0, out * in), uint64_t(packed.size()));
        std::vector<float> widened(wExact.size());
        widenToFloat(packed.data(), DType::Q8_0, widened.size(), widened.data());
        QVERIFY(widened == wExact);
        const auto x = randomVector(size_t(rows * in), 5);
        std::vector<float> y(size_t(rows * out));
        CpuOps ops;
        QVERIFY(ops.multipliesPacked(DType::Q8_0));
        ops.matmul(x.data(), rows, WeightRef{packed.data(), DType::Q8_0, out, in}, y.data());
        for (int r = 0; r < rows; ++r)
            for (int64_t o = 0; o < out; ++o) {
                double ref = 0;
                for (int64_t i = 0; i < in; ++i) ref += double(x[size_t(r * in + i)]) * wExact[size_t(o * in + i)];
                QVERIFY(std::fabs(y[size_t(r * out + o)] - ref) < 1e-4 * (1 + std::fabs(ref)));
            }
    }

    // MXFP4 rows dequantised inside the product, and input-major bf16 weights (gpt-oss's
    // experts), against double-precision sums over the exact values.
    void matmulMxfp4AndInputMajor_data() { matmulQ8_0_data(); }
    void matmulMxfp4AndInputMajor() {
        QFETCH(int, rows);
        const int64_t out = 70, in = 96, groups = in / kMxfp4BlockElements;
        const auto noise = randomVector(size_t(out * in), 6);
        std::vector<uint8_t> blocks(size_t(out * in / 2)), scales(size_t(out * groups));
        for (size_t i = 0; i < blocks.size(); ++i) blocks[i] = uint8_t(std::lround(std::fabs(noise[i]) * 1e4)) & 0xff;
        for (size_t g = 0; g < scales.size(); ++g) scales[g] = uint8_t(120 + g % 9);  // 2^-7 .. 2^1
        std::vector<float> wExact(size_t(out * in));
        dequantizeMxfp4Groups(blocks.data(), scales.data(), out * groups, wExact.data());
        QCOMPARE(dtypeBytes(DType::MXFP4, out * in), uint64_t(blocks.size()));
        // The same matrix input-major in bf16 (its values are exact in bf16).
        std::vector<uint16_t> transposed(size_t(out * in));
        for (int64_t o = 0; o < out; ++o)
            for (int64_t i = 0; i < in; ++i) transposed[size_t(i * out + o)] = floatToBf16(wExact[size_t(o * in + i)]);
        const auto x = randomVector(size_t(rows * in), 7);
        CpuOps ops;
        QVERIFY(ops.multipliesPacked(DType::MXFP4));
        WeightRef packed{blocks.data(), DType::MXFP4, out, in};
        packed.scales = scales.data();
        WeightRef inputMajor{transposed.data(), DType::BF16, out, in};
        inputMajor.inputMajor = true;
        for (const WeightRef& w : {packed, inputMajor}) {
            std::vector<float> y(size_t(rows * out));
            ops.matmul(x.data(), rows, w, y.data());
            for (int r = 0; r < rows; ++r)
                for (int64_t o = 0; o < out; ++o) {
                    double ref = 0;
                    for (int64_t i = 0; i < in; ++i) ref += double(x[size_t(r * in + i)]) * wExact[size_t(o * in + i)];
                    QVERIFY2(std::fabs(y[size_t(r * out + o)] - ref) < 1e-4 * (1 + std::fabs(ref)),
                             w.inputMajor ? "input-major" : "mxfp4");
                }
        }
    }

    // gpt-oss's blocks: the clamped SwiGLU on interleaved gate/up pairs (values past the limit on
    // both sides), attention sinks as an extra softmax column, and the weighted gather/scatter.
    void mixtureOfExpertsBlocks() {
        CpuOps ops;
        const int64_t n = 3, width = 5;
        const auto gateUp = randomVector(size_t(n * 2 * width), 8);
        std::vector<float> scaled(gateUp);
        for (float& v : scaled) v *= 12.0f;  // many beyond +-7
        std::vector<float> out(size_t(n * width));
        ops.clampedSwiGlu(scaled.data(), n, width, 1.702f, 7.0f, out.data());
        for (int64_t i = 0; i < n * width; ++i) {
            const double g = std::min(double(scaled[size_t(2 * i)]), 7.0);
            const double u = std::clamp(double(scaled[size_t(2 * i + 1)]), -7.0, 7.0);
            const double ref = (u + 1) * g / (1 + std::exp(-1.702 * g));
            QVERIFY(std::fabs(out[size_t(i)] - ref) < 1e-5 * (1 + std::fabs(ref)));
        }

        // Sinks: two query heads over three keys; one head's sink dominates its scores. A third
        // query row sees no key at all and stays zero.
        const int64_t heads = 2, hd = 4, keys = 3;
        const auto q = randomVector(size_t(2 * heads * hd), 9), k = randomVector(size_t(keys * heads * hd), 10),
                   v = randomVector(size_t(keys * heads * hd), 11);
        const std::vector<uint16_t> sinks{floatToBf16(0.5f), floatToBf16(30.0f)};
        std::vector<float> acc(size_t(2 * heads * hd)), max(size_t(2 * heads)), sum(size_t(2 * heads)),
            got(size_t(2 * heads * hd));
        const AttentionState state{acc.data(), max.data(), sum.data()};
        AttentionShape shape;
        shape.numHeads = shape.numKvHeads = heads;
        shape.headDim = hd;
        shape.scale = 0.5f;
        const std::vector<int32_t> positions{2, 2};
        const KvSegment seg{k.data(), v.data(), 0, keys};
        ops.attentionBegin(state, 2 * heads, hd);
        ops.attentionAccumulate(q.data(), 1, positions.data(), {&seg, 1}, shape, state);  // row 0 only
        ops.attentionSinks(state, 2, heads, hd, WeightRef{sinks.data(), DType::BF16, 1, heads});
        ops.attentionFinish(state, 2 * heads, hd, got.data());
        for (int64_t h = 0; h < heads; ++h) {
            const double sink = bf16ToFloat(sinks[size_t(h)]);
            std::vector<double> scores;
            double top = sink;
            for (int64_t j = 0; j < keys; ++j) {
                double dot = 0;
                for (int64_t d = 0; d < hd; ++d) dot += double(q[size_t(h * hd + d)]) * k[size_t((j * heads + h) * hd + d)];
                scores.push_back(dot * 0.5);
                top = std::max(top, dot * 0.5);
            }
            double denom = std::exp(sink - top);
            for (double s : scores) denom += std::exp(s - top);
            for (int64_t d = 0; d < hd; ++d) {
                double ref = 0;
                for (int64_t j = 0; j < keys; ++j)
                    ref += std::exp(scores[size_t(j)] - top) / denom * v[size_t((j * heads + h) * hd + d)];
                QVERIFY(std::fabs(got[size_t(h * hd + d)] - ref) < 1e-5);
                QCOMPARE(got[size_t((heads + h) * hd + d)], 0.0f);  // the row that saw no key
            }
        }

        // Gather rows 2, 0, 2 and add them back weighted, in order.
        const std::vector<float> src{1, 2, 3, 4, 5, 6};  // three rows of two
        const std::vector<int32_t> picked{2, 0, 2};
        std::vector<float> gathered(6);
        ops.gatherRows(src.data(), 2, picked, gathered.data());
        QCOMPARE(gathered, (std::vector<float>{5, 6, 1, 2, 5, 6}));
        std::vector<float> y(6, 1.0f);
        const std::vector<float> weights{0.5f, 2.0f, 0.25f};
        ops.addScaledRows(y.data(), 2, gathered.data(), picked, weights);
        QCOMPARE(y, (std::vector<float>{3, 5, 1, 1, 1 + 2.5f + 1.25f, 1 + 3.0f + 1.5f}));
    }

    // The router's top-k softmax: experts in ascending order, each with its rows and weights.
    void routing() {
        const std::vector<float> logits{0.0f, 3.0f, 1.0f, 2.0f,   // row 0 picks 1 and 3
                                        5.0f, -1.0f, 5.0f, 5.0f};  // row 1: a three-way tie, the lower two win
        const auto routes = routeTopK(logits.data(), 2, 4, 2);
        QCOMPARE(routes.size(), size_t(4));
        for (int e = 0; e < 4; ++e) QCOMPARE(routes[size_t(e)].expert, e);
        QCOMPARE(routes[0].rows, std::vector<int32_t>{1});
        QCOMPARE(routes[1].rows, std::vector<int32_t>{0});
        QCOMPARE(routes[2].rows, std::vector<int32_t>{1});
        QCOMPARE(routes[3].rows, std::vector<int32_t>{0});
        const float w = 1.0f / (1.0f + std::exp(-1.0f));
        QVERIFY(std::fabs(routes[1].weights[0] - w) < 1e-6f);
        QVERIFY(std::fabs(routes[3].weights[0] - (1 - w)) < 1e-6f);
        QVERIFY(std::fabs(routes[0].weights[0] - 0.5f) < 1e-6f);
        QVERIFY(std::fabs(routes[2].weights[0] - 0.5f) < 1e-6f);
    }

    void attention_data() {
        QTest::addColumn<int>("window");
        QTest::addColumn<float>("softcap");
        QTest::newRow("causal") << 0 << 0.0f;
        QTest::newRow("window5") << 5 << 0.0f;
        QTest::newRow("softcap") << 0 << 2.0f;
        QTest::newRow("window70+softcap") << 70 << 3.0f;
    }
    void attention() {
        QFETCH(int, window);
        QFETCH(float, softcap);
        // 150 positions so the online softmax runs over several key blocks.
        const int64_t n = 150, heads = 6, kvHeads = 2, hd = 8;
        AttentionShape shape{heads, kvHeads, hd, 0.7f, softcap, window};
        const auto q = randomVector(size_t(n * heads * hd), 3, 2.0f);
        auto k = randomVector(size_t(n * kvHeads * hd), 4, 2.0f);
        auto v = randomVector(size_t(n * kvHeads * hd), 5);
        std::vector<int32_t> pos(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = int32_t(i);
        // The cache in uneven blocks (64, 37, 49), merged in two calls and in one.
        const int64_t row = kvHeads * hd;
        const std::vector<KvSegment> segments{{k.data(), v.data(), 0, 64},
                                              {k.data() + 64 * row, v.data() + 64 * row, 64, 37},
                                              {k.data() + 101 * row, v.data() + 101 * row, 101, 49}};
        const int64_t rows = n * heads;
        std::vector<float> acc(static_cast<size_t>(rows * hd)), mx(static_cast<size_t>(rows)), sum(static_cast<size_t>(rows));
        const AttentionState state{acc.data(), mx.data(), sum.data()};
        std::vector<float> out(q.size()), once(q.size());
        CpuOps ops;
        ops.attentionBegin(state, rows, hd);
        ops.attentionAccumulate(q.data(), n, pos.data(), std::span(segments).first(1), shape, state);
        ops.attentionAccumulate(q.data(), n, pos.data(), std::span(segments).subspan(1), shape, state);
        ops.attentionFinish(state, rows, hd, out.data());
        ops.attentionBegin(state, rows, hd);
        ops.attentionAccumulate(q.data(), n, pos.data(), segments, shape, state);
        ops.attentionFinish(state, rows, hd, once.data());
        QVERIFY(std::memcmp(out.data(), once.data(), out.size() * sizeof(float)) == 0);
        double worst = 0;
        for (int64_t t = 0; t < n; ++t)
            for (int64_t h = 0; h < heads; ++h) {
                const int64_t g = h / (heads / kvHeads);
                std::vector<double> s;
                std::vector<int64_t> keys;
                for (int64_t j = 0; j <= t; ++j) {
                    if (window > 0 && j <= t - window) continue;
                    double d = 0;
                    for (int64_t e = 0; e < hd; ++e) d += double(q[size_t((t * heads + h) * hd + e)]) * k[size_t((j * kvHeads + g) * hd + e)];
                    d *= shape.scale;
                    if (softcap > 0) d = softcap * std::tanh(d / softcap);
                    s.push_back(d);
                    keys.push_back(j);
                }
                const double m = *std::max_element(s.begin(), s.end());
                double z = 0;
                for (double& x : s) z += (x = std::exp(x - m));
                for (int64_t e = 0; e < hd; ++e) {
                    double ref = 0;
                    for (size_t i = 0; i < keys.size(); ++i) ref += s[i] / z * v[size_t((keys[i] * kvHeads + g) * hd + e)];
                    worst = std::max(worst, std::fabs(ref - out[size_t((t * heads + h) * hd + e)]));
                }
            }
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
    }

    void ropeStyles() {
        // Both styles rotate the same pairs by the same angles: an interleaved vector equals the
        // NeoX result after permuting (2i, 2i+1) <-> (i, i + d/2).
        const int64_t hd = 8, half = hd / 2;
        const auto x = randomVector(size_t(hd), 6);
        std::vector<float> neox = x, inter(static_cast<size_t>(hd));
        for (int64_t i = 0; i < half; ++i) {
            inter[size_t(2 * i)] = x[size_t(i)];
            inter[size_t(2 * i + 1)] = x[size_t(i + half)];
        }
        const float invFreq[] = {1.0f, 0.3f, 0.1f, 0.01f};
        const int32_t pos[] = {37};
        CpuOps ops;
        ops.rope(neox.data(), 1, 1, hd, pos, invFreq, RopeStyle::NeoX);
        ops.rope(inter.data(), 1, 1, hd, pos, invFreq, RopeStyle::Interleaved);
        for (int64_t i = 0; i < half; ++i) {
            QCOMPARE(inter[size_t(2 * i)], neox[size_t(i)]);
            QCOMPARE(inter[size_t(2 * i + 1)], neox[size_t(i + half)]);
            const double a = 37.0 * invFreq[i];
            QVERIFY(std::fabs(neox[size_t(i)] - (x[size_t(i)] * std::cos(a) - x[size_t(i + half)] * std::sin(a))) < 1e-5);
        }
    }

    void normsAndActivations() {
        const auto x = randomVector(64, 7);
        const auto wv = randomVector(32, 8);
        WeightRef w{wv.data(), DType::F32, 1, 32};
        std::vector<float> plain(64), one(64);
        CpuOps ops;
        ops.rmsNorm(x.data(), 2, w, 1e-6f, false, plain.data());
        ops.rmsNorm(x.data(), 2, w, 1e-6f, true, one.data());
        for (int r = 0; r < 2; ++r) {
            double ms = 0;
            for (int i = 0; i < 32; ++i) ms += double(x[size_t(r * 32 + i)]) * x[size_t(r * 32 + i)];
            const double inv = 1.0 / std::sqrt(ms / 32 + 1e-6);
            for (int i = 0; i < 32; ++i) {
                QVERIFY(std::fabs(plain[size_t(r * 32 + i)] - x[size_t(r * 32 + i)] * inv * wv[size_t(i)]) < 1e-5);
                QVERIFY(std::fabs(one[size_t(r * 32 + i)] - x[size_t(r * 32 + i)] * inv * (1 + wv[size_t(i)])) < 1e-5);
            }
        }
        const float gate[] = {-2.0f, 0.5f, 3.0f}, up[] = {1.0f, 2.0f, -1.0f};
        float silu[3], gelu[3];
        ops.gatedActivation(gate, up, 3, Activation::SiLU, silu);
        ops.gatedActivation(gate, up, 3, Activation::GeluTanh, gelu);
        for (int i = 0; i < 3; ++i) {
            const double g = gate[i];
            QVERIFY(std::fabs(silu[i] - g / (1 + std::exp(-g)) * up[i]) < 1e-6);
            const double gt = 0.5 * g * (1 + std::tanh(std::sqrt(2 / M_PI) * (g + 0.044715 * g * g * g)));
            QVERIFY(std::fabs(gelu[i] - gt * up[i]) < 1e-6);
        }
        float erf[3];
        ops.gatedActivation(gate, up, 3, Activation::GeluErf, erf);
        for (int i = 0; i < 3; ++i) {
            const double g = gate[i];
            QVERIFY(std::fabs(erf[i] - 0.5 * g * (1 + std::erf(g / std::sqrt(2.0))) * up[i]) < 1e-6);
        }
        float capped[] = {100.0f, -0.5f};
        ops.softcap(capped, 2, 10.0f);
        QVERIFY(std::fabs(capped[0] - 10 * std::tanh(10.0)) < 1e-5);
        QVERIFY(std::fabs(capped[1] - 10 * std::tanh(-0.05)) < 1e-6);
    }

    // The encoders' ops: LayerNorm with a bias, bf16 weights added over rows, activations in place.
    void encoderOps() {
        CpuOps ops;
        const auto x = randomVector(3 * 40, 11);
        const auto wf = randomVector(40, 12), bf = randomVector(40, 13);
        std::vector<uint16_t> w16(40), b16(40);
        for (size_t i = 0; i < 40; ++i) {
            w16[i] = floatToBf16(wf[i]);
            b16[i] = floatToBf16(bf[i]);
        }
        std::vector<float> y(x.size());
        ops.layerNorm(x.data(), 3, WeightRef{w16.data(), DType::BF16, 1, 40}, WeightRef{b16.data(), DType::BF16, 1, 40},
                      1e-5f, y.data());
        for (int r = 0; r < 3; ++r) {
            double mean = 0, var = 0;
            for (int i = 0; i < 40; ++i) mean += x[size_t(r * 40 + i)];
            mean /= 40;
            for (int i = 0; i < 40; ++i) var += (x[size_t(r * 40 + i)] - mean) * (x[size_t(r * 40 + i)] - mean);
            const double inv = 1 / std::sqrt(var / 40 + 1e-5);
            for (int i = 0; i < 40; ++i) {
                const double want = (x[size_t(r * 40 + i)] - mean) * inv * bf16ToFloat(w16[size_t(i)]) +
                                    bf16ToFloat(b16[size_t(i)]);
                QVERIFY(std::fabs(y[size_t(r * 40 + i)] - want) < 1e-5);
            }
        }

        // Two rows of positions added over five rows: row r gets position r % 2.
        std::vector<float> sum(5 * 40, 1.0f);
        std::vector<uint16_t> positions(2 * 40);
        for (size_t i = 0; i < positions.size(); ++i) positions[i] = floatToBf16(float(i) * 0.25f);
        ops.addWeightRows(sum.data(), 5, WeightRef{positions.data(), DType::BF16, 2, 40});
        for (int r = 0; r < 5; ++r)
            for (int c = 0; c < 40; ++c) QCOMPARE(sum[size_t(r * 40 + c)], 1.0f + float((r % 2) * 40 + c) * 0.25f);

        std::vector<float> act = {-2.0f, 0.5f, 3.0f};
        ops.activate(act.data(), 3, Activation::GeluErf);
        for (int i = 0; i < 3; ++i) {
            const double g = std::vector<double>{-2.0, 0.5, 3.0}[size_t(i)];
            QVERIFY(std::fabs(act[size_t(i)] - 0.5 * g * (1 + std::erf(g / std::sqrt(2.0)))) < 1e-6);
        }
    }

    // The CPU's bidirectional attention (two sgemm products per head) against the default every
    // other backend uses (the three cached-attention steps with every key visible), and against a
    // naive softmax for one row.
    void bidirectionalAttention() {
        CpuOps ops;
        const int64_t n = 37, heads = 3, d = 24, h = heads * d;
        const auto q = randomVector(size_t(n * h), 21), k = randomVector(size_t(n * h), 22),
                   v = randomVector(size_t(n * h), 23);
        std::vector<float> fast(size_t(n * h)), steps(size_t(n * h));
        ops.bidirectionalAttention(q.data(), k.data(), v.data(), n, heads, d, fast.data());
        ops.Ops::bidirectionalAttention(q.data(), k.data(), v.data(), n, heads, d, steps.data());
        float diff = 0;
        for (size_t i = 0; i < fast.size(); ++i) diff = std::max(diff, std::fabs(fast[i] - steps[i]));
        QVERIFY2(diff < 1e-5f, qPrintable(QString::number(double(diff))));

        // Query 0 of head 1 sees the last key as well as the first.
        const int64_t t = 0, head = 1;
        std::vector<double> p(static_cast<size_t>(n));
        double mx = -1e300, total = 0;
        for (int64_t j = 0; j < n; ++j) {
            double dot = 0;
            for (int64_t e = 0; e < d; ++e) dot += double(q[size_t(t * h + head * d + e)]) * k[size_t(j * h + head * d + e)];
            p[size_t(j)] = dot / std::sqrt(double(d));
            mx = std::max(mx, p[size_t(j)]);
        }
        for (double& e : p) total += (e = std::exp(e - mx));
        for (int64_t e = 0; e < d; ++e) {
            double want = 0;
            for (int64_t j = 0; j < n; ++j) want += p[size_t(j)] / total * v[size_t(j * h + head * d + e)];
            QVERIFY(std::fabs(fast[size_t(t * h + head * d + e)] - want) < 1e-5);
        }
    }
};

QTEST_GUILESS_MAIN(TestCpuOps)
#include "test_cpu_ops.moc"
