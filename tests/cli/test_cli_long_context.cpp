// A prompt of over 100k tokens under a KV budget far below its KV cache: the blocks beyond the
// budget go to the session's files and are read back for attention, and the peak RSS stays within
// the budget plus a fixed overhead above a short run of the same model.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <random>

#include "cli/CliRunner.h"
#include "kv/KvCache.h"
#include "arch/ModelConfig.h"
#include "support/RandomLlama.h"

namespace fs = std::filesystem;
using namespace strata;
using namespace strata::testsupport;

namespace {

// What a long prompt costs besides its KV cache: its text and ids, the saved job (the ids as
// JSON), the tokenizer's working memory, the hidden states of one 4096-token checkpoint piece, the
// activations of a 1024-token chunk and SQLite's page cache.
constexpr uint64_t kFixedOverhead = uint64_t(24) << 20;
constexpr uint64_t kKvBudget = uint64_t(4) << 20;
constexpr qint64 kMinTokens = 100000;

}  // namespace

class TestCliLongContext : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    fs::path model_, document_;
    RandomLlamaShape shape_;

private slots:
    void initTestCase() {
        // One layer, so that attention over 100k positions takes well under a minute on two cores;
        // its KV cache is still 100k * 2 * 2 * 32 floats = 51 MB.
        shape_.layers = 1;
        shape_.maxPositions = 131072;
        model_ = fs::path(tmp_.path().toStdString()) / "llama-long";
        QVERIFY(writeRandomLlama(model_, shape_));
        document_ = fs::path(tmp_.path().toStdString()) / "long.txt";
        std::ofstream out(document_);
        std::mt19937 rng(3);
        const char* words[] = {"disk", "node", "error", "the", "of", "log", "alpha", "report", "and", "beta"};
        for (int i = 0; i < 45000; ++i) out << words[rng() % 10] << (i % 17 == 16 ? "\n" : " ");
    }

    void longPromptStaysWithinTheKvBudget() {
        const QString model = QString::fromStdString(model_.string());
        const QString store = tmp_.filePath("store");
        const CliRun shortRun = runCli({"run", "--model", model, "--prompt", "disk node error", "--raw",
                                        "--max-tokens", "2", "--ignore-eos", "--store", store});
        QVERIFY2(shortRun.exitCode == 0, qPrintable(shortRun.err));
        const CliRun longRun =
            runCli({"run", "--model", model, "--prompt-file", QString::fromStdString(document_.string()), "--raw",
                    "--max-tokens", "2", "--ignore-eos", "--kv-budget", "4MiB", "--chunk", "1024", "--store", store},
                   900000);
        QVERIFY2(longRun.exitCode == 0, qPrintable(longRun.err));
        const qint64 tokens = prefillTokens(longRun.err);
        QVERIFY2(tokens >= kMinTokens, qPrintable(longRun.err));

        ModelConfig config;
        config.numLayers = shape_.layers;
        config.numKvHeads = shape_.kvHeads;
        config.headDim = shape_.headDim;
        const uint64_t kvBytes = KvCache::bytesFor(config, tokens);
        const uint64_t base = peakRss(shortRun.err), peak = peakRss(longRun.err);
        const uint64_t limit = base + kKvBudget + kFixedOverhead;
        qInfo("%lld tokens, KV cache %.1f MiB; peak RSS %.1f MiB (short prompt %.1f MiB, limit %.1f MiB)",
              static_cast<long long>(tokens), kvBytes / 1048576.0, peak / 1048576.0, base / 1048576.0,
              limit / 1048576.0);
        // The cache itself would not fit the bound, or the test proves nothing.
        QVERIFY(kvBytes > kKvBudget + kFixedOverhead);
        QVERIFY(base > 0 && peak > 0);
        QVERIFY2(peak <= limit, "peak RSS exceeds the KV budget plus the fixed overhead");
        // Most blocks went to disk and attention read them back.
        const auto disk = QRegularExpression("([\\d,]+) on disk, ([0-9.]+ \\w+) read from disk").match(longRun.err);
        QVERIFY2(disk.hasMatch() && disk.captured(1).remove(',').toLongLong() > tokens / 256 / 2, qPrintable(longRun.err));
        QVERIFY(!disk.captured(2).startsWith("0 B"));
    }
};

QTEST_GUILESS_MAIN(TestCliLongContext)
#include "test_cli_long_context.moc"
