// gpt-oss read from llama.cpp's GGUF layout (tests/data/gguf/models/gpt_oss, written by
// tests/tools/make_gguf_gpt_oss.py from tests/data/models/gpt_oss_mxfp4): the experts are
// presented as the Hugging Face checkpoint's MXFP4 blocks and scales, byte for byte, and stay
// packed; one expert is read from its own bytes alone; the model gives transformers' logits with
// its experts split into parts of their own; and damaged files are refused by the name of the
// tensor or key at fault. (Whole and chunked prefill, greedy and streaming are in
// test_model_parity, which runs every parity fixture.)
#include <QtTest>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

#include "../support/GgufLayout.h"
#include "../support/ParityFixture.h"
#include "../support/TestFiles.h"
#include "arch/DecoderWeights.h"
#include "arch/ModelConfig.h"
#include "backend/cpu/CpuOps.h"
#include "core/DType.h"
#include "format/Checkpoint.h"
#include "model/Generator.h"
#include "model/TransformerModel.h"
#include "runtime/WeightLayout.h"

using namespace strata;
using namespace strata::testsupport;
namespace fs = std::filesystem;

namespace {

const char* const kGguf = "gguf/gpt_oss";
const char* const kHf = "gpt_oss_mxfp4";

std::unique_ptr<Checkpoint> openCheckpoint(const fs::path& path) {
    auto ckpt = Checkpoint::open(path);
    if (!ckpt.ok()) qFatal("%s", ckpt.error().message.c_str());
    return std::move(ckpt.value());
}

std::vector<uint8_t> readTensor(const Checkpoint& ckpt, const TensorInfo& info) {
    std::vector<uint8_t> out(size_t(info.nbytes));
    const Status s = ckpt.read(info, out.data());
    if (!s.ok()) qFatal("%s", s.error().message.c_str());
    return out;
}

std::vector<float> widened(const std::vector<uint8_t>& bytes, DType dtype) {
    std::vector<float> out(bytes.size() / dtypeSize(dtype));
    widenToFloat(bytes.data(), dtype, out.size(), out.data());
    return out;
}

void putU32(std::string& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void putU64(std::string& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }

}  // namespace

class TestGgufGptOss : public QObject {
    Q_OBJECT
private:
    CpuOps ops_;
    QTemporaryDir tmp_;

    // The fixture's bytes with `patch` applied, written to a file of its own; the load's error
    // message ("" when it loaded).
    std::string loadPatched(const char* name, const std::function<void(std::string&, const GgufLayout&)>& patch) {
        std::string bytes = readText(parityModelPath(kGguf).toStdString());
        const auto layout = GgufLayout::of(bytes);
        if (!layout) return "the fixture's header could not be walked";
        patch(bytes, *layout);
        const fs::path file = writeFile(tmp_, name, bytes);
        auto model = TransformerModel::load(file, ops_, ModelOptions{});
        return model.ok() ? "" : model.error().message;
    }

    static const GgufLayout::Tensor& tensor(const GgufLayout& l, const std::string& name) {
        for (const GgufLayout::Tensor& t : l.tensors)
            if (t.name == name) return t;
        qFatal("no tensor %s in the fixture", name.c_str());
    }

private slots:
    // Every tensor the Hugging Face checkpoint has, with the same shape; the expert matrices with
    // the same bytes (MXFP4 blocks and scales, U8), the biases with the same values.
    void expertsArePresentedAsTheHuggingFaceBytes() {
        const auto gguf = openCheckpoint(parityModelPath(kGguf).toStdString());
        const auto hf = openCheckpoint(parityModelPath(kHf).toStdString());
        int packed = 0;
        for (const auto& [name, want] : hf->tensors()) {
            const TensorInfo* got = gguf->find(name);
            QVERIFY2(got, name.c_str());
            QCOMPARE(got->shape, want.shape);
            const std::vector<uint8_t> a = readTensor(*gguf, *got), b = readTensor(*hf, want);
            if (want.dtype == DType::U8) {
                // Presented as bytes, never widened: the products read them as MXFP4.
                QCOMPARE(got->dtype, DType::U8);
                QCOMPARE(got->nbytes, want.nbytes);
                QVERIFY2(a == b, name.c_str());
                ++packed;
            } else {
                QVERIFY2(widened(a, got->dtype) == widened(b, want.dtype), name.c_str());
            }
        }
        QCOMPARE(packed, 16);  // 4 layers x gate_up and down x blocks and scales
        QCOMPARE(gguf->tensors().size(), hf->tensors().size());
    }

    // splitExperts' slices: each expert's part holds its slice of the whole stack, and reads
    // nothing of the other experts (their stored bytes are overwritten after opening).
    void oneExpertReadsOnlyItsOwnBytes() {
        const fs::path copy = fs::path(tmp_.path().toStdString()) / "experts.gguf";
        fs::copy_file(parityModelPath(kGguf).toStdString(), copy, fs::copy_options::overwrite_existing);
        const auto ckpt = openCheckpoint(copy);
        auto config = loadModelConfig(*ckpt);
        QVERIFY(config.ok());
        QVERIFY(resolveTensorNames(config.value(), *ckpt).ok());
        auto layout = buildWeightLayout(config.value(), *ckpt);
        QVERIFY(layout.ok());
        std::map<std::string, std::vector<uint8_t>> whole;
        for (const UnitTensor& t : layout.value().units[1].tensors) whole[t.info->name] = readTensor(*ckpt, *t.info);
        splitExperts(layout.value(), config.value().numExperts);
        const std::vector<WeightUnit>& parts = layout.value().experts[1];
        QCOMPARE(int64_t(parts.size()), config.value().numExperts);

        const std::string original = readText(copy);
        for (int64_t e : {int64_t(0), int64_t(5), config.value().numExperts - 1}) {
            // Scribble over every stored expert byte of layer 1 but expert e's. (Written in place,
            // so the checkpoint's open file sees it.)
            std::string bytes = original;
            for (const UnitTensor& t : parts[size_t(e)].tensors) {
                const ExpertRepack& r = *t.info->encoding->experts;
                const uint64_t perExpert = uint64_t(r.rowsPerSource) * r.storedRowBytes;
                for (const ExpertRepack::Source& s : r.sources)
                    for (int64_t other = 0; other < r.experts; ++other)
                        if (other != e)
                            std::memset(bytes.data() + s.offset + uint64_t(other) * perExpert, 0x5a, perExpert);
            }
            writeText(copy, bytes);
            for (const UnitTensor& t : parts[size_t(e)].tensors) {
                QCOMPARE(t.info->shape.front(), int64_t(1));
                const std::vector<uint8_t>& all = whole.at(t.info->name);
                const std::vector<uint8_t> mine = readTensor(*ckpt, *t.info);
                QCOMPARE(uint64_t(mine.size()) * uint64_t(config.value().numExperts), uint64_t(all.size()));
                QVERIFY2(std::memcmp(mine.data(), all.data() + size_t(e) * mine.size(), mine.size()) == 0,
                         (t.info->name + " expert " + std::to_string(e)).c_str());
            }
        }
        writeText(copy, original);
    }

    // With a RAM budget the experts are parts of their own, read one by one through the expert
    // cache; the logits and the greedy continuation are still transformers'.
    void splitExpertsMatchTransformers_data() {
        QTest::addColumn<int>("chunk");
        QTest::newRow("whole") << 256;
        QTest::newRow("chunk7") << 7;
    }
    void splitExpertsMatchTransformers() {
        QFETCH(int, chunk);
        const ParityReference ref = readParityReference(kGguf);
        ModelOptions options;
        options.prefillChunk = chunk;
        options.ramBudget = uint64_t(1) << 30;
        auto model = TransformerModel::load(parityModelPath(kGguf).toStdString(), ops_, options);
        QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
        QVERIFY(model.value()->layout().expertsSplit());
        QVERIFY(model.value()->config().expertsMxfp4);
        auto kv = KvCache::create(ops_, model.value()->config(), KvCacheOptions{});
        QVERIFY(kv.ok());
        std::vector<float> logits;
        const Status st = model.value()->forward(ref.inputIds, *kv.value(), true, logits);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
        const LogitComparison c = compareLogits(logits, ref);
        qInfo("gguf/gpt_oss, experts split, chunk %d: max abs logit diff %.3g (relative %.3g)", chunk, c.maxAbs,
              c.maxAbs / c.maxRef);
        QVERIFY(c.maxAbs / c.maxRef < 1e-4);
        QCOMPARE(size_t(c.agree), ref.inputIds.size());

        GenerationRequest request;
        request.promptIds = ref.greedyPrompt;
        request.maxNewTokens = int64_t(ref.greedyNew.size());
        auto result = generate(*model.value(), nullptr, request);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        QCOMPARE(result->outputIds, ref.greedyNew);
    }

    void undamagedLoads() {
        QCOMPARE(loadPatched("undamaged.gguf", [](std::string&, const GgufLayout&) {}), std::string());
    }

    // One layer's up experts moved to the end of the file and cut short there.
    void truncatedExpertTensor() {
        const std::string name = "blk.1.ffn_up_exps.weight";
        const std::string error = loadPatched("truncated.gguf", [&](std::string& b, const GgufLayout& l) {
            const GgufLayout::Tensor& t = tensor(l, name);
            const uint64_t end = (b.size() - l.dataStart + l.alignment - 1) / l.alignment * l.alignment;
            putU64(b, t.offsetAt, end);
            b.resize(l.dataStart + end + 1000, '\0');  // 1000 of its 17408 bytes
        });
        qInfo("%s", error.c_str());
        QVERIFY(contains(error, name));
        QVERIFY(contains(error, "truncated"));
    }

    // The file cut inside the first expert tensor after the checkpoint was opened: the read that
    // meets the end names the stored tensor it was reading.
    void fileCutWhileReadingExperts() {
        const fs::path copy = fs::path(tmp_.path().toStdString()) / "cut.gguf";
        fs::copy_file(parityModelPath(kGguf).toStdString(), copy, fs::copy_options::overwrite_existing);
        const auto ckpt = openCheckpoint(copy);
        const TensorInfo* blocks = ckpt->find("model.layers.0.mlp.experts.down_proj_blocks");
        QVERIFY(blocks && blocks->encoding && blocks->encoding->experts);
        const ExpertRepack::Source& stored = blocks->encoding->experts->sources.front();
        QCOMPARE(stored.name, std::string("blk.0.ffn_down_exps.weight"));
        fs::resize_file(copy, stored.offset + 4000);
        std::vector<uint8_t> out(size_t(blocks->nbytes));
        const Status s = ckpt->read(*blocks, out.data());
        QVERIFY(!s.ok());
        qInfo("%s", s.error().message.c_str());
        QVERIFY(contains(s.error().message, "blk.0.ffn_down_exps.weight"));
        QVERIFY(contains(s.error().message, "truncated"));
    }

    void wrongExpertCount() {
        const std::string error = loadPatched("experts9.gguf", [](std::string& b, const GgufLayout& l) {
            putU32(b, l.kv("gpt-oss.expert_count")->valueAt, 9);
        });
        qInfo("%s", error.c_str());
        QVERIFY(contains(error, "gpt-oss.expert_count"));
        QVERIFY(contains(error, "9"));
    }

    void moreExpertsUsedThanThereAre() {
        const std::string error = loadPatched("used9.gguf", [](std::string& b, const GgufLayout& l) {
            putU32(b, l.kv("gpt-oss.expert_used_count")->valueAt, 9);
        });
        qInfo("%s", error.c_str());
        QVERIFY(contains(error, "gpt-oss.expert_used_count"));
    }

    // Gate without its up experts: the up tensor is renamed to a name no reader knows.
    void gateWithoutUp() {
        const std::string error = loadPatched("no-up.gguf", [](std::string& b, const GgufLayout& l) {
            const GgufLayout::Tensor& t = tensor(l, "blk.2.ffn_up_exps.weight");
            b.replace(t.nameAt + 8 + 10, 2, "xx");  // "blk.2.ffn_xx_exps.weight", the same length
        });
        qInfo("%s", error.c_str());
        QVERIFY(contains(error, "blk.2.ffn_up_exps.weight"));
    }

    // Experts whose blocks are not MXFP4 are refused by name (here Q4_0, which has the same
    // 32-element rows but 18-byte blocks, so the file is long enough for it).
    void expertsNotMxfp4() {
        const std::string error = loadPatched("q4.gguf", [](std::string& b, const GgufLayout& l) {
            putU32(b, tensor(l, "blk.3.ffn_gate_exps.weight").typeAt, 2);
        });
        qInfo("%s", error.c_str());
        QVERIFY(contains(error, "blk.3.ffn_gate_exps.weight"));
        QVERIFY(contains(error, "MXFP4"));
    }

    // A metadata key that Strata does not read for gpt-oss refuses the load, by its name.
    void unknownKeyIsRefused() {
        const std::string error = loadPatched("unknown-key.gguf", [](std::string& b, const GgufLayout& l) {
            const GgufLayout::Kv* kv = l.kv("gpt-oss.expert_feed_forward_length");
            // "gpt-oss.expert_feed_forward_length" -> the same length, another key
            b.replace(kv->valueAt - 4 - 34, 34, "gpt-oss.expert_shared_feed_forward");
        });
        qInfo("%s", error.c_str());
        QVERIFY(contains(error, "gpt-oss.expert_shared_feed_forward"));
    }
};

QTEST_GUILESS_MAIN(TestGgufGptOss)
#include "test_gguf_gpt_oss.moc"
