// Bad input reaches the user as one clear error line and exit code 2, never a crash.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/CliRunner.h"

namespace fs = std::filesystem;

namespace {
const fs::path kModels = fs::path(STRATA_TEST_DATA_DIR) / "models";

std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void writeAll(const fs::path& p, const std::string& s) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << s;
}
}  // namespace

class TestCliErrors : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    fs::path copyFixture(const char* name, const char* as) {
        const fs::path dst = fs::path(tmp_.path().toStdString()) / as;
        fs::copy(kModels / name, dst, fs::copy_options::recursive);
        return dst;
    }
    // Expect exit code 2 and a single stderr line that says what is wrong.
    void expectBadInput(const QStringList& args, const QString& mentions) {
        const CliRun r = runCli(args);
        QCOMPARE(r.exitCode, 2);
        const QStringList lines = r.errLines();
        QVERIFY2(lines.size() == 1, qPrintable("expected one error line, got: " + r.err));
        QVERIFY2(lines[0].startsWith("strata-cli: error: "), qPrintable(lines[0]));
        QVERIFY2(lines[0].contains(mentions), qPrintable(lines[0] + " does not mention " + mentions));
        QVERIFY(r.out.isEmpty());
    }
    QStringList runArgs(const fs::path& model) {
        return {"run", "--model", QString::fromStdString(model.string()), "--prompt", "hello", "--raw",
                "--max-tokens", "2"};
    }

private slots:
    void truncatedSafetensors() {
        const fs::path m = copyFixture("llama_tied", "truncated");
        const std::string bytes = readAll(m / "model.safetensors");
        writeAll(m / "model.safetensors", bytes.substr(0, bytes.size() / 2));
        expectBadInput(runArgs(m), "model.safetensors");
    }
    void headerOffsetsLie() {
        const fs::path m = copyFixture("llama_tied", "lying");
        const std::string bytes = readAll(m / "model.safetensors");
        uint64_t len = 0;
        std::memcpy(&len, bytes.data(), 8);
        auto header = nlohmann::json::parse(bytes.substr(8, len));
        for (auto& [name, t] : header.items()) {
            if (name == "__metadata__") continue;
            t["data_offsets"][1] = t["data_offsets"][1].get<uint64_t>() + 1000000;
            break;
        }
        const std::string h = header.dump();
        const uint64_t newLen = h.size();
        std::string out(8, '\0');
        std::memcpy(out.data(), &newLen, 8);
        writeAll(m / "model.safetensors", out + h + bytes.substr(8 + len));
        expectBadInput(runArgs(m), "model.safetensors");
    }
    void missingShard() {
        const fs::path m = copyFixture("llama_untied_sharded", "missing-shard");
        fs::remove(m / "model-00002-of-00004.safetensors");
        expectBadInput(runArgs(m), "model-00002-of-00004.safetensors");
    }
    void unknownModelType() {
        const fs::path m = copyFixture("llama_tied", "unknown-type");
        auto config = nlohmann::json::parse(readAll(m / "config.json"));
        config["model_type"] = "mamba9";
        writeAll(m / "config.json", config.dump(2));
        expectBadInput(runArgs(m), "mamba9");
    }
    void brokenConfigJson() {
        const fs::path m = copyFixture("llama_tied", "broken-config");
        const std::string text = readAll(m / "config.json");
        writeAll(m / "config.json", text.substr(0, text.size() / 2));
        expectBadInput(runArgs(m), "config.json");
    }
    void nonUtf8PromptFile() {
        const fs::path f = fs::path(tmp_.path().toStdString()) / "latin1.txt";
        writeAll(f, "Caf\xe9 au lait\n");
        expectBadInput({"run", "--model", QString::fromStdString((kModels / "llama_tied").string()), "--prompt-file",
                        QString::fromStdString(f.string()), "--raw"},
                       "not valid UTF-8");
    }
    void missingModelFolder() { expectBadInput({"info", "--model", "/no/such/model"}, "/no/such/model"); }
    void badFlags() {
        const QString m = QString::fromStdString((kModels / "llama_tied").string());
        expectBadInput({"run", "--model", m, "--prompt", "x", "--temperature", "-1"}, "temperature");
        expectBadInput({"run", "--model", m, "--prompt", "x", "--frobnicate"}, "--frobnicate");
        expectBadInput({"run", "--model", m}, "--prompt");
        expectBadInput({"info", "--model", m, "--ram-budget", "lots"}, "ram-budget");
        expectBadInput({"transmogrify"}, "transmogrify");
    }
    void tooSmallBudget() {
        expectBadInput({"info", "--model", QString::fromStdString((kModels / "llama_tied").string()), "--ram-budget",
                        "10KiB"},
                       "too small");
    }
};

QTEST_GUILESS_MAIN(TestCliErrors)
#include "test_cli_errors.moc"
