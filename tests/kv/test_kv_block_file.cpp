// KV block files: round trips, reopening, and every way the disk can let a saved session down: a
// damaged byte, an append cut short by a killed process, a full disk, a file of another geometry.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/Crc32c.h"
#include "core/FaultInjection.h"
#include "kv/KvBlockFile.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

const KvBlockGeometry kGeometry{3, 24, 16, DType::F32};

struct Block {
    int64_t firstPos = 0;
    std::vector<float> k, v;
    int64_t tokens() const { return int64_t(k.size()) / kGeometry.rowFloats; }
};

Block randomBlock(int64_t firstPos, int64_t tokens, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist;
    Block b;
    b.firstPos = firstPos;
    b.k.resize(size_t(tokens * kGeometry.rowFloats));
    b.v.resize(b.k.size());
    for (float& x : b.k) x = dist(rng);
    for (float& x : b.v) x = dist(rng);
    return b;
}

// n blocks of positions 0.., the last one partial when lastTokens < blockTokens.
std::vector<Block> makeBlocks(int n, int64_t lastTokens = kGeometry.blockTokens, uint32_t seed = 1) {
    std::vector<Block> blocks;
    for (int i = 0; i < n; ++i)
        blocks.push_back(randomBlock(i * kGeometry.blockTokens, i + 1 == n ? lastTokens : kGeometry.blockTokens,
                                     seed * 1000 + uint32_t(i)));
    return blocks;
}

Status appendBlock(KvBlockFile& f, int64_t index, const Block& b) {
    return f.append(index, b.firstPos, b.tokens(), b.k.data(), b.v.data());
}

bool blockMatches(const KvBlockFile& f, int64_t index, const Block& b) {
    if (f.record(index).tokens != b.tokens() || f.record(index).firstPos != b.firstPos) return false;
    std::vector<float> k(b.k.size()), v(b.v.size());
    return f.readBlock(index, k.data(), v.data()).ok() && k == b.k && v == b.v;
}

void flipByte(const fs::path& path, uint64_t offset) {
    std::fstream s(path, std::ios::in | std::ios::out | std::ios::binary);
    s.seekg(std::streamoff(offset));
    char c = 0;
    s.read(&c, 1);
    c = char(c ^ 0x20);
    s.seekp(std::streamoff(offset));
    s.write(&c, 1);
}

void writeBytes(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

template <typename T>
std::string messageOf(const Result<T>& r) { return r.ok() ? std::string("(ok)") : r.error().message; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

class TestKvBlockFile : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    fs::path file(const char* name) const { return fs::path(dir_.path().toStdString()) / name; }

    // Writes blocks to a fresh file and closes it.
    void writeFile(const fs::path& path, const std::vector<Block>& blocks) {
        auto f = KvBlockFile::create(path, kGeometry);
        QVERIFY2(f.ok(), messageOf(f).c_str());
        for (size_t i = 0; i < blocks.size(); ++i) QVERIFY(appendBlock(*f, int64_t(i), blocks[i]).ok());
        QVERIFY(f->sync().ok());
    }

private slots:
    void cleanup() { faults::clear(); }

    void crcKnownVectors() {
        QCOMPARE(crc32c("123456789", 9), 0xE3069283u);
        QCOMPARE(crc32cSoftware("123456789", 9), 0xE3069283u);
        QCOMPARE(crc32c("", 0), 0u);
        const std::string zeros(32, '\0');
        QCOMPARE(crc32cSoftware(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4
        // Extending a checksum piece by piece gives the checksum of the whole.
        QCOMPARE(crc32c("6789", 4, crc32c("12345", 5)), 0xE3069283u);
    }

    void crcHardwareMatchesSoftware() {
        if (!crc32cHardwareAvailable()) QSKIP("this CPU has no SSE4.2 crc32 instruction");
        std::mt19937 rng(7);
        std::vector<unsigned char> buf(5000);
        for (auto& c : buf) c = static_cast<unsigned char>(rng());
        for (size_t len : {1u, 3u, 7u, 9u, 15u, 63u, 255u, 1021u, 4093u}) {
            for (size_t start : {0u, 1u, 3u}) {
                const uint32_t seed = rng();
                QCOMPARE(crc32cHardware(buf.data() + start, len, seed), crc32cSoftware(buf.data() + start, len, seed));
            }
        }
    }

    void roundTripAndReopen() {
        const fs::path path = file("roundtrip.kv");
        const std::vector<Block> blocks = makeBlocks(40, 5);
        {
            auto f = KvBlockFile::create(path, kGeometry);
            QVERIFY2(f.ok(), messageOf(f).c_str());
            for (size_t i = 0; i < blocks.size(); ++i) QVERIFY(appendBlock(*f, int64_t(i), blocks[i]).ok());
            QVERIFY(f->sync().ok());
            QCOMPARE(f->blockCount(), 40);
            for (size_t i = 0; i < blocks.size(); ++i) QVERIFY(blockMatches(*f, int64_t(i), blocks[i]));
            QCOMPARE(f->endOffset(), uint64_t(fs::file_size(path)));
        }
        auto f = KvBlockFile::open(path, kGeometry);
        QVERIFY2(f.ok(), messageOf(f).c_str());
        QCOMPARE(f->blockCount(), 40);
        QCOMPARE(f->droppedTailBytes(), 0u);
        uint64_t expectedOffset = KvBlockFile::kFileHeaderBytes;
        for (size_t i = 0; i < blocks.size(); ++i) {
            QCOMPARE(f->recordOffset(int64_t(i)), expectedOffset);
            expectedOffset += f->recordBytes(int64_t(i));
            QVERIFY2(blockMatches(*f, int64_t(i), blocks[i]), ("block " + std::to_string(i)).c_str());
        }
        QCOMPARE(f->record(39).tokens, 5);
        // A reopened file takes further blocks.
        const Block extra = randomBlock(40 * 16, 16, 99);
        QVERIFY(appendBlock(*f, 40, extra).ok());
        auto again = KvBlockFile::open(path, kGeometry);
        QVERIFY(again.ok());
        QCOMPARE(again->blockCount(), 41);
        QVERIFY(blockMatches(*again, 40, extra));
    }

    void newestBlockCanBeReplaced() {
        const fs::path path = file("replace.kv");
        std::vector<Block> blocks = makeBlocks(3, 4);
        writeFile(path, blocks);
        auto f = KvBlockFile::open(path, kGeometry);
        QVERIFY(f.ok());
        const Block grown = randomBlock(32, 11, 5);
        QVERIFY(appendBlock(*f, 2, grown).ok());
        QCOMPARE(f->blockCount(), 3);
        QVERIFY(!appendBlock(*f, 1, grown).ok());  // only the newest block can be replaced
        QVERIFY(!appendBlock(*f, 4, grown).ok());  // blocks come in order
        auto again = KvBlockFile::open(path, kGeometry);
        QVERIFY(again.ok());
        QCOMPARE(again->blockCount(), 3);
        QVERIFY(blockMatches(*again, 1, blocks[1]));
        QVERIFY(blockMatches(*again, 2, grown));
    }

    void otherGeometryOrNewerVersionIsRejected() {
        const fs::path path = file("geometry.kv");
        writeFile(path, makeBlocks(2));
        for (KvBlockGeometry other : {KvBlockGeometry{4, 24, 16}, KvBlockGeometry{3, 32, 16}, KvBlockGeometry{3, 24, 8}}) {
            auto f = KvBlockFile::open(path, other);
            QVERIFY(!f.ok());
            QCOMPARE(f.error().kind, ErrorKind::BadInput);
            QVERIFY2(contains(f.error().message, path.string()) && contains(f.error().message, "expected layer"),
                     f.error().message.c_str());
        }
        const fs::path newer = file("newer.kv");
        fs::copy_file(path, newer);
        {
            std::fstream s(newer, std::ios::in | std::ios::out | std::ios::binary);
            const uint32_t version = KvBlockFile::kFormatVersion + 1;
            s.seekp(8);
            s.write(reinterpret_cast<const char*>(&version), 4);
        }
        auto f = KvBlockFile::open(newer, kGeometry);
        QVERIFY(!f.ok());
        QVERIFY2(contains(f.error().message, "newer Strata") && contains(f.error().message, newer.string()),
                 f.error().message.c_str());
    }

    void damagedMiddleBlockIsReportedNotUsed() {
        const fs::path path = file("flipped.kv");
        const std::vector<Block> blocks = makeBlocks(10);
        writeFile(path, blocks);
        uint64_t offset = 0;
        {
            auto f = KvBlockFile::open(path, kGeometry);
            QVERIFY(f.ok());
            offset = f->recordOffset(5) + KvBlockFile::kRecordHeaderBytes + 700;
        }
        flipByte(path, offset);
        auto f = KvBlockFile::open(path, kGeometry);
        QVERIFY2(f.ok(), messageOf(f).c_str());
        QCOMPARE(f->blockCount(), 10);
        std::vector<float> k(blocks[5].k.size(), 1.0f), v(blocks[5].v.size(), 1.0f);
        const Status s = f->readBlock(5, k.data(), v.data());
        QVERIFY(!s.ok());
        QCOMPARE(s.error().kind, ErrorKind::BadInput);
        const std::string& m = s.error().message;
        QVERIFY2(contains(m, "block 5") && contains(m, "positions 80..95") && contains(m, "layer 3") &&
                     contains(m, path.string()),
                 m.c_str());
        QVERIFY(std::isnan(k[0]) && std::isnan(v.back()));
        for (int64_t i = 0; i < 10; ++i)
            if (i != 5) QVERIFY(blockMatches(*f, i, blocks[size_t(i)]));
    }

    void damagedRecordHeaderInTheMiddleFailsOpen() {
        const fs::path path = file("header-flipped.kv");
        writeFile(path, makeBlocks(10));
        uint64_t offset = 0;
        {
            auto f = KvBlockFile::open(path, kGeometry);
            QVERIFY(f.ok());
            offset = f->recordOffset(4) + 4;  // the block index
        }
        flipByte(path, offset);
        auto f = KvBlockFile::open(path, kGeometry);
        QVERIFY(!f.ok());
        QVERIFY2(contains(f.error().message, "damaged record header") && contains(f.error().message, "after block 3"),
                 f.error().message.c_str());
    }

    void damagedFileHeaderFailsOpen() {
        const fs::path path = file("fileheader.kv");
        writeFile(path, makeBlocks(2));
        flipByte(path, 20);  // row floats
        auto f = KvBlockFile::open(path, kGeometry);
        QVERIFY(!f.ok());
        QCOMPARE(f.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(f.error().message, "header") && contains(f.error().message, "damaged") &&
                     contains(f.error().message, path.string()),
                 f.error().message.c_str());
    }

    void tornTailIsCutOff() {
        const fs::path path = file("torn-source.kv");
        const std::vector<Block> blocks = makeBlocks(6);
        writeFile(path, blocks);
        const uint64_t size = fs::file_size(path);
        uint64_t lastOffset = 0;
        {
            auto f = KvBlockFile::open(path, kGeometry);
            QVERIFY(f.ok());
            lastOffset = f->recordOffset(5);
        }
        for (uint64_t cut : {lastOffset + 1, lastOffset + 31, lastOffset + 32, lastOffset + 500, size - 1}) {
            const fs::path torn = file("torn.kv");
            fs::remove(torn);
            fs::copy_file(path, torn);
            fs::resize_file(torn, cut);
            auto f = KvBlockFile::open(torn, kGeometry);
            QVERIFY2(f.ok(), messageOf(f).c_str());
            QCOMPARE(f->blockCount(), 5);
            QCOMPARE(f->droppedTailBytes(), cut - lastOffset);
            QCOMPARE(uint64_t(fs::file_size(torn)), lastOffset);  // appends start clean
            for (int64_t i = 0; i < 5; ++i) QVERIFY(blockMatches(*f, i, blocks[size_t(i)]));
            QVERIFY(appendBlock(*f, 5, blocks[5]).ok());
            auto again = KvBlockFile::open(torn, kGeometry);
            QVERIFY(again.ok());
            QCOMPARE(again->blockCount(), 6);
            QVERIFY(blockMatches(*again, 5, blocks[5]));
        }
        // A last record whose checksum fails is what an append cut short by a crash looks like.
        const fs::path torn = file("torn-crc.kv");
        fs::copy_file(path, torn);
        flipByte(torn, size - 3);
        auto f = KvBlockFile::open(torn, kGeometry);
        QVERIFY(f.ok());
        QCOMPARE(f->blockCount(), 5);
        QCOMPARE(f->droppedTailBytes(), size - lastOffset);
        // Zeros where the file system extended the file but the data never arrived.
        const fs::path zeros = file("torn-zeros.kv");
        fs::copy_file(path, zeros);
        fs::resize_file(zeros, size + 5 * (size - lastOffset));
        auto z = KvBlockFile::open(zeros, kGeometry);
        QVERIFY2(z.ok(), messageOf(z).c_str());
        QCOMPARE(z->blockCount(), 6);
    }

    void diskFullLeavesEarlierBlocksAndResumes() {
        const fs::path path = file("enospc.kv");
        const std::vector<Block> blocks = makeBlocks(4);
        auto f = KvBlockFile::create(path, kGeometry);
        QVERIFY(f.ok());
        QVERIFY(appendBlock(*f, 0, blocks[0]).ok());
        QVERIFY(appendBlock(*f, 1, blocks[1]).ok());
        const uint64_t before = fs::file_size(path);
        // Cut the third append inside its header, inside K and inside V.
        for (uint64_t allowed : {0u, 10u, 700u, 32u + 1536u + 100u}) {
            faults::failWritesAfter(allowed, ENOSPC);
            const Status s = appendBlock(*f, 2, blocks[2]);
            QVERIFY(!s.ok());
            QCOMPARE(s.error().kind, ErrorKind::DiskFull);
            QVERIFY2(contains(s.error().message, "no space left") && contains(s.error().message, "block 2") &&
                         contains(s.error().message, path.string()) && contains(s.error().message, "resume"),
                     s.error().message.c_str());
            QCOMPARE(uint64_t(fs::file_size(path)), before);
            QCOMPARE(f->endOffset(), before);
            QCOMPARE(f->blockCount(), 2);
            QVERIFY(blockMatches(*f, 0, blocks[0]) && blockMatches(*f, 1, blocks[1]));
        }
        faults::clear();
        QVERIFY(appendBlock(*f, 2, blocks[2]).ok());
        QVERIFY(appendBlock(*f, 3, blocks[3]).ok());
        QVERIFY(f->sync().ok());
        auto again = KvBlockFile::open(path, kGeometry);
        QVERIFY(again.ok());
        QCOMPARE(again->blockCount(), 4);
        QCOMPARE(again->droppedTailBytes(), 0u);
        for (int64_t i = 0; i < 4; ++i) QVERIFY(blockMatches(*again, i, blocks[size_t(i)]));
    }

    void otherWriteErrorsAreInternal() {
        const fs::path path = file("eio.kv");
        auto f = KvBlockFile::create(path, kGeometry);
        QVERIFY(f.ok());
        faults::failWritesAfter(40, EIO);
        const Block b = randomBlock(0, 16, 3);
        const Status s = appendBlock(*f, 0, b);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().kind, ErrorKind::Internal);
        QVERIFY2(contains(s.error().message, path.string()), s.error().message.c_str());
        QCOMPARE(uint64_t(fs::file_size(path)), KvBlockFile::kFileHeaderBytes);
    }

    void diskFullWhileCreating() {
        const fs::path path = file("create-enospc.kv");
        faults::failWritesAfter(20, ENOSPC);
        auto f = KvBlockFile::create(path, kGeometry);
        QVERIFY(!f.ok());
        QCOMPARE(f.error().kind, ErrorKind::DiskFull);
        QVERIFY(!fs::exists(path));
    }

    void createRefusesAnExistingFile() {
        const fs::path path = file("exists.kv");
        writeFile(path, makeBlocks(1));
        auto f = KvBlockFile::create(path, kGeometry);
        QVERIFY(!f.ok());
        QVERIFY2(contains(f.error().message, path.string()), f.error().message.c_str());
        QVERIFY(KvBlockFile::open(path, kGeometry).ok());
    }

    void emptyShortAndForeignFiles() {
        const fs::path empty = file("empty.kv");
        writeBytes(empty, "");
        auto e = KvBlockFile::open(empty, kGeometry);
        QVERIFY(!e.ok());
        QVERIFY2(contains(e.error().message, "empty") && contains(e.error().message, empty.string()),
                 e.error().message.c_str());

        const fs::path foreign = file("foreign.kv");
        writeBytes(foreign, std::string("GGUF") + std::string(200, 'x'));
        auto g = KvBlockFile::open(foreign, kGeometry);
        QVERIFY(!g.ok());
        QVERIFY2(contains(g.error().message, "not a Strata KV file"), g.error().message.c_str());

        const fs::path shortFile = file("short.kv");
        writeBytes(shortFile, "STRATAKV\x01");
        auto s = KvBlockFile::open(shortFile, kGeometry);
        QVERIFY(!s.ok());
        QVERIFY2(contains(s.error().message, "ends inside its header"), s.error().message.c_str());

        auto missing = KvBlockFile::open(file("missing.kv"), kGeometry);
        QVERIFY(!missing.ok());
        QVERIFY(contains(missing.error().message, "missing.kv"));
    }

    void truncateToBlocks() {
        const fs::path path = file("truncate.kv");
        const std::vector<Block> blocks = makeBlocks(10);
        writeFile(path, blocks);
        auto f = KvBlockFile::open(path, kGeometry);
        QVERIFY(f.ok());
        const uint64_t keepEnd = f->recordOffset(4);
        QVERIFY(f->truncateToBlocks(4).ok());
        QCOMPARE(f->blockCount(), 4);
        QCOMPARE(uint64_t(fs::file_size(path)), keepEnd);
        QVERIFY(!f->truncateToBlocks(5).ok());
        const Block rewritten = randomBlock(64, 7, 42);
        QVERIFY(appendBlock(*f, 4, rewritten).ok());
        QVERIFY(f->sync().ok());
        auto again = KvBlockFile::open(path, kGeometry);
        QVERIFY(again.ok());
        QCOMPARE(again->blockCount(), 5);
        for (int64_t i = 0; i < 4; ++i) QVERIFY(blockMatches(*again, i, blocks[size_t(i)]));
        QVERIFY(blockMatches(*again, 4, rewritten));
        QVERIFY(again->truncateToBlocks(0).ok());
        QCOMPARE(uint64_t(fs::file_size(path)), KvBlockFile::kFileHeaderBytes);
        auto emptied = KvBlockFile::open(path, kGeometry);
        QVERIFY(emptied.ok());
        QCOMPARE(emptied->blockCount(), 0);
    }

    // Run in a child process by faultFromEnvironment(): the variable is read once at start-up.
    void environmentChild() {
        const QByteArray dir = qgetenv("STRATA_KV_TEST_CHILD_DIR");
        if (dir.isEmpty()) QSKIP("runs only as the child of faultFromEnvironment");
        const fs::path path = fs::path(dir.toStdString()) / "child.kv";
        auto f = KvBlockFile::create(path, kGeometry);  // 64 bytes
        QVERIFY(f.ok());
        const Status s = appendBlock(*f, 0, randomBlock(0, 16, 1));
        QVERIFY(!s.ok());
        QCOMPARE(s.error().kind, ErrorKind::DiskFull);
    }

    void faultFromEnvironment() {
        QProcess child;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("STRATA_FAULT_ENOSPC_AFTER_BYTES", "100");
        env.insert("STRATA_KV_TEST_CHILD_DIR", dir_.path());
        child.setProcessEnvironment(env);
        child.start(QCoreApplication::applicationFilePath(), {"environmentChild"});
        QVERIFY(child.waitForFinished(60000));
        QVERIFY2(child.exitCode() == 0, child.readAll().constData());
        QCOMPARE(uint64_t(fs::file_size(file("child.kv"))), KvBlockFile::kFileHeaderBytes);
    }
};

QTEST_GUILESS_MAIN(TestKvBlockFile)
#include "test_kv_block_file.moc"
