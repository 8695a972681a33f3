// GGML block dequantisation against gguf-py's gguf.quants.dequantize (fixtures written by
// tests/tools/make_gguf_quant_fixtures.py). Every supported type is compared bit for bit: gguf-py
// computes all of them in fp32 (F16 by numpy's exact widening cast), and each element takes at most
// one rounding step there and here, so no tolerance is needed for any type.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <vector>

#include "format/GgmlQuants.h"
#include "../support/TestPaths.h"

using namespace strata;

namespace {

const QString kQuantDir = strata::testsupport::testDataPath("gguf/quants/");

QByteArray readAll(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

// Index of the first element whose bits differ, or -1; also the largest absolute difference.
int64_t firstMismatch(const float* got, const float* want, int64_t n, double* maxDiff) {
    int64_t first = -1;
    *maxDiff = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (std::memcmp(&got[i], &want[i], 4) == 0) continue;
        if (first < 0) first = i;
        const double d = std::isfinite(want[i]) ? std::fabs(double(got[i]) - double(want[i])) : INFINITY;
        if (d > *maxDiff) *maxDiff = d;
    }
    return first;
}

}  // namespace

class TestGgufDequant : public QObject {
    Q_OBJECT

private slots:
    void matchesGgufPy_data();
    void matchesGgufPy();
    void largeUnalignedInputMatches_data() { matchesGgufPy_data(); }
    void largeUnalignedInputMatches();
    void traitsOfKnownAndUnknownIds();
    void namesOfAllIds();
};

void TestGgufDequant::matchesGgufPy_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<uint>("id");
    QTest::addColumn<qint64>("elements");
    QTest::addColumn<qint64>("blockElements");
    QTest::addColumn<qint64>("blockBytes");
    const QByteArray json = readAll(kQuantDir + "manifest.json");
    if (json.isEmpty()) QSKIP("tests/data/gguf/quants/manifest.json is missing: run tests/tools/make_gguf_quant_fixtures.py");
    const QJsonArray types = QJsonDocument::fromJson(json).object().value("types").toArray();
    QVERIFY(types.size() == 13);
    for (const QJsonValue& v : types) {
        const QJsonObject t = v.toObject();
        const QString name = t.value("name").toString();
        QTest::newRow(qPrintable(name)) << name << uint(t.value("id").toInt())
                                        << qint64(t.value("elements").toInteger())
                                        << qint64(t.value("block_elements").toInteger())
                                        << qint64(t.value("block_bytes").toInteger());
    }
}

void TestGgufDequant::matchesGgufPy() {
    QFETCH(QString, name);
    QFETCH(uint, id);
    QFETCH(qint64, elements);
    QFETCH(qint64, blockElements);
    QFETCH(qint64, blockBytes);

    const GgmlTypeTraits* traits = ggmlTypeTraits(id);
    QVERIFY(traits != nullptr);
    QCOMPARE(QString::fromLatin1(traits->name), name);
    QCOMPARE(QString::fromStdString(ggmlTypeName(id)), name);
    QCOMPARE(traits->blockElements, blockElements);
    QCOMPARE(qint64(traits->blockBytes), blockBytes);

    const QByteArray blocks = readAll(kQuantDir + name + ".blocks");
    const QByteArray expected = readAll(kQuantDir + name + ".f32");
    QCOMPARE(qint64(blocks.size()), elements / blockElements * blockBytes);
    QCOMPARE(qint64(expected.size()), elements * 4);

    std::vector<float> want(static_cast<size_t>(elements));
    std::memcpy(want.data(), expected.constData(), size_t(expected.size()));
    std::vector<float> got(size_t(elements), -12345.0f);
    dequantizeGgml(GgmlType(id), blocks.constData(), elements, got.data());

    double maxDiff = 0;
    const int64_t bad = firstMismatch(got.data(), want.data(), elements, &maxDiff);
    qInfo("%s: max |difference| to gguf-py %g", qPrintable(name), maxDiff);
    if (bad >= 0) {
        uint32_t gotBits, wantBits;  // the bits show a differing sign of zero, too
        std::memcpy(&gotBits, &got[size_t(bad)], 4);
        std::memcpy(&wantBits, &want[size_t(bad)], 4);
        QFAIL(qPrintable(QString("%1 element %2 (block %3): got %4 (0x%5), gguf-py %6 (0x%7)")
                             .arg(name).arg(bad).arg(bad / blockElements)
                             .arg(double(got[size_t(bad)]), 0, 'g', 9).arg(gotBits, 8, 16, QChar('0'))
                             .arg(double(want[size_t(bad)]), 0, 'g', 9).arg(wantBits, 8, 16, QChar('0'))));
    }
}

// Enough copies of the fixture to take the multi-threaded path, read from an odd address, as a
// reader handing over a pointer into a mapped file may do.
void TestGgufDequant::largeUnalignedInputMatches() {
    QFETCH(QString, name);
    QFETCH(uint, id);
    QFETCH(qint64, elements);
    QFETCH(qint64, blockElements);
    QFETCH(qint64, blockBytes);
    Q_UNUSED(blockElements);
    Q_UNUSED(blockBytes);

    const QByteArray blocks = readAll(kQuantDir + name + ".blocks");
    const QByteArray expected = readAll(kQuantDir + name + ".f32");
    QVERIFY(!blocks.isEmpty() && !expected.isEmpty());
    constexpr int copies = 300;  // 300 x 2048 elements: past the 2^18 threshold for OpenMP
    std::vector<char> src(size_t(blocks.size()) * copies + 1);
    std::vector<float> want(size_t(elements) * copies);
    for (int c = 0; c < copies; ++c) {
        std::memcpy(src.data() + 1 + size_t(c) * size_t(blocks.size()), blocks.constData(), size_t(blocks.size()));
        std::memcpy(want.data() + size_t(c) * size_t(elements), expected.constData(), size_t(expected.size()));
    }
    const int64_t total = elements * copies;
    std::vector<float> got(size_t(total), -12345.0f);
    dequantizeGgml(GgmlType(id), src.data() + 1, total, got.data());
    double maxDiff = 0;
    QCOMPARE(firstMismatch(got.data(), want.data(), total, &maxDiff), int64_t(-1));
}

void TestGgufDequant::traitsOfKnownAndUnknownIds() {
    const uint32_t supported[] = {0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 30, 39};
    for (uint32_t id : supported) QVERIFY2(ggmlTypeTraits(id) != nullptr, qPrintable(QString::number(id)));

    const GgmlTypeTraits* q8 = ggmlTypeTraits(8);
    QCOMPARE(q8->blockElements, int64_t(32));
    QCOMPARE(q8->blockBytes, uint64_t(34));
    const GgmlTypeTraits* q4k = ggmlTypeTraits(12);
    QCOMPARE(q4k->blockElements, int64_t(256));
    QCOMPARE(q4k->blockBytes, uint64_t(144));
    const GgmlTypeTraits* bf16 = ggmlTypeTraits(30);
    QCOMPARE(bf16->blockElements, int64_t(1));
    QCOMPARE(bf16->blockBytes, uint64_t(2));
    // MXFP4 (gpt-oss's experts; its values are checked against gguf-py in test_mxfp4)
    const GgmlTypeTraits* mxfp4 = ggmlTypeTraits(39);
    QCOMPARE(mxfp4->blockElements, int64_t(32));
    QCOMPARE(mxfp4->blockBytes, uint64_t(17));

    // Known to ggml but not dequantised by Strata: Q4_2/Q4_3 (retired), Q8_1, Q8_K, the IQ
    // family, integer types, F64, TQ1_0/TQ2_0, NVFP4, Q1_0; then ids ggml never assigned.
    const uint32_t unsupported[] = {4, 5, 9, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                                    31, 34, 35, 40, 41, 99, 1000, 0xffffffffu};
    for (uint32_t id : unsupported) QVERIFY2(ggmlTypeTraits(id) == nullptr, qPrintable(QString::number(id)));

    // A type without traits leaves the output alone instead of writing garbage.
    float out[4] = {1, 2, 3, 4};
    const uint8_t junk[16] = {};
    dequantizeGgml(GgmlType(16), junk, 4, out);
    QCOMPARE(out[3], 4.0f);
}

void TestGgufDequant::namesOfAllIds() {
    QCOMPARE(ggmlTypeName(0), std::string("F32"));
    QCOMPARE(ggmlTypeName(8), std::string("Q8_0"));
    QCOMPARE(ggmlTypeName(14), std::string("Q6_K"));
    QCOMPARE(ggmlTypeName(16), std::string("IQ2_XXS"));
    QCOMPARE(ggmlTypeName(23), std::string("IQ4_XS"));
    QCOMPARE(ggmlTypeName(28), std::string("F64"));
    QCOMPARE(ggmlTypeName(30), std::string("BF16"));
    QCOMPARE(ggmlTypeName(35), std::string("TQ2_0"));
    QCOMPARE(ggmlTypeName(39), std::string("MXFP4"));
    QCOMPARE(ggmlTypeName(99), std::string("type 99"));
    QCOMPARE(ggmlTypeName(4294967295u), std::string("type 4294967295"));
}

QTEST_GUILESS_MAIN(TestGgufDequant)
#include "test_gguf_dequant.moc"
