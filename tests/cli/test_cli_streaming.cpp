// Layer streaming under --ram-budget: peak RSS stays under the budget plus a fixed overhead, and
// the output is bit-identical to the run that keeps every layer in RAM.
#include <QtTest>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/CliRunner.h"
#include "support/SafetensorsWriter.h"

namespace fs = std::filesystem;
using namespace strata::testsupport;

namespace {

// Everything that is not model weights: the program and its libraries, BLAS buffers, the 16 MiB
// widening scratch of the CPU matmul, activations and the KV cache of a short prompt.
constexpr uint64_t kFixedOverhead = uint64_t(48) << 20;

constexpr int64_t kHidden = 1024, kLayers = 8, kHeads = 16, kKvHeads = 4, kHeadDim = 64, kFfn = 4096, kVocab = 512;

TensorSpec randomBf16(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng, float mean, float std) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    TensorSpec t{name, "BF16", std::move(shape), std::vector<uint8_t>(size_t(n) * 2)};
    std::normal_distribution<float> dist(mean, std);
    // A table of normal values picked by a fast generator keeps this quick for 120M weights.
    std::vector<uint16_t> table(4096);
    for (uint16_t& v : table) v = strata::floatToBf16(dist(rng));
    uint64_t state = rng();
    auto* out = reinterpret_cast<uint16_t*>(t.bytes.data());
    for (int64_t i = 0; i < n; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = table[(state >> 52) & 4095];
    }
    return t;
}

uint64_t peakRss(const QString& stderrText) {
    QRegularExpression re("peak RSS (\\d+) bytes");
    auto m = re.match(stderrText);
    return m.hasMatch() ? m.captured(1).toULongLong() : 0;
}

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
        fs::create_directories(model_);
        std::mt19937 rng(7);
        std::vector<TensorSpec> tensors;
        tensors.push_back(randomBf16("model.embed_tokens.weight", {kVocab, kHidden}, rng, 0, 0.5f));
        tensors.push_back(randomBf16("model.norm.weight", {kHidden}, rng, 1, 0.05f));
        for (int64_t i = 0; i < kLayers; ++i) {
            const std::string l = "model.layers." + std::to_string(i) + ".";
            tensors.push_back(randomBf16(l + "input_layernorm.weight", {kHidden}, rng, 1, 0.05f));
            tensors.push_back(randomBf16(l + "post_attention_layernorm.weight", {kHidden}, rng, 1, 0.05f));
            tensors.push_back(randomBf16(l + "self_attn.q_proj.weight", {kHeads * kHeadDim, kHidden}, rng, 0, 0.03f));
            tensors.push_back(randomBf16(l + "self_attn.k_proj.weight", {kKvHeads * kHeadDim, kHidden}, rng, 0, 0.03f));
            tensors.push_back(randomBf16(l + "self_attn.v_proj.weight", {kKvHeads * kHeadDim, kHidden}, rng, 0, 0.03f));
            tensors.push_back(randomBf16(l + "self_attn.o_proj.weight", {kHidden, kHeads * kHeadDim}, rng, 0, 0.03f));
            tensors.push_back(randomBf16(l + "mlp.gate_proj.weight", {kFfn, kHidden}, rng, 0, 0.03f));
            tensors.push_back(randomBf16(l + "mlp.up_proj.weight", {kFfn, kHidden}, rng, 0, 0.03f));
            tensors.push_back(randomBf16(l + "mlp.down_proj.weight", {kHidden, kFfn}, rng, 0, 0.03f));
        }
        QVERIFY(writeSafetensors(model_ / "model.safetensors", tensors));
        nlohmann::json config = {{"model_type", "llama"},
                                 {"architectures", {"LlamaForCausalLM"}},
                                 {"hidden_size", kHidden},
                                 {"num_hidden_layers", kLayers},
                                 {"num_attention_heads", kHeads},
                                 {"num_key_value_heads", kKvHeads},
                                 {"head_dim", kHeadDim},
                                 {"intermediate_size", kFfn},
                                 {"vocab_size", kVocab},
                                 {"max_position_embeddings", 4096},
                                 {"rms_norm_eps", 1e-5},
                                 {"rope_theta", 500000.0},
                                 {"tie_word_embeddings", true},
                                 {"bos_token_id", 0},
                                 {"eos_token_id", 1}};
        QVERIFY(writeFile(model_ / "config.json", config.dump(2)));
        const fs::path tokenizer = fs::path(STRATA_TEST_DATA_DIR) / "models" / "llama_tied";
        fs::copy_file(tokenizer / "tokenizer.json", model_ / "tokenizer.json");
        fs::copy_file(tokenizer / "tokenizer_config.json", model_ / "tokenizer_config.json");
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
