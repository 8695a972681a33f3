// Randomly mutated safetensors headers and config.json texts (fixed seed, a few thousand of
// each): the parsers must return a value every time, and whatever they accept must be sound.
// Run under the sanitizer build to catch what a plain build would not notice.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <random>

#include "../support/SafetensorsWriter.h"
#include "format/Checkpoint.h"
#include "format/SafetensorsHeader.h"
#include "arch/ModelConfig.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

const char kInteresting[] = "{}[]\":,-0123456789e.E+ \\ntf";
const char* kTokens[] = {"-1", "18446744073709551615", "9223372036854775807", "4294967296", "1e400", "null",
                         "[]", "{}", "\"BF16\"", "\"F16\"", "\"I64\"", "\"__metadata__\"", "0.5", "true", "\"\""};

// One random edit: flip, insert, delete, duplicate, swap in a troublesome token, or truncate.
void mutate(std::string& s, std::mt19937& rng) {
    auto pick = [&](size_t n) { return n == 0 ? size_t(0) : size_t(rng() % n); };
    switch (rng() % 7) {
    case 0:
        if (!s.empty()) s[pick(s.size())] ^= char(1u << (rng() % 8));
        break;
    case 1:
        s.insert(s.begin() + std::ptrdiff_t(pick(s.size() + 1)), kInteresting[pick(sizeof kInteresting - 1)]);
        break;
    case 2:
        if (!s.empty()) {
            const size_t at = pick(s.size());
            s.erase(at, 1 + pick(8));
        }
        break;
    case 3:
        if (!s.empty()) {
            const size_t at = pick(s.size());
            const std::string piece = s.substr(at, 1 + pick(24));
            s.insert(pick(s.size() + 1), piece);
        }
        break;
    case 4: {
        // Replace a run of digits (a size or offset) with an extreme value.
        const size_t at = s.find_first_of("0123456789", pick(s.size()));
        if (at != std::string::npos) {
            size_t end = at;
            while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
            s.replace(at, end - at, kTokens[pick(std::size(kTokens))]);
        }
        break;
    }
    case 5:
        s.insert(pick(s.size() + 1), kTokens[pick(std::size(kTokens))]);
        break;
    default:
        s.resize(pick(s.size() + 1));
        break;
    }
}

}  // namespace

class TestFormatFuzz : public QObject {
    Q_OBJECT

private slots:
    void mutatedSafetensorsHeaders() {
        const std::vector<TensorSpec> tensors = {
            tensorF32("model.norm.weight", {4}, {1, 2, 3, 4}),
            tensorBf16("model.embed_tokens.weight", {3, 4}, std::vector<float>(12, 0.5f)),
            tensorF16("lm_head.weight", {2, 2, 1}, {1, 2, 3, 4}),
            tensorF32("empty", {0}, {}),
        };
        const std::string base = safetensorsHeader(tensors);
        const uint64_t dataBytes = 16 + 24 + 8;
        std::mt19937 rng(20240611);
        int accepted = 0;
        for (int iter = 0; iter < 4000; ++iter) {
            std::string h = base;
            const int edits = 1 + int(rng() % 4);
            for (int e = 0; e < edits; ++e) mutate(h, rng);
            // Sometimes the data section is shorter or longer than the header says.
            const uint64_t fileSize = 8 + h.size() + dataBytes - 8 + rng() % 17;
            auto r = parseSafetensorsHeader(h, fileSize, 0, "fuzz.safetensors");
            if (!r.ok()) {
                QCOMPARE(int(r.error().kind), int(ErrorKind::BadInput));
                QVERIFY2(r.error().message.find("fuzz.safetensors") != std::string::npos, r.error().message.c_str());
                continue;
            }
            ++accepted;
            // Whatever is accepted must describe bytes inside the file, consistently, without overlap.
            std::vector<std::pair<uint64_t, uint64_t>> spans;
            for (const TensorInfo& t : r.value()) {
                QVERIFY(t.offset >= 8 + h.size());
                QVERIFY(t.offset + t.nbytes <= fileSize);
                QCOMPARE(t.nbytes, uint64_t(t.numel()) * dtypeSize(t.dtype));
                if (t.nbytes) spans.emplace_back(t.offset, t.offset + t.nbytes);
            }
            std::sort(spans.begin(), spans.end());
            for (size_t i = 1; i < spans.size(); ++i) QVERIFY(spans[i].first >= spans[i - 1].second);
        }
        QVERIFY(accepted > 0);  // the mutations must not be so wild that nothing parses
    }

    void randomLengthPrefixes() {
        std::mt19937_64 rng(7);
        for (int i = 0; i < 2000; ++i) {
            unsigned char prefix[8];
            const uint64_t v = rng() >> (rng() % 64);
            for (int b = 0; b < 8; ++b) prefix[b] = (v >> (8 * b)) & 0xff;
            const uint64_t fileSize = rng() % 4 == 0 ? rng() : rng() % 4096;
            auto r = parseSafetensorsHeaderLength(prefix, fileSize, "len.safetensors");
            if (r.ok()) {
                QVERIFY(r.value() <= kMaxSafetensorsHeaderBytes);
                QVERIFY(8 + r.value() <= fileSize);
            } else {
                QCOMPARE(int(r.error().kind), int(ErrorKind::BadInput));
            }
        }
    }

    // A few hundred whole files through Checkpoint::open, including the length prefix.
    void mutatedFilesThroughOpen() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::filesystem::path dir = tmp.path().toStdString();
        const std::vector<TensorSpec> tensors = {tensorF32("a", {2, 2}, {1, 2, 3, 4}),
                                                 tensorBf16("b", {3}, {1, 2, 3})};
        const std::string good = safetensorsBytes(safetensorsHeader(tensors), tensors);
        std::mt19937 rng(99);
        for (int iter = 0; iter < 300; ++iter) {
            std::string bytes = good;
            for (int e = 0; e < 1 + int(rng() % 3); ++e) mutate(bytes, rng);
            QVERIFY(writeFile(dir / "model.safetensors", bytes));
            auto r = Checkpoint::open(dir);
            if (!r.ok()) {
                QCOMPARE(int(r.error().kind), int(ErrorKind::BadInput));
                continue;
            }
            std::vector<uint8_t> buf;
            for (const auto& [name, info] : (*r)->tensors()) {
                buf.resize(info.nbytes);
                QVERIFY((*r)->read(info, buf.data()).ok());
            }
        }
    }

    void mutatedConfigs() {
        // Each family's keys (strict loading refuses a key its family does not read).
        const std::string sizes = R"("hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 7,
              "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "eos_token_id": [1, 106], )";
        const std::string layerTypes = R"("layer_types": ["sliding_attention", "full_attention", "sliding_attention",
              "sliding_attention", "sliding_attention", "full_attention", "sliding_attention"], "sliding_window": 8, )";
        const std::string gemma = sizes + layerTypes + R"(
              "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                                  "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
              "final_logit_softcapping": 30.0, "query_pre_attn_scalar": 256)";
        const std::string qwen = sizes + layerTypes + R"("use_sliding_window": true, "rope_theta": 1e6)";
        const std::string variants[] = {
            R"({"model_type": "gemma3", "eos_token_id": [1, 106], "text_config": {)" + gemma + "}}",
            R"({"model_type": "gemma3_text", )" + gemma + "}",
            R"({"model_type": "llama", )" + sizes + R"("attention_bias": true, "mlp_bias": true,
              "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 8192}})",
            R"({"model_type": "qwen3", )" + qwen + "}",
            R"({"model_type": "qwen2", )" + qwen + "}",
        };
        for (const std::string& v : variants) {
            auto unmutated = parseModelConfig(v, "fuzz/config.json");
            QVERIFY2(unmutated.ok(), unmutated.ok() ? "" : unmutated.error().message.c_str());
        }
        std::mt19937 rng(4242);
        int accepted = 0;
        for (int iter = 0; iter < 4000; ++iter) {
            std::string text = variants[iter % std::size(variants)];
            for (int e = 0; e < 1 + int(rng() % 3); ++e) mutate(text, rng);
            auto r = parseModelConfig(text, "fuzz/config.json");
            if (!r.ok()) {
                QCOMPARE(int(r.error().kind), int(ErrorKind::BadInput));
                QVERIFY2(r.error().message.find("fuzz/config.json") != std::string::npos, r.error().message.c_str());
                continue;
            }
            ++accepted;
            const ModelConfig& c = r.value();
            QVERIFY(c.hiddenSize > 0 && c.numLayers > 0 && c.headDim > 0 && c.numKvHeads > 0);
            QCOMPARE(c.numHeads % c.numKvHeads, int64_t(0));
            QCOMPARE(int64_t(c.layerTypes.size()), c.numLayers);
            QVERIFY(c.ropeTheta > 0 && std::isfinite(c.attentionScale));
        }
        QVERIFY(accepted > 0);
    }
};

QTEST_GUILESS_MAIN(TestFormatFuzz)
#include "test_format_fuzz.moc"
