// Checkpoint: safetensors files and shard indexes, read by byte range, and every way a file
// can lie about its contents.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <thread>

#include "../support/SafetensorsWriter.h"
#include "format/Checkpoint.h"

using namespace strata;
using namespace strata::testsupport;
namespace fs = std::filesystem;

namespace {

std::vector<float> ramp(size_t n, float start, float step) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = start + step * float(i);
    return v;
}

std::vector<float> readAsFloat(const Checkpoint& ckpt, const std::string& name) {
    const TensorInfo* info = ckpt.find(name);
    if (!info) return {};
    std::vector<uint8_t> raw(info->nbytes);
    if (!ckpt.read(*info, raw.data()).ok()) return {};
    std::vector<float> out(size_t(info->numel()));
    widenToFloat(raw.data(), info->dtype, out.size(), out.data());
    return out;
}

std::string rawFile(const std::string& header, size_t dataBytes) {
    return safetensorsBytes(header, {TensorSpec{"pad", "U8", {}, std::vector<uint8_t>(dataBytes, 0x5a)}});
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    fs::path dir_;

    // Opens dir_ expecting failure; checks the kind and that the message names `mustName`.
    void expectBadInput(const std::string& mustName, const std::string& alsoNames = "") {
        auto r = Checkpoint::open(dir_);
        QVERIFY2(!r.ok(), "open should have failed");
        QCOMPARE(int(r.error().kind), int(ErrorKind::BadInput));
        const std::string& msg = r.error().message;
        QVERIFY2(msg.find(mustName) != std::string::npos, msg.c_str());
        if (!alsoNames.empty()) QVERIFY2(msg.find(alsoNames) != std::string::npos, msg.c_str());
    }

    void writeModelFile(const std::string& bytes) { QVERIFY(writeFile(dir_ / "model.safetensors", bytes)); }

private slots:
    void init() {
        QVERIFY(tmp_.isValid());
        dir_ = fs::path(tmp_.path().toStdString()) / QTest::currentTestFunction();
        fs::create_directories(dir_);
    }

    void singleFileRoundTripsEveryDtype() {
        const std::vector<float> exact = {0.0f, 1.0f, -2.5f, 0.15625f, 1024.0f, -0.0078125f};
        const std::vector<float> general = ramp(37, -3.3f, 0.173f);
        QVERIFY(writeSafetensors(dir_ / "model.safetensors",
                                 {tensorF32("a.f32", {2, 3}, exact), tensorBf16("b.bf16", {3, 2}, exact),
                                  tensorF16("c.f16", {6}, exact), tensorBf16("d.bf16", {37}, general),
                                  tensorF16("e.f16", {37}, general), tensorF32("f.f32", {37}, general)}));
        auto r = Checkpoint::open(dir_);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        const Checkpoint& ckpt = **r;
        QCOMPARE(ckpt.tensors().size(), size_t(6));
        QCOMPARE(ckpt.files().size(), size_t(1));
        QCOMPARE(ckpt.totalTensorBytes(), uint64_t(6 * 4 + 6 * 2 + 6 * 2 + 37 * 2 + 37 * 2 + 37 * 4));

        const TensorInfo* b = ckpt.find("b.bf16");
        QVERIFY(b);
        QCOMPARE(b->dtype, DType::BF16);
        QCOMPARE(b->shape, (std::vector<int64_t>{3, 2}));
        QCOMPARE(b->nbytes, uint64_t(12));
        QVERIFY(!ckpt.find("missing"));

        QCOMPARE(readAsFloat(ckpt, "a.f32"), exact);
        QCOMPARE(readAsFloat(ckpt, "b.bf16"), exact);
        QCOMPARE(readAsFloat(ckpt, "c.f16"), exact);
        QCOMPARE(readAsFloat(ckpt, "f.f32"), general);
        const std::vector<float> bf = readAsFloat(ckpt, "d.bf16");
        const std::vector<float> hf = readAsFloat(ckpt, "e.f16");
        QCOMPARE(bf.size(), general.size());
        QCOMPARE(hf.size(), general.size());
        for (size_t i = 0; i < general.size(); ++i) {
            QCOMPARE(bf[i], bf16ToFloat(floatToBf16(general[i])));
            QVERIFY(std::fabs(bf[i] - general[i]) <= std::fabs(general[i]) / 256);
            QVERIFY(std::fabs(hf[i] - general[i]) <= std::fabs(general[i]) / 2048 + 1e-7f);
        }
    }

    void readRangeAndConcurrentReads() {
        const std::vector<float> values = ramp(4096, 0.0f, 1.0f);
        QVERIFY(writeSafetensors(dir_ / "model.safetensors", {tensorF32("w", {64, 64}, values)}));
        auto r = Checkpoint::open(dir_);
        QVERIFY(r.ok());
        const Checkpoint& ckpt = **r;
        const TensorInfo* w = ckpt.find("w");
        float row[64];
        QVERIFY(ckpt.readRange(w->fileIndex, w->offset + 10 * 64 * 4, sizeof row, row).ok());
        QCOMPARE(row[0], 640.0f);
        QCOMPARE(row[63], 703.0f);

        std::vector<std::thread> threads;
        std::atomic<int> mismatches{0};
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                for (int i = 0; i < 50; ++i)
                    if (readAsFloat(ckpt, "w") != values) ++mismatches;
            });
        for (auto& t : threads) t.join();
        QCOMPARE(mismatches.load(), 0);
    }

    void zeroSizedTensorsAndMetadataAreAccepted() {
        std::vector<TensorSpec> ts = {tensorF32("empty", {0, 4}, {}), tensorF32("one", {1}, {7.0f})};
        QVERIFY(writeFile(dir_ / "model.safetensors",
                          safetensorsBytes(safetensorsHeader(ts, {{"format", "pt"}, {"note", "x"}}), ts)));
        auto r = Checkpoint::open(dir_);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE((*r)->tensors().size(), size_t(2));
        QCOMPARE((*r)->find("empty")->nbytes, uint64_t(0));
        QCOMPARE(readAsFloat(**r, "one"), std::vector<float>{7.0f});
    }

    void headerPaddedWithSpacesIsAccepted() {
        std::vector<TensorSpec> ts = {tensorF32("x", {2}, {1.0f, 2.0f})};
        writeModelFile(safetensorsBytes(safetensorsHeader(ts) + "       ", ts));
        auto r = Checkpoint::open(dir_);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(readAsFloat(**r, "x"), (std::vector<float>{1.0f, 2.0f}));
    }

    void shardedWithIndex() {
        QVERIFY(writeSafetensors(dir_ / "model-00001-of-00002.safetensors",
                                 {tensorBf16("model.embed_tokens.weight", {4, 2}, ramp(8, 1, 1)),
                                  tensorF32("unlisted", {1}, {9.0f})}));
        QVERIFY(writeSafetensors(dir_ / "model-00002-of-00002.safetensors",
                                 {tensorF16("model.norm.weight", {2}, {0.5f, 0.25f}),
                                  tensorF32("lm_head.weight", {4, 2}, ramp(8, -1, 0.5f))}));
        QVERIFY(writeSafetensorsIndex(dir_, {{"model.embed_tokens.weight", "model-00001-of-00002.safetensors"},
                                             {"model.norm.weight", "model-00002-of-00002.safetensors"},
                                             {"lm_head.weight", "model-00002-of-00002.safetensors"}}));
        auto r = Checkpoint::open(dir_);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        const Checkpoint& ckpt = **r;
        QCOMPARE(ckpt.files().size(), size_t(2));
        QCOMPARE(ckpt.tensors().size(), size_t(3));  // the index decides what belongs to the model
        QVERIFY(!ckpt.find("unlisted"));
        QVERIFY(ckpt.find("model.embed_tokens.weight")->fileIndex != ckpt.find("lm_head.weight")->fileIndex);
        QCOMPARE(readAsFloat(ckpt, "model.embed_tokens.weight"), ramp(8, 1, 1));
        QCOMPARE(readAsFloat(ckpt, "model.norm.weight"), (std::vector<float>{0.5f, 0.25f}));
        QCOMPARE(readAsFloat(ckpt, "lm_head.weight"), ramp(8, -1, 0.5f));
    }

    void numberedShardsWithoutIndex() {
        QVERIFY(writeSafetensors(dir_ / "model-00001-of-00002.safetensors", {tensorF32("a", {1}, {1.0f})}));
        QVERIFY(writeSafetensors(dir_ / "model-00002-of-00002.safetensors", {tensorF32("b", {1}, {2.0f})}));
        auto r = Checkpoint::open(dir_);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE((*r)->tensors().size(), size_t(2));
        QCOMPARE(readAsFloat(**r, "b"), std::vector<float>{2.0f});
    }

    void oneOddlyNamedFileIsAccepted() {
        QVERIFY(writeSafetensors(dir_ / "weights.safetensors", {tensorF32("a", {1}, {1.0f})}));
        auto r = Checkpoint::open(dir_);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    }

    // ---- bad input: every case fails with BadInput and names the file ----

    void severalUnrelatedFilesWithoutIndex() {
        QVERIFY(writeSafetensors(dir_ / "weights.safetensors", {tensorF32("a", {1}, {1.0f})}));
        QVERIFY(writeSafetensors(dir_ / "adapter.safetensors", {tensorF32("b", {1}, {1.0f})}));
        expectBadInput(dir_.string(), "adapter.safetensors");
    }

    void incompleteNumberedSetWithoutIndex() {
        QVERIFY(writeSafetensors(dir_ / "model-00001-of-00003.safetensors", {tensorF32("a", {1}, {1.0f})}));
        QVERIFY(writeSafetensors(dir_ / "model-00003-of-00003.safetensors", {tensorF32("b", {1}, {1.0f})}));
        expectBadInput(dir_.string(), "model.safetensors.index.json");
    }

    void duplicateTensorAcrossUnindexedShards() {
        QVERIFY(writeSafetensors(dir_ / "model-00001-of-00002.safetensors", {tensorF32("a", {1}, {1.0f})}));
        QVERIFY(writeSafetensors(dir_ / "model-00002-of-00002.safetensors", {tensorF32("a", {1}, {1.0f})}));
        expectBadInput("model-00002-of-00002.safetensors", "'a'");
    }

    void emptyFolder() { expectBadInput(dir_.string()); }

    void notAFolder() {
        dir_ /= "nonexistent";
        expectBadInput("nonexistent");
    }

    void truncatedData() {
        std::vector<TensorSpec> ts = {tensorF32("a", {4}, {1, 2, 3, 4}), tensorF32("b", {4}, {5, 6, 7, 8})};
        std::string bytes = safetensorsBytes(safetensorsHeader(ts), ts);
        bytes.resize(bytes.size() - 3);
        writeModelFile(bytes);
        expectBadInput("model.safetensors", "'b'");
    }

    void truncatedBeforeHeaderLength() {
        writeModelFile(std::string("\x10\x00\x00", 3));
        expectBadInput("model.safetensors", "truncated");
    }

    void truncatedHeader() {
        std::vector<TensorSpec> ts = {tensorF32("a", {4}, {1, 2, 3, 4})};
        std::string bytes = safetensorsBytes(safetensorsHeader(ts), ts);
        bytes.resize(20);
        writeModelFile(bytes);
        expectBadInput("model.safetensors", "truncated");
    }

    void absurdHeaderLength() {
        std::string bytes(8, '\xff');
        bytes += "{}";
        writeModelFile(bytes);
        expectBadInput("model.safetensors", "header length");
    }

    void headerLengthAboveLimit() {
        std::string bytes(8, '\0');
        bytes[3] = 0x10;  // 256 MiB claimed; the file is small, but the limit is checked first
        bytes += "{}";
        writeModelFile(bytes);
        expectBadInput("model.safetensors", "limit");
    }

    void nonJsonHeader() {
        writeModelFile(rawFile("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_off", 4));
        expectBadInput("model.safetensors", "JSON");
    }

    void headerNotAnObject() {
        writeModelFile(rawFile("[1, 2, 3]", 0));
        expectBadInput("model.safetensors", "object");
    }

    void offsetsBeyondFile() {
        writeModelFile(rawFile(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8));
        expectBadInput("model.safetensors", "'w'");
    }

    void offsetsOverlap() {
        writeModelFile(rawFile(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                               16));
        expectBadInput("model.safetensors", "overlap");
    }

    void offsetsReversed() {
        writeModelFile(rawFile(R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 16));
        expectBadInput("model.safetensors", "'a'");
    }

    void sizeMismatchWithShape() {
        writeModelFile(rawFile(R"({"a": {"dtype": "BF16", "shape": [3, 3], "data_offsets": [0, 16]}})", 16));
        expectBadInput("model.safetensors", "'a'");
    }

    void negativeShape() {
        writeModelFile(rawFile(R"({"a": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 16]}})", 16));
        expectBadInput("model.safetensors", "'a'");
    }

    void shapeProductOverflows() {
        writeModelFile(rawFile(
            R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 0]}})", 16));
        expectBadInput("model.safetensors", "overflow");
    }

    void hugeOffsets() {
        writeModelFile(rawFile(
            R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551612, 18446744073709551615]}})",
            16));
        expectBadInput("model.safetensors", "'a'");
    }

    void unsupportedDtype() {
        writeModelFile(rawFile(R"({"ids": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})", 16));
        expectBadInput("model.safetensors", "unsupported dtype I64 for tensor 'ids'");
    }

    void missingShard() {
        QVERIFY(writeSafetensors(dir_ / "model-00001-of-00003.safetensors", {tensorF32("a", {1}, {1.0f})}));
        QVERIFY(writeSafetensors(dir_ / "model-00003-of-00003.safetensors", {tensorF32("c", {1}, {1.0f})}));
        QVERIFY(writeSafetensorsIndex(dir_, {{"a", "model-00001-of-00003.safetensors"},
                                             {"b", "model-00002-of-00003.safetensors"},
                                             {"c", "model-00003-of-00003.safetensors"}}));
        expectBadInput("missing shard model-00002-of-00003.safetensors listed in", "model.safetensors.index.json");
    }

    void indexedTensorAbsentFromShard() {
        QVERIFY(writeSafetensors(dir_ / "model-00001-of-00001.safetensors", {tensorF32("a", {1}, {1.0f})}));
        QVERIFY(writeSafetensorsIndex(dir_, {{"a", "model-00001-of-00001.safetensors"},
                                             {"ghost", "model-00001-of-00001.safetensors"}}));
        expectBadInput("model-00001-of-00001.safetensors", "'ghost'");
    }

    void brokenIndexJson() {
        QVERIFY(writeFile(dir_ / "model.safetensors.index.json", "{\"weight_map\": {\"a\": "));
        expectBadInput("model.safetensors.index.json", "JSON");
    }

    void indexWithoutWeightMap() {
        QVERIFY(writeFile(dir_ / "model.safetensors.index.json", "{\"metadata\": {}}"));
        expectBadInput("model.safetensors.index.json", "weight_map");
    }

    void indexShardNameEscapesFolder() {
        QVERIFY(writeSafetensorsIndex(dir_, {{"a", "../elsewhere.safetensors"}}));
        expectBadInput("model.safetensors.index.json", "../elsewhere.safetensors");
    }

    void badShardIsReportedByName() {
        QVERIFY(writeFile(dir_ / "model-00001-of-00001.safetensors", "garbage!"));
        QVERIFY(writeSafetensorsIndex(dir_, {{"a", "model-00001-of-00001.safetensors"}}));
        expectBadInput("model-00001-of-00001.safetensors");
    }

    void fileTruncatedAfterOpen() {
        const std::vector<float> values = ramp(256, 0, 1);
        QVERIFY(writeSafetensors(dir_ / "model.safetensors", {tensorF32("w", {256}, values)}));
        auto r = Checkpoint::open(dir_);
        QVERIFY(r.ok());
        fs::resize_file(dir_ / "model.safetensors", 100);
        std::vector<float> dst(256);
        Status s = (*r)->read(*(*r)->find("w"), dst.data());
        QVERIFY(!s.ok());
        QCOMPARE(int(s.error().kind), int(ErrorKind::BadInput));
        QVERIFY2(s.error().message.find("model.safetensors") != std::string::npos, s.error().message.c_str());
        QVERIFY2(s.error().message.find("'w'") != std::string::npos, s.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
