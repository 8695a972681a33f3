// MXFP4 dequantisation against the references (fixtures written by
// tests/tools/make_mxfp4_fixtures.py): transformers' convert_moe_packed_tensors for gpt-oss's
// Hugging Face layout and gguf-py for GGUF's, bit for bit, on groups that put every nibble with
// every scale byte (the subnormal 2^-127 at 0, the overflow at 255) and on random groups.
#include <QtTest>

#include <cstring>
#include <filesystem>
#include <vector>

#include "../support/JsonFixtures.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "format/GgmlQuants.h"
#include "format/Mxfp4.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = strata::testsupport::testDataDir() / "mxfp4";

std::vector<uint8_t> readBytes(const fs::path& p) {
    const std::string s = strata::testsupport::readText(p);
    return {s.begin(), s.end()};
}

// Element by element, comparing bits (so -0 against +0 and NaN payloads count).
void compareBits(const std::vector<float>& got, const std::vector<float>& want) {
    QCOMPARE(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &want[i], 4) != 0) {
            uint32_t g = 0, w = 0;
            std::memcpy(&g, &got[i], 4);
            std::memcpy(&w, &want[i], 4);
            QFAIL(qPrintable(QString("element %1 (group %2): got %3 (0x%4), want %5 (0x%6)")
                                 .arg(i)
                                 .arg(i / 32)
                                 .arg(double(got[i]), 0, 'g', 9)
                                 .arg(g, 8, 16, QChar('0'))
                                 .arg(double(want[i]), 0, 'g', 9)
                                 .arg(w, 8, 16, QChar('0'))));
        }
}

}  // namespace

class TestMxfp4 : public QObject {
    Q_OBJECT

private slots:
    void huggingFaceLayoutMatchesTransformers() {
        const auto blocks = readBytes(kDir / "hf_blocks.u8");
        const auto scales = readBytes(kDir / "hf_scales.u8");
        const std::vector<float> want = strata::testsupport::readF32(kDir / "hf_values.f32");
        QCOMPARE(blocks.size(), scales.size() * 16);
        QVERIFY(scales.size() >= 256);
        std::vector<float> got(scales.size() * 32);
        dequantizeMxfp4Groups(blocks.data(), scales.data(), int64_t(scales.size()), got.data());
        compareBits(got, want);
    }

    void ggufLayoutMatchesGgufPy() {
        const auto blocks = readBytes(kDir / "gguf_blocks.u8");
        const std::vector<float> want = strata::testsupport::readF32(kDir / "gguf_values.f32");
        QCOMPARE(blocks.size() % size_t(kMxfp4GgufBlockBytes), size_t(0));
        const int64_t count = int64_t(blocks.size() / kMxfp4GgufBlockBytes) * kMxfp4BlockElements;
        QCOMPARE(size_t(count), want.size());
        std::vector<float> got(static_cast<size_t>(count));
        dequantizeMxfp4Gguf(blocks.data(), count, got.data());
        compareBits(got, want);
    }

    // The GGUF reader's MXFP4 type is the same dequantisation.
    void ggmlDequantisationIsTheGgufLayout() {
        const auto blocks = readBytes(kDir / "gguf_blocks.u8");
        const std::vector<float> want = strata::testsupport::readF32(kDir / "gguf_values.f32");
        std::vector<float> got(want.size());
        dequantizeGgml(GgmlType::MXFP4, blocks.data(), int64_t(got.size()), got.data());
        compareBits(got, want);
    }

    // GGUF blocks regrouped into Hugging Face's blocks and scales (as gpt-oss GGUF experts are
    // read) hold the same numbers: the scale bytes unchanged, every element in its place, only the
    // sign of a zero (nibble 8) differing.
    void ggufBlocksRegroupIntoHuggingFaceLayout() {
        const auto gguf = readBytes(kDir / "gguf_blocks.u8");
        const auto hfScales = readBytes(kDir / "hf_scales.u8");
        const std::vector<float> want = strata::testsupport::readF32(kDir / "gguf_values.f32");
        const int64_t groups = int64_t(gguf.size()) / kMxfp4GgufBlockBytes;
        std::vector<uint8_t> blocks(static_cast<size_t>(groups) * 16), scales(static_cast<size_t>(groups));
        mxfp4GgufToHf(gguf.data(), groups, blocks.data(), scales.data());
        QCOMPARE(scales, hfScales);  // the fixture wrote the same scale bytes in both layouts
        std::vector<float> got(size_t(groups) * 32);
        dequantizeMxfp4Groups(blocks.data(), scales.data(), groups, got.data());
        int signedZeros = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            if (std::memcmp(&got[i], &want[i], 4) == 0) continue;
            QVERIFY2(got[i] == 0.0f && want[i] == 0.0f, qPrintable(QString("element %1").arg(i)));
            ++signedZeros;
        }
        QVERIFY(signedZeros > 0);  // every group of the edge part has a nibble 8
        // Either output alone gives the same bytes.
        std::vector<uint8_t> blocksOnly(blocks.size()), scalesOnly(scales.size());
        mxfp4GgufToHf(gguf.data(), groups, blocksOnly.data(), nullptr);
        mxfp4GgufToHf(gguf.data(), groups, nullptr, scalesOnly.data());
        QCOMPARE(blocksOnly, blocks);
        QCOMPARE(scalesOnly, scales);
    }

    void edgesAreCovered() {
        // The fixture's first 256 groups take every scale byte once.
        const auto scales = readBytes(kDir / "hf_scales.u8");
        for (int e = 0; e < 256; ++e) QCOMPARE(int(scales[size_t(e)]), e);
        const nlohmann::json ref = strata::testsupport::readJson(kDir / "reference.json");
        QCOMPARE(ref["edge_groups"].get<int>(), 256);
    }
};

QTEST_GUILESS_MAIN(TestMxfp4)
#include "test_mxfp4.moc"
