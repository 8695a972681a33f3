// The paged KV cache driven through the model, on the CPU backend: blocks kept in RAM, spilled to
// host RAM or to the layer files, saved and reopened, damaged on disk, and shared by forks.
//
// The fixture model (tests/data/models/gemma3_text) is copied with a 64-token sliding window and a
// 131072-token context, so that with blocks of 256 tokens a window spans block borders and long
// prompts fill many blocks of the full-attention layer.
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/CpuOps.h"
#include "kv/KvBlockFile.h"
#include "kv/KvCache.h"
#include "model/TransformerModel.h"
#include "model/Generator.h"
#include "runtime/ResidencyPlan.h"
#include "../support/TestPaths.h"
#include "core/ByteSize.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kBlockTokens = 256;
// 32 blocks of the full-attention layer. Attention over a prompt costs its length squared: the
// three runs of 8192 tokens take about 90 s on two cores.
constexpr int64_t kLongPrompt = 8192;

std::vector<int32_t> randomIds(size_t count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> dist(1, 511);
    std::vector<int32_t> ids(count);
    for (int32_t& id : ids) id = dist(rng);
    return ids;
}

int32_t argmax(const std::vector<float>& logits) {
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// Empty when a and b are the same bits; else where and by how much they differ.
std::string bitDifference(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size());
    if (std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0) return {};
    size_t first = a.size(), count = 0;
    double maxAbs = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::memcmp(&a[i], &b[i], sizeof(float)) == 0) continue;
        if (first == a.size()) first = i;
        ++count;
        maxAbs = std::max(maxAbs, double(std::fabs(a[i] - b[i])));
    }
    return std::to_string(count) + " of " + std::to_string(a.size()) + " values differ, first at " +
           std::to_string(first) + " (" + std::to_string(a[first]) + " vs " + std::to_string(b[first]) +
           "), max |diff| " + std::to_string(maxAbs);
}

// Empty when every value of a is within rel * max(1, |b|) of b.
std::string relativeDifference(const std::vector<float>& a, const std::vector<float>& b, double rel) {
    if (a.size() != b.size()) return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        const double allowed = rel * std::max(1.0, double(std::fabs(b[i])));
        if (!(std::fabs(double(a[i]) - double(b[i])) <= allowed))
            return "value " + std::to_string(i) + ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
    }
    return {};
}

std::string ids(const std::vector<int32_t>& v) {
    std::string s;
    for (int32_t id : v) s += (s.empty() ? "" : " ") + std::to_string(id);
    return s;
}

std::string describeStats(const KvCacheStats& s) {
    return "resident " + std::to_string(s.residentBlocks) + ", host " + std::to_string(s.hostBlocks) + ", disk " +
           std::to_string(s.diskBlocks) + " blocks; " + std::to_string(s.residentBytes) + " resident bytes, " +
           std::to_string(s.diskBytesRead) + " read, " + std::to_string(s.diskBytesWritten) + " written";
}

void copyTree(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

}  // namespace

#define VERIFY_OK(expr)                                                              \
    do {                                                                             \
        const auto& verifyOk_ = (expr);                                              \
        QVERIFY2(verifyOk_.ok(), verifyOk_.ok() ? "" : verifyOk_.error().message.c_str()); \
    } while (0)

#define VERIFY_SAME_BITS(a, b, what)                                                                  \
    do {                                                                                              \
        const std::string diff_ = bitDifference(a, b);                                                \
        QVERIFY2(diff_.empty(), (std::string(what) + ": " + diff_).c_str());                          \
    } while (0)

class TestKvCache : public QObject {
    Q_OBJECT
private:
    CpuOps ops_;
    QTemporaryDir modelDir_;
    std::unique_ptr<TransformerModel> model_;
    int64_t fullLayer_ = -1;

    const ModelConfig& config() const { return model_->config(); }
    uint64_t blockBytes() const { return KvCache::blockBytes(config(), kBlockTokens); }
    // The smallest budget KvCache accepts: one block per layer and the staging blocks.
    uint64_t minimumBudget(int staging = KvCacheOptions{}.stagingBlocks) const {
        return uint64_t(config().numLayers + staging) * blockBytes();
    }

    // Runs ids through the model in pieces, flushing after each when asked; appends the logits of
    // every piece's last token to out.
    Status prefill(KvCache& kv, std::span<const int32_t> prompt, int64_t piece, std::vector<std::vector<float>>& out,
                   std::vector<KvFlushedBlock>* flushed = nullptr) {
        std::vector<float> logits;
        for (size_t done = 0; done < prompt.size(); done += size_t(piece)) {
            const size_t n = std::min(size_t(piece), prompt.size() - done);
            STRATA_TRY(model_->forward(prompt.subspan(done, n), kv, false, logits));
            out.push_back(logits);
            if (flushed) {
                auto written = kv.flush();
                STRATA_TRY(written);
                if (written->empty()) return internalError("flush() after a piece wrote nothing");
                flushed->insert(flushed->end(), written->begin(), written->end());
            }
        }
        return {};
    }

    // A prompt in pieces of 1024, then `steps` greedy decode steps: every logits vector seen.
    Status prefillAndDecode(KvCache& kv, const std::vector<int32_t>& prompt, int steps,
                            std::vector<std::vector<float>>& out) {
        STRATA_TRY(prefill(kv, prompt, 1024, out));
        std::vector<float> logits = out.back();
        for (int i = 0; i < steps; ++i) {
            const int32_t next[1] = {argmax(logits)};
            STRATA_TRY(model_->forward(next, kv, false, logits));
            out.push_back(logits);
        }
        return {};
    }

    // Each layer's attention output over every block of kv (and its parents) for a few fixed
    // queries: equal bits before and after mean the blocks were not changed.
    std::vector<float> probe(const KvCache& kv) {
        const ModelConfig& c = config();
        const std::vector<int32_t> positions = {0, int32_t(kv.length() / 2), int32_t(kv.length() - 1)};
        const int64_t n = int64_t(positions.size());
        const int64_t rows = n * c.numHeads;
        std::mt19937 rng(7);
        std::normal_distribution<float> dist;
        std::vector<float> q(size_t(rows * c.headDim));
        for (float& x : q) x = dist(rng);
        std::vector<float> acc(q.size()), out(q.size()), all;
        std::vector<float> maxima(static_cast<size_t>(rows)), sums(static_cast<size_t>(rows));
        for (int64_t layer = 0; layer < c.numLayers; ++layer) {
            const AttentionShape shape = attentionShapeFor(c, layer);
            const AttentionState state{acc.data(), maxima.data(), sums.data()};
            ops_.attentionBegin(state, rows, c.headDim);
            const Status st = kv.accumulateAll(layer, q.data(), n, positions.data(), shape, state);
            if (!st.ok()) {
                qWarning("probe of layer %lld: %s", static_cast<long long>(layer), st.error().message.c_str());
                return {};
            }
            ops_.attentionFinish(state, rows, c.headDim, out.data());
            all.insert(all.end(), out.begin(), out.end());
        }
        return all;
    }

    void checkFlushedFiles(const std::vector<KvFlushedBlock>& flushed, const fs::path& dir);

private slots:
    void initTestCase();
    void budgetTooSmallIsAClearError();
    // A sliding layer's partial block, saved, then grown and dropped out of the window before the
    // next flush: reopening inside that block must still see every position it needs.
    void reopenBeforeAGrownPartialBlock();
    void diskTierIsBitIdenticalToRam();
    void persistedCacheReopensAndContinues();
    void corruptedBlockIsReportedNeverUsed();
    void forksShareTheContext();
};

void TestKvCache::initTestCase() {
    QVERIFY(modelDir_.isValid());
    const QDir fixture(strata::testsupport::testDataPath("models/gemma3_text"));
    QVERIFY2(fixture.exists(), qPrintable("missing fixture " + fixture.path()));
    for (const QString& name : fixture.entryList(QDir::Files)) {
        if (name == "config.json") continue;
        QVERIFY2(QFile::copy(fixture.filePath(name), modelDir_.filePath(name)), qPrintable("cannot copy " + name));
    }
    QFile in(fixture.filePath("config.json"));
    QVERIFY(in.open(QIODevice::ReadOnly));
    QJsonObject json = QJsonDocument::fromJson(in.readAll()).object();
    QVERIFY(json.contains("sliding_window") && json.contains("max_position_embeddings"));
    json["sliding_window"] = 64;
    json["max_position_embeddings"] = 131072;
    QFile out(modelDir_.filePath("config.json"));
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(QJsonDocument(json).toJson());
    out.close();

    auto model = TransformerModel::load(modelDir_.path().toStdString(), ops_, ModelOptions{});
    VERIFY_OK(model);
    model_ = std::move(model.value());
    QCOMPARE(config().slidingWindow, int64_t(64));
    QCOMPARE(config().numLayers, int64_t(7));
    for (int64_t i = 0; i < config().numLayers; ++i)
        if (!config().isSlidingLayer(i)) fullLayer_ = i;
    QVERIFY2(fullLayer_ >= 0, "the fixture has no full-attention layer");
}

void TestKvCache::budgetTooSmallIsAClearError() {
    KvCacheOptions options;
    options.blockTokens = kBlockTokens;
    options.residentBytes = minimumBudget() - 1;
    auto cache = KvCache::create(ops_, config(), options);
    QVERIFY2(!cache.ok(), "a budget one byte below the minimum was accepted");
    QCOMPARE(int(cache.error().kind), int(ErrorKind::BadInput));
    const std::string& message = cache.error().message;
    QVERIFY2(message.find("minimum of " + formatBytes(minimumBudget())) != std::string::npos,
             ("the error does not name the minimum of " + formatBytes(minimumBudget()) + ": " + message).c_str());

    // The minimum depends on the staging blocks too.
    options.stagingBlocks = 1;
    options.residentBytes = minimumBudget(1) - blockBytes();
    cache = KvCache::create(ops_, config(), options);
    QVERIFY(!cache.ok());
    QVERIFY2(cache.error().message.find(formatBytes(minimumBudget(1))) != std::string::npos,
             cache.error().message.c_str());

    // And the minimum itself is enough.
    options.stagingBlocks = KvCacheOptions{}.stagingBlocks;
    options.residentBytes = minimumBudget();
    VERIFY_OK(KvCache::create(ops_, config(), options));
}

void TestKvCache::diskTierIsBitIdenticalToRam() {
    const std::vector<int32_t> prompt = randomIds(size_t(kLongPrompt), 1);
    constexpr int kSteps = 8;

    // A: every block in RAM.
    std::vector<std::vector<float>> a;
    {
        auto kv = KvCache::create(ops_, config(), KvCacheOptions{});
        VERIFY_OK(kv);
        VERIFY_OK(prefillAndDecode(*kv.value(), prompt, kSteps, a));
        QCOMPARE(kv.value()->stats().diskBlocks, int64_t(0));
    }

    // B: the smallest budget; the full-attention layer keeps only its newest block, the rest
    // goes to disk and comes back through the staging blocks.
    QTemporaryDir dirB;
    QVERIFY(dirB.isValid());
    std::vector<std::vector<float>> b;
    {
        KvCacheOptions options;
        options.blockTokens = kBlockTokens;
        options.residentBytes = minimumBudget();
        options.directory = dirB.filePath("kv").toStdString();
        auto kv = KvCache::create(ops_, config(), options);
        VERIFY_OK(kv);
        VERIFY_OK(prefillAndDecode(*kv.value(), prompt, kSteps, b));
        const KvCacheStats s = kv.value()->stats();
        QVERIFY2(s.diskBlocks > 0 && s.diskBytesRead > 0, describeStats(s).c_str());
        // All blocks of the full layer but the newest must be out of memory.
        QVERIFY2(s.diskBlocks >= kLongPrompt / kBlockTokens - 1, describeStats(s).c_str());
        QVERIFY2(s.residentBytes <= options.residentBytes,
                 (describeStats(s) + "; budget " + std::to_string(options.residentBytes)).c_str());
        QVERIFY2(fs::exists(options.directory / KvCache::layerFileName(fullLayer_)),
                 "the full-attention layer has no spill file");
    }

    // C: room for whole windows and three full-layer blocks, plus a host tier of six blocks:
    // blocks come from all three tiers.
    QTemporaryDir dirC;
    QVERIFY(dirC.isValid());
    std::vector<std::vector<float>> c;
    {
        KvCacheOptions options;
        options.blockTokens = kBlockTokens;
        const int64_t windowBlocks = (config().slidingWindow + kBlockTokens - 2) / kBlockTokens + 2;
        options.residentBytes =
            uint64_t((config().numLayers - 1) * windowBlocks + 3 + options.stagingBlocks) * blockBytes();
        options.hostBytes = 6 * blockBytes();
        options.directory = dirC.filePath("kv").toStdString();
        auto kv = KvCache::create(ops_, config(), options);
        VERIFY_OK(kv);
        VERIFY_OK(prefillAndDecode(*kv.value(), prompt, kSteps, c));
        const KvCacheStats s = kv.value()->stats();
        QVERIFY2(s.hostBlocks > 0 && s.diskBlocks > 0 && s.diskBytesRead > 0, describeStats(s).c_str());
        QVERIFY2(s.residentBytes <= options.residentBytes,
                 (describeStats(s) + "; budget " + std::to_string(options.residentBytes)).c_str());
    }

    QCOMPARE(b.size(), a.size());
    QCOMPARE(c.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
        const size_t pieces = size_t(kLongPrompt / 1024);
        const std::string when = i < pieces ? "after prefill piece " + std::to_string(i + 1)
                                            : "after decode step " + std::to_string(i + 1 - pieces);
        VERIFY_SAME_BITS(b[i], a[i], "disk tier vs RAM, logits " + when);
        VERIFY_SAME_BITS(c[i], a[i], "host tier vs RAM, logits " + when);
    }
}

void TestKvCache::checkFlushedFiles(const std::vector<KvFlushedBlock>& flushed, const fs::path& dir) {
    std::vector<bool> seen(size_t(config().numLayers), false);
    for (const KvFlushedBlock& f : flushed) {
        QVERIFY2(f.layer >= 0 && f.layer < config().numLayers, std::to_string(f.layer).c_str());
        QCOMPARE(f.fileName, KvCache::layerFileName(f.layer));
        QVERIFY2(f.record.tokens > 0 && f.record.tokens <= kBlockTokens, std::to_string(f.record.tokens).c_str());
        QVERIFY2(f.record.firstPos % kBlockTokens == 0, std::to_string(f.record.firstPos).c_str());
        QVERIFY2(fs::exists(dir / f.fileName), (dir / f.fileName).string().c_str());
        seen[size_t(f.layer)] = true;
    }
    for (int64_t i = 0; i < config().numLayers; ++i)
        QVERIFY2(seen[size_t(i)], ("flush() wrote nothing for layer " + std::to_string(i)).c_str());
}

void TestKvCache::persistedCacheReopensAndContinues() {
    const std::vector<int32_t> prompt = randomIds(3501, 2);
    const std::span<const int32_t> all(prompt);
    const auto first = all.first(3000), more = all.subspan(3000, 500), last = all.subspan(3500, 1);

    // The uninterrupted run, with the same forward calls as the continued ones.
    std::vector<std::vector<float>> ref;
    std::vector<float> refMore, refLast;
    {
        auto kv = KvCache::create(ops_, config(), KvCacheOptions{});
        VERIFY_OK(kv);
        VERIFY_OK(prefill(*kv.value(), first, 1024, ref));
        VERIFY_OK(model_->forward(more, *kv.value(), true, refMore));
        VERIFY_OK(model_->forward(last, *kv.value(), false, refLast));
    }

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const fs::path saved = tmp.filePath("saved").toStdString();
    {
        KvCacheOptions options;
        options.blockTokens = kBlockTokens;
        options.directory = saved;
        options.persist = true;
        auto kv = KvCache::create(ops_, config(), options);
        VERIFY_OK(kv);
        std::vector<std::vector<float>> logits;
        std::vector<KvFlushedBlock> flushed;
        VERIFY_OK(prefill(*kv.value(), first, 1024, logits, &flushed));
        checkFlushedFiles(flushed, saved);
        VERIFY_SAME_BITS(logits.back(), ref.back(), "logits of the saved cache's prefill");
    }

    // Each case on its own copy of the saved files, since opening cuts them and continuing appends.
    struct Case {
        const char* name;
        int64_t openAt;
        bool tight;
    };
    const Case cases[] = {{"reopened at 3000", 3000, false},
                          {"reopened at 2048", 2048, false},
                          {"reopened at 3000 with a tight budget", 3000, true}};
    int caseIndex = 0;
    for (const Case& tc : cases) {
        const fs::path dir = tmp.filePath(QString("case%1").arg(caseIndex++)).toStdString();
        copyTree(saved, dir);
        KvCacheOptions options;
        options.blockTokens = kBlockTokens;
        options.directory = dir;
        options.persist = true;
        if (tc.tight) options.residentBytes = minimumBudget();
        {
            auto kv = KvCache::open(ops_, config(), options, tc.openAt);
            VERIFY_OK(kv);
            KvCache& cache = *kv.value();
            QCOMPARE(cache.length(), tc.openAt);
            if (tc.tight) QVERIFY2(cache.stats().diskBlocks > 0, describeStats(cache.stats()).c_str());
            std::vector<float> logits;
            if (tc.openAt < 3000) {
                VERIFY_OK(model_->forward(first.subspan(size_t(tc.openAt)), cache, false, logits));
                VERIFY_SAME_BITS(logits, ref.back(), std::string(tc.name) + ", logits at 3000");
            }
            VERIFY_OK(model_->forward(more, cache, true, logits));
            VERIFY_SAME_BITS(logits, refMore, std::string(tc.name) + ", logits of the 500 tokens after 3000");
            if (tc.tight) QVERIFY2(cache.stats().diskBytesRead > 0, describeStats(cache.stats()).c_str());
            VERIFY_OK(cache.flush());
        }

        // The files now hold exactly 0..3500 in position order, and open at that length.
        for (int64_t li = 0; li < config().numLayers; ++li) {
            auto file = KvBlockFile::open(dir / KvCache::layerFileName(li),
                                          KvBlockGeometry{li, config().numKvHeads * config().headDim, kBlockTokens,
                                                          DType::F32});
            VERIFY_OK(file);
            const KvBlockFile& f = file.value();
            QVERIFY(f.blockCount() > 0);
            for (int64_t r = 1; r < f.blockCount(); ++r)
                QVERIFY2(f.record(r).firstPos > f.record(r - 1).firstPos,
                         (std::string(tc.name) + ": layer " + std::to_string(li) + " record " + std::to_string(r) +
                          " starts at " + std::to_string(f.record(r).firstPos) + ", not after " +
                          std::to_string(f.record(r - 1).firstPos))
                             .c_str());
            const KvBlockRecord& end = f.record(f.blockCount() - 1);
            QVERIFY2(end.firstPos + end.tokens == 3500,
                     (std::string(tc.name) + ": layer " + std::to_string(li) + " ends at " +
                      std::to_string(end.firstPos + end.tokens))
                         .c_str());
            if (li == fullLayer_) QCOMPARE(f.blockCount(), (3500 + kBlockTokens - 1) / kBlockTokens);
        }
        auto kv = KvCache::open(ops_, config(), options, 3500);
        VERIFY_OK(kv);
        std::vector<float> logits;
        VERIFY_OK(model_->forward(last, *kv.value(), false, logits));
        VERIFY_SAME_BITS(logits, refLast, std::string(tc.name) + ", continued, saved and reopened at 3500");
    }
}

void TestKvCache::corruptedBlockIsReportedNeverUsed() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const fs::path dir = tmp.filePath("kv").toStdString();
    const std::vector<int32_t> prompt = randomIds(2049, 3);
    const std::span<const int32_t> all(prompt);
    {
        KvCacheOptions options;
        options.blockTokens = kBlockTokens;
        options.directory = dir;
        options.persist = true;
        auto kv = KvCache::create(ops_, config(), options);
        VERIFY_OK(kv);
        std::vector<std::vector<float>> logits;
        std::vector<KvFlushedBlock> flushed;
        VERIFY_OK(prefill(*kv.value(), all.first(2048), 1024, logits, &flushed));
    }

    // One byte in the middle of the payload of block 3 of the full-attention layer's 8 blocks.
    const fs::path path = dir / KvCache::layerFileName(fullLayer_);
    uint64_t offset = 0;
    {
        auto file = KvBlockFile::open(
            path, KvBlockGeometry{fullLayer_, config().numKvHeads * config().headDim, kBlockTokens, DType::F32});
        VERIFY_OK(file);
        QCOMPARE(file->blockCount(), int64_t(8));
        const KvBlockRecord& r = file->record(3);
        QCOMPARE(r.firstPos, int64_t(3 * kBlockTokens));
        offset = r.offset + KvBlockFile::kRecordHeaderBytes + (r.bytes - KvBlockFile::kRecordHeaderBytes) / 2 + 5;
    }
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        QVERIFY(f.is_open());
        f.seekg(std::streamoff(offset));
        char byte = 0;
        f.read(&byte, 1);
        byte = char(byte ^ 0x10);
        f.seekp(std::streamoff(offset));
        f.write(&byte, 1);
        QVERIFY(f.good());
    }
    auto namesTheDamage = [&](const Error& e) {
        return e.kind == ErrorKind::BadInput && e.message.find(path.string()) != std::string::npos &&
               e.message.find("damaged (checksum mismatch)") != std::string::npos &&
               e.message.find("block 3 ") != std::string::npos;
    };

    // (a) Loading every block reads the damaged one.
    KvCacheOptions options;
    options.blockTokens = kBlockTokens;
    options.directory = dir;
    options.persist = true;
    {
        auto kv = KvCache::open(ops_, config(), options, 2048);
        QVERIFY2(!kv.ok(), "a cache with a damaged block opened");
        QVERIFY2(namesTheDamage(kv.error()), kv.error().message.c_str());
    }

    // (b) With the block left on disk, open succeeds and the first pass that needs it fails.
    options.residentBytes = minimumBudget();
    auto kv = KvCache::open(ops_, config(), options, 2048);
    VERIFY_OK(kv);
    QVERIFY2(kv.value()->stats().diskBlocks >= 3, describeStats(kv.value()->stats()).c_str());
    std::vector<float> logits;
    const Status st = model_->forward(all.subspan(2048, 1), *kv.value(), false, logits);
    QVERIFY2(!st.ok(), "a forward pass over a damaged block produced logits");
    QVERIFY2(namesTheDamage(st.error()), st.error().message.c_str());
    QVERIFY2(logits.empty(), "logits were written despite the error");
    QCOMPARE(kv.value()->length(), int64_t(2048));
}

void TestKvCache::forksShareTheContext() {
    const std::vector<int32_t> contextIds = randomIds(2000, 4);
    auto made = KvCache::create(ops_, config(), KvCacheOptions{});
    VERIFY_OK(made);
    KvCache& context = *made.value();
    std::vector<std::vector<float>> ignored;
    VERIFY_OK(prefill(context, contextIds, 1024, ignored));
    QCOMPARE(context.length(), int64_t(2000));
    const std::vector<float> before = probe(context);
    QVERIFY(!before.empty());
    const KvCacheStats statsBefore = context.stats();

    std::vector<GenerationRequest> requests(3);
    const size_t promptLengths[] = {5, 9, 6};
    for (size_t i = 0; i < requests.size(); ++i) {
        requests[i].promptIds = randomIds(promptLengths[i], uint32_t(10 + i));
        requests[i].maxNewTokens = 6;
        requests[i].sampling.temperature = 0;
    }
    auto batch = generateBatch(*model_, nullptr, context, requests, std::vector<GenerationCallbacks>(3));
    VERIFY_OK(batch);
    QCOMPARE(batch->size(), requests.size());
    QCOMPARE(context.length(), int64_t(2000));

    for (size_t i = 0; i < requests.size(); ++i) {
        auto fork = KvCache::fork(context, KvCacheOptions{});
        VERIFY_OK(fork);
        auto single = generate(*model_, nullptr, *fork.value(), requests[i]);
        VERIFY_OK(single);
        QCOMPARE(int64_t(single->outputIds.size()), int64_t(6));
        QVERIFY2(batch.value()[i].outputIds == single->outputIds,
                 ("request " + std::to_string(i) + ": batched " + ids(batch.value()[i].outputIds) + ", alone " +
                  ids(single->outputIds))
                     .c_str());
        QCOMPARE(fork.value()->length(), int64_t(2000 + promptLengths[i] + 5));
    }

    // Per-step logits of three forks run in one pass against each fork run alone. The generated
    // ids above agree, but the logits need not have the same bits: a batched prompt pass puts all
    // prompts' rows through one sgemm (5 + 9 + 6 rows) where a fork alone has its own row count, and
    // OpenBLAS's per-row rounding depends on the row count. That moves K and V in the last bits, and
    // every later step inherits it (about 3e-6 here), so those logits agree to 1e-4 relative.
    // With one-token prompts every pass has at most four rows, which take the same per-row dot
    // products batched or not, and attention is per row: then every step must match exactly.
    auto compareSteps = [&](const std::vector<std::vector<int32_t>>& prompts, bool exact) {
        std::vector<std::unique_ptr<KvCache>> together, alone;
        for (size_t i = 0; i < prompts.size(); ++i) {
            auto f1 = KvCache::fork(context, KvCacheOptions{});
            auto f2 = KvCache::fork(context, KvCacheOptions{});
            VERIFY_OK(f1);
            VERIFY_OK(f2);
            together.push_back(std::move(f1.value()));
            alone.push_back(std::move(f2.value()));
        }
        const size_t vocab = size_t(config().vocabSize);
        std::vector<std::vector<int32_t>> feed = prompts;
        for (int step = 0; step < 4; ++step) {
            std::vector<SequenceStep> steps;
            for (size_t i = 0; i < prompts.size(); ++i) steps.push_back({feed[i], together[i].get(), {}});
            std::vector<float> batched;
            VERIFY_OK(model_->forward(steps, false, batched));
            QCOMPARE(batched.size(), prompts.size() * vocab);
            for (size_t i = 0; i < prompts.size(); ++i) {
                std::vector<float> single;
                VERIFY_OK(model_->forward(feed[i], *alone[i], false, single));
                const std::vector<float> row(batched.begin() + long(i * vocab),
                                             batched.begin() + long((i + 1) * vocab));
                const std::string what = std::string(exact ? "one-token prompts" : "prompts of 5, 9 and 6 tokens") +
                                         ", sequence " + std::to_string(i) + ", step " + std::to_string(step);
                if (exact) {
                    VERIFY_SAME_BITS(row, single, what);
                } else {
                    const std::string diff = relativeDifference(row, single, 1e-4);
                    QVERIFY2(diff.empty(), (what + ": " + diff).c_str());
                }
                feed[i] = {argmax(single)};
            }
        }
    };
    std::vector<std::vector<int32_t>> prompts;
    for (const GenerationRequest& r : requests) prompts.push_back(r.promptIds);
    compareSteps(prompts, false);
    if (QTest::currentTestFailed()) return;
    compareSteps({{17}, {300}, {511}}, true);
    if (QTest::currentTestFailed()) return;

    QCOMPARE(context.length(), int64_t(2000));
    const KvCacheStats statsAfter = context.stats();
    QCOMPARE(statsAfter.residentBlocks, statsBefore.residentBlocks);
    QCOMPARE(statsAfter.diskBlocks, statsBefore.diskBlocks);
    VERIFY_SAME_BITS(probe(context), before, "the context's attention over its own blocks before and after");
}

void TestKvCache::reopenBeforeAGrownPartialBlock() {
    const std::vector<int32_t> prompt = randomIds(3400, 5);
    const std::span<const int32_t> all(prompt);
    std::vector<float> ref;
    {
        auto kv = KvCache::create(ops_, config(), KvCacheOptions{});
        VERIFY_OK(kv);
        std::vector<float> ignored;
        VERIFY_OK(model_->forward(all.first(3000), *kv.value(), false, ignored));
        VERIFY_OK(model_->forward(all.subspan(3000, 80), *kv.value(), false, ignored));
        VERIFY_OK(model_->forward(all.subspan(3080, 20), *kv.value(), true, ref));
    }
    QTemporaryDir tmp;
    const fs::path dir = tmp.filePath("kv").toStdString();
    KvCacheOptions options;
    options.blockTokens = kBlockTokens;
    options.directory = dir;
    options.persist = true;
    {
        auto kv = KvCache::create(ops_, config(), options);
        VERIFY_OK(kv);
        std::vector<float> logits;
        VERIFY_OK(model_->forward(all.first(3000), *kv.value(), false, logits));
        VERIFY_OK(kv.value()->flush());
        VERIFY_OK(model_->forward(all.subspan(3000, 80), *kv.value(), false, logits));
        VERIFY_OK(model_->forward(all.subspan(3080, 20), *kv.value(), false, logits));
        VERIFY_OK(model_->forward(all.subspan(3100, 100), *kv.value(), false, logits));
        VERIFY_OK(model_->forward(all.subspan(3200, 200), *kv.value(), false, logits));
        VERIFY_OK(kv.value()->flush());
    }
    auto kv = KvCache::open(ops_, config(), options, 3080);
    if (!kv.ok()) qInfo("open at 3080: %s", kv.error().message.c_str());
    VERIFY_OK(kv);
    std::vector<float> logits;
    VERIFY_OK(model_->forward(all.subspan(3080, 20), *kv.value(), true, logits));
    VERIFY_SAME_BITS(logits, ref, "reopened at 3080");
}


QTEST_GUILESS_MAIN(TestKvCache)
#include "test_kv_cache.moc"
