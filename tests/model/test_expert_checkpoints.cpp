// Damaged mixture-of-experts checkpoints: each fault is refused at load with an error that names
// the tensor at fault, rather than a crash or a silently wrong model. The gpt_oss_mxfp4 fixture
// is rewritten with one fault at a time into a temporary folder.
#include <QtTest>

#include <filesystem>
#include <functional>

#include "../support/ParityFixture.h"
#include "../support/SafetensorsWriter.h"
#include "backend/cpu/CpuOps.h"
#include "model/TransformerModel.h"

using namespace strata;
using namespace strata::testsupport;
using FileTensor = strata::testsupport::TensorSpec;
namespace fs = std::filesystem;

class TestExpertCheckpoints : public QObject {
    Q_OBJECT
private:
    CpuOps ops_;

    // The fixture rewritten by `fault` (which may reorder, reshape or drop tensors); `cut` bytes are
    // then taken off the end of the file. Returns the load's error message ("" when it loaded).
    std::string loadDamaged(const std::function<void(std::vector<FileTensor>&)>& fault, uint64_t cut = 0) {
        QTemporaryDir tmp;
        const fs::path src = parityModelPath("gpt_oss_mxfp4").toStdString(), dir = tmp.path().toStdString();
        for (const char* file : {"config.json", "tokenizer.json", "tokenizer_config.json"})
            fs::copy_file(src / file, dir / file);
        std::vector<FileTensor> tensors = readSafetensors(src / "model.safetensors");
        if (tensors.empty()) return "the fixture could not be read";
        fault(tensors);
        const fs::path file = dir / "model.safetensors";
        if (!writeSafetensors(file, tensors)) return "the damaged copy could not be written";
        if (cut) fs::resize_file(file, fs::file_size(file) - cut);
        auto model = TransformerModel::load(dir, ops_, ModelOptions{});
        return model.ok() ? "" : model.error().message;
    }

    static FileTensor& find(std::vector<FileTensor>& tensors, const std::string& name) {
        for (FileTensor& t : tensors)
            if (t.name == name) return t;
        qFatal("no tensor %s in the fixture", name.c_str());
    }

private slots:
    void undamagedLoads() {
        QCOMPARE(loadDamaged([](std::vector<FileTensor>&) {}), std::string());
    }

    // The blocks of one layer's experts end past the end of the file.
    void truncatedBlocks() {
        const std::string name = "model.layers.1.mlp.experts.gate_up_proj_blocks";
        const std::string error = loadDamaged(
            [&](std::vector<FileTensor>& tensors) {
                FileTensor moved = find(tensors, name);
                std::erase_if(tensors, [&](const FileTensor& t) { return t.name == name; });
                tensors.push_back(std::move(moved));  // last in the file, so the cut lands in it
            },
            1000);
        qInfo("%s", error.c_str());
        QVERIFY(error.find(name) != std::string::npos);
        QVERIFY(error.find("truncated") != std::string::npos);
    }

    // Blocks of the right size with one group missing from every row: the shape gives it away.
    void blocksOfTheWrongShape() {
        const std::string name = "model.layers.2.mlp.experts.down_proj_blocks";
        const std::string error = loadDamaged([&](std::vector<FileTensor>& tensors) {
            FileTensor& t = find(tensors, name);
            t.shape = {8, 64, 1, 16};
            t.bytes.resize(8 * 64 * 16);
        });
        qInfo("%s", error.c_str());
        QVERIFY(error.find(name) != std::string::npos);
    }

    void scalesOfTheWrongShape() {
        const std::string name = "model.layers.0.mlp.experts.gate_up_proj_scales";
        const std::string error = loadDamaged([&](std::vector<FileTensor>& tensors) {
            FileTensor& t = find(tensors, name);
            t.shape = {8, 128, 3};
            t.bytes.resize(8 * 128 * 3, 127);
        });
        qInfo("%s", error.c_str());
        QVERIFY(error.find(name) != std::string::npos);
        QVERIFY(error.find("[8, 128, 3]") != std::string::npos);
    }

    // A router with a ninth expert's row, where the config gives eight experts.
    void routerWithMoreExperts() {
        const std::string name = "model.layers.3.mlp.router.weight";
        const std::string error = loadDamaged([&](std::vector<FileTensor>& tensors) {
            FileTensor& t = find(tensors, name);
            t.shape = {9, 64};
            t.bytes.resize(9 * 64 * 2, 0);
        });
        qInfo("%s", error.c_str());
        QVERIFY(error.find(name) != std::string::npos);
        QVERIFY(error.find("[9, 64]") != std::string::npos);
    }

    // Scales stored as bf16 rather than bytes are not MXFP4 scales.
    void scalesNotBytes() {
        const std::string name = "model.layers.0.mlp.experts.down_proj_scales";
        const std::string error = loadDamaged([&](std::vector<FileTensor>& tensors) {
            FileTensor& t = find(tensors, name);
            t.dtype = "BF16";
            t.bytes.resize(t.bytes.size() * 2, 0);
        });
        qInfo("%s", error.c_str());
        QVERIFY(error.find(name) != std::string::npos);
        QVERIFY(error.find("U8") != std::string::npos);
    }

    // An MXFP4 checkpoint whose config.json lost its quantization_config.
    void blocksWithoutQuantizationConfig() {
        QTemporaryDir tmp;
        const fs::path src = parityModelPath("gpt_oss_mxfp4").toStdString(), dir = tmp.path().toStdString();
        for (const auto& entry : fs::directory_iterator(src)) fs::copy_file(entry.path(), dir / entry.path().filename());
        auto config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
        config.erase("quantization_config");
        std::ofstream(dir / "config.json", std::ios::trunc) << config.dump(2);
        auto model = TransformerModel::load(dir, ops_, ModelOptions{});
        QVERIFY(!model.ok());
        qInfo("%s", model.error().message.c_str());
        QVERIFY(model.error().message.find("gate_up_proj") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestExpertCheckpoints)
#include "test_expert_checkpoints.moc"
