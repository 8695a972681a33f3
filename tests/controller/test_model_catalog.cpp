// The model picker's list: GGUF files and Hugging Face folders in the given folders (and one level
// below), and the snapshots of the Hugging Face hub cache, named by their repository.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "ModelCatalog.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {
void touch(const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
}
}  // namespace

class TestModelCatalog : public QObject {
    Q_OBJECT

private slots:
    void findsFilesFoldersAndTheHubCache() {
        QTemporaryDir dir;
        const fs::path root = dir.path().toStdString();
        touch(root / "models" / "gemma-3-270m-q4_k_m.gguf");
        touch(root / "models" / "notes.txt");
        touch(root / "models" / "llama" / "config.json");
        touch(root / "models" / "llama" / "model.safetensors");
        touch(root / "models" / "half" / "config.json");  // no weights: not a model
        touch(root / "models" / "deep" / "er" / "lost.gguf");  // two levels down: not searched
        const fs::path snapshot = root / "hub" / "models--google--gemma-3-1b-it" / "snapshots" / "abc123";
        touch(snapshot / "config.json");
        touch(snapshot / "model.safetensors");
        touch(root / "hub" / "models--TheBloke--x-GGUF" / "snapshots" / "r1" / "x.Q4_K_M.gguf");
        touch(root / "hub" / "datasets--a--b" / "snapshots" / "r" / "config.json");

        const auto found = findModels({root / "models", root / "missing"}, root / "hub");
        QStringList labels;
        for (const ModelEntry& e : found) labels << QString::fromStdString(e.label);
        QCOMPARE(labels, (QStringList{"TheBloke/x-GGUF/x.Q4_K_M.gguf (HF cache)", "gemma-3-270m-q4_k_m.gguf",
                                      "google/gemma-3-1b-it (HF cache)", "llama"}));
        QCOMPARE(found[2].path, snapshot);

        // The same folder named twice is listed once.
        QCOMPARE(findModels({root / "models", root / "models"}, root / "none").size(), size_t(2));
    }
};

QTEST_GUILESS_MAIN(TestModelCatalog)
#include "test_model_catalog.moc"
