// UnitReader: a unit read as whole file extents (direct reads where the file system allows them)
// holds every tensor exactly as Checkpoint::read gives it, for safetensors folders, sharded
// folders and GGUF files (whose quantised tensors are converted on the side); a file cut short
// after opening is an error naming it.
#include <QtTest>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "../support/ParityFixture.h"
#include "format/Checkpoint.h"
#include "arch/ModelConfig.h"
#include "runtime/WeightLayout.h"
#include "runtime/UnitReader.h"
#include "arch/DecoderWeights.h"

using namespace strata;
using namespace strata::testsupport;
namespace fs = std::filesystem;

namespace {

struct AlignedBuffer {
    char* data;
    explicit AlignedBuffer(uint64_t bytes)
        : data(static_cast<char*>(std::aligned_alloc(UnitExtent::kAlignment, (bytes + 4095) / 4096 * 4096))) {}
    ~AlignedBuffer() { std::free(data); }
};

struct Opened {
    std::unique_ptr<Checkpoint> checkpoint;
    ModelConfig config;
    WeightLayout layout;
};

Opened open(const fs::path& path) {
    Opened o;
    auto checkpoint = Checkpoint::open(path);
    if (!checkpoint.ok()) qFatal("%s", checkpoint.error().message.c_str());
    o.checkpoint = std::move(checkpoint.value());
    auto config = loadModelConfig(*o.checkpoint);
    if (!config.ok()) qFatal("%s", config.error().message.c_str());
    o.config = config.value();
    if (!resolveTensorNames(o.config, *o.checkpoint).ok()) qFatal("tensor names");
    auto layout = buildWeightLayout(o.config, *o.checkpoint);
    if (!layout.ok()) qFatal("%s", layout.error().message.c_str());
    o.layout = std::move(layout.value());
    return o;
}

}  // namespace

class TestUnitReader : public QObject {
    Q_OBJECT
private slots:
    void unitsMatchTensorReads_data() {
        QTest::addColumn<QString>("fixture");
        for (const char* name : kParityFixtures) QTest::newRow(name) << QString(name);
    }
    void unitsMatchTensorReads() {
        QFETCH(QString, fixture);
        const Opened o = open(parityModelPath(fixture).toStdString());
        auto reader = UnitReader::open(*o.checkpoint, o.layout, 3);
        QVERIFY2(reader.ok(), reader.ok() ? "" : reader.error().message.c_str());
        int extents = 0;
        for (size_t u = 0; u < o.layout.units.size(); ++u) {
            const WeightUnit& unit = o.layout.units[u];
            for (const UnitExtent& e : unit.extents) {
                QCOMPARE(e.fileOffset % UnitExtent::kAlignment, uint64_t(0));
                QCOMPARE(e.bufferOffset % UnitExtent::kAlignment, uint64_t(0));
                QCOMPARE(e.bytes % UnitExtent::kAlignment, uint64_t(0));
                ++extents;
            }
            AlignedBuffer buffer(unit.bytes);
            const Status s = reader.value()->read(int(u), buffer.data);
            QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
            for (const UnitTensor& t : unit.tensors) {
                QVERIFY(t.bufferOffset + t.info->nbytes <= unit.bytes);
                std::vector<char> expected(t.info->nbytes);
                QVERIFY(o.checkpoint->read(*t.info, expected.data()).ok());
                QVERIFY2(std::memcmp(buffer.data + t.bufferOffset, expected.data(), expected.size()) == 0,
                         t.info->name.c_str());
            }
        }
        qInfo("%s: %zu units in %d extents, %s reads", qPrintable(fixture), o.layout.units.size(), extents,
              reader.value()->direct() ? "direct" : "buffered");
    }

    void fileCutShortIsAnError() {
        QTemporaryDir tmp;
        const fs::path copy = fs::path(tmp.path().toStdString()) / "model";
        fs::copy(parityModelPath("llama_tied").toStdString(), copy);
        const Opened o = open(copy);
        auto reader = UnitReader::open(*o.checkpoint, o.layout);
        QVERIFY(reader.ok());
        // Cut the file inside the last layer after it was opened.
        const UnitExtent& e = o.layout.units[o.layout.units.size() - 2].extents.front();
        fs::resize_file(o.checkpoint->files()[size_t(e.fileIndex)], e.fileOffset + e.dataBytes / 2);
        AlignedBuffer buffer(o.layout.units[o.layout.units.size() - 2].bytes);
        const Status s = reader.value()->read(int(o.layout.units.size()) - 2, buffer.data);
        QVERIFY(!s.ok());
        qInfo("%s", s.error().message.c_str());
        QVERIFY(s.error().message.find("truncated") != std::string::npos);
        QVERIFY(s.error().message.find("model.safetensors") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestUnitReader)
#include "test_unit_reader.moc"
