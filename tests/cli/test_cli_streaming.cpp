// Layer streaming under --ram-budget: peak RSS stays under the budget plus a fixed overhead, and
// the output is bit-identical to the run that keeps every layer in RAM.
#include <QtTest>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/CliRunner.h"
#include "support/RandomLlama.h"

namespace fs = std::filesystem;
using namespace strata::testsupport;

namespace {

// Everything that is not model weights: the program and its libraries, BLAS buffers, the 16 MiB
// widening scratch of the CPU matmul, activations and the KV cache of a short prompt.
constexpr uint64_t kFixedOverhead = uint64_t(48) << 20;

constexpr int64_t kHidden = 1024, kLayers = 8, kHeads = 16, kKvHeads = 4, kHeadDim = 64, kFfn = 4096;


}  // namespace

class TestCliStreaming : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    fs::path model_;
    QStringList runArgs(const QStringList& extra) {
        QStringList a{"run", "--model", QString::fromStdString(model_.string()), "--prompt", "The report says",
                      "--raw", "--max-tokens", "12", "--ignore-eos"};
        return a + extra;
    }

private slots:
    void initTestCase() {
        model_ = fs::path(tmp_.path().toStdString()) / "llama-stream";
        RandomLlamaShape shape;
        shape.hidden = kHidden;
        shape.layers = kLayers;
        shape.heads = kHeads;
        shape.kvHeads = kKvHeads;
        shape.headDim = kHeadDim;
        shape.ffn = kFfn;
        QVERIFY(writeRandomLlama(model_, shape));
    }

    void budgetBoundsRssAndOutputIsIdentical_data() {
        QTest::addColumn<QStringList>("sampling");
        QTest::newRow("greedy") << QStringList{};
        QTest::newRow("sampled") << QStringList{"--temperature", "0.9", "--top-p", "0.95", "--seed", "11"};
    }
    void budgetBoundsRssAndOutputIsIdentical() {
        QFETCH(QStringList, sampling);
        const uint64_t modelBytes = fs::file_size(model_ / "model.safetensors");
        const uint64_t budget = uint64_t(72) << 20;
        QVERIFY(budget < modelBytes / 3);

        const CliRun full = runCli(runArgs(sampling));
        QVERIFY2(full.exitCode == 0, qPrintable(full.err));
        const CliRun budgeted = runCli(runArgs(sampling + QStringList{"--ram-budget", "72MiB"}));
        QVERIFY2(budgeted.exitCode == 0, qPrintable(budgeted.err));

        const uint64_t fullPeak = peakRss(full.err), budgetPeak = peakRss(budgeted.err);
        qInfo("model %.1f MiB; peak RSS unbudgeted %.1f MiB, with --ram-budget 72MiB %.1f MiB (limit %.1f MiB)",
              modelBytes / 1048576.0, fullPeak / 1048576.0, budgetPeak / 1048576.0,
              (budget + kFixedOverhead) / 1048576.0);
        QVERIFY(fullPeak > 0 && budgetPeak > 0);
        QVERIFY2(budgetPeak <= budget + kFixedOverhead, "peak RSS exceeds the budget plus the fixed overhead");
        // The unbudgeted run must not fit the same bound, or this test proves nothing.
        QVERIFY(fullPeak > budget + kFixedOverhead);
        QVERIFY(budgeted.err.contains("weights streamed"));
        QVERIFY(!budgeted.err.contains("weights streamed 0 B"));
        QVERIFY(!full.out.trimmed().isEmpty());
        QCOMPARE(budgeted.out, full.out);
    }

    void infoShowsThePlan() {
        const CliRun r = runCli({"info", "--model", QString::fromStdString(model_.string()), "--ram-budget", "72MiB"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("architecture   Llama"));
        QVERIFY(r.out.contains("through 2 slots"));
        QVERIFY(r.out.contains("disk"));
    }
};

QTEST_GUILESS_MAIN(TestCliStreaming)
#include "test_cli_streaming.moc"
