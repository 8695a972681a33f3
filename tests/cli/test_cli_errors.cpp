// Bad input reaches the user as one clear error line and exit code 2, never a crash.
#include <QtTest>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "cli/CliRunner.h"
#include "../support/GgufLayout.h"
#include "../support/TestPaths.h"

namespace fs = std::filesystem;
using strata::testsupport::GgufLayout;

namespace {
const fs::path kModels = strata::testsupport::testDataDir() / "models";

std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void writeAll(const fs::path& p, const std::string& s) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << s;
}

std::string withU32(std::string b, size_t at, uint32_t v) {
    std::memcpy(b.data() + at, &v, 4);
    return b;
}
std::string withU64(std::string b, size_t at, uint64_t v) {
    std::memcpy(b.data() + at, &v, 8);
    return b;
}

// The file with the header bytes [at, at + len) replaced by any number of bytes: the header is
// padded again, and the tensor data (addressed from the data section's start) follows unchanged.
std::string withHeaderBytes(const std::string& b, const GgufLayout& l, size_t at, size_t len, const std::string& bytes) {
    std::string header = b.substr(0, at) + bytes + b.substr(at + len, l.headerEnd - (at + len));
    header.resize((header.size() + l.alignment - 1) / l.alignment * l.alignment, '\0');
    return header + b.substr(l.dataStart);
}
std::string lengthPrefixed(const std::string& s) {
    const uint64_t n = s.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + s;
}

// The file with one metadata string replaced by a string of any length.
std::string withMetadataString(const std::string& b, const GgufLayout& l, const std::string& key,
                               const std::string& value) {
    const GgufLayout::Kv* kv = l.kv(key);
    if (!kv) return {};
    uint64_t oldLen = 0;
    std::memcpy(&oldLen, b.data() + kv->valueAt, 8);
    return withHeaderBytes(b, l, kv->valueAt, 8 + oldLen, lengthPrefixed(value));
}

// The file with one metadata key, or one tensor, under another name.
std::string withKeyRenamed(const std::string& b, const GgufLayout& l, const std::string& key, const std::string& to) {
    const GgufLayout::Kv* kv = l.kv(key);
    if (!kv) return {};
    const size_t at = kv->valueAt - 4 - key.size() - 8;  // the key's length field; its type follows the key
    return withHeaderBytes(b, l, at, 8 + key.size(), lengthPrefixed(to));
}
std::string withTensorRenamed(const std::string& b, const GgufLayout& l, const std::string& name, const std::string& to) {
    for (const GgufLayout::Tensor& t : l.tensors)
        if (t.name == name) return withHeaderBytes(b, l, t.nameAt, 8 + name.size(), lengthPrefixed(to));
    return {};
}

// Two tensors whose names have the same length, so one can be renamed to the other in place.
std::pair<const GgufLayout::Tensor*, const GgufLayout::Tensor*> sameLengthNames(const GgufLayout& l) {
    for (size_t i = 0; i < l.tensors.size(); ++i)
        for (size_t j = i + 1; j < l.tensors.size(); ++j)
            if (l.tensors[i].name.size() == l.tensors[j].name.size()) return {&l.tensors[i], &l.tensors[j]};
    return {nullptr, nullptr};
}

const fs::path kGgufLlama = strata::testsupport::testDataDir() / "gguf" / "models" / "llama" / "model.gguf";

// A valid GGUF file with one thing wrong, and what the error must say about it.
struct BadGguf {
    const char* tag;
    const char* mentions;
    std::string (*patch)(const std::string& bytes, const GgufLayout& layout);
};

const BadGguf kBadGgufs[] = {
    {"wrong-magic", "not a GGUF model",
     [](const std::string& b, const GgufLayout&) { return "GGUX" + b.substr(4); }},
    {"cut-in-half", "truncated", [](const std::string& b, const GgufLayout&) { return b.substr(0, b.size() / 2); }},
    {"cut-in-header", "the file ends inside the metadata count",
     [](const std::string& b, const GgufLayout&) { return b.substr(0, 20); }},
    {"cut-in-tensor-infos", "truncated",
     [](const std::string& b, const GgufLayout& l) { return b.substr(0, l.tensors[20].nameAt + 4); }},
    {"absurd-tensor-count", "claims 1099511627776 tensors",
     [](const std::string& b, const GgufLayout&) { return withU64(b, GgufLayout::kTensorCountAt, uint64_t(1) << 40); }},
    {"absurd-kv-count", "claims 4294967296 metadata keys",
     [](const std::string& b, const GgufLayout&) { return withU64(b, GgufLayout::kKvCountAt, uint64_t(1) << 32); }},
    {"absurd-dimension", "impossible dimension 1125899906842624",
     [](const std::string& b, const GgufLayout& l) { return withU64(b, l.tensors[1].dimsAt, uint64_t(1) << 50); }},
    {"five-dims", "has 5 dimensions",
     [](const std::string& b, const GgufLayout& l) { return withU32(b, l.tensors[1].nDimsAt, 5); }},
    {"offset-outside-file", "lies outside",
     [](const std::string& b, const GgufLayout& l) { return withU64(b, l.tensors[1].offsetAt, b.size()); }},
    {"offset-unaligned", "not a multiple of the 32-byte alignment",
     [](const std::string& b, const GgufLayout& l) {
         return withU64(b, l.tensors[1].offsetAt, l.tensors[1].offset + 1);
     }},
    {"unknown-type", "type 99",
     [](const std::string& b, const GgufLayout& l) { return withU32(b, l.tensors[1].typeAt, 99); }},
    {"unsupported-type", "IQ2_XXS",
     [](const std::string& b, const GgufLayout& l) { return withU32(b, l.tensors[1].typeAt, 16); }},
    {"big-endian", "big-endian",
     [](const std::string& b, const GgufLayout&) { return withU32(b, GgufLayout::kVersionAt, 0x03000000); }},
    {"version-1", "version 1",
     [](const std::string& b, const GgufLayout&) { return withU32(b, GgufLayout::kVersionAt, 1); }},
    {"duplicate-tensor", "appears twice",
     [](const std::string& b, const GgufLayout& l) {
         auto [first, second] = sameLengthNames(l);
         if (!first) return std::string();
         std::string out = b;
         out.replace(second->nameAt + 8, second->name.size(), first->name);
         return out;
     }},
    {"falcon", "'falcon'",
     [](const std::string& b, const GgufLayout& l) {
         return withMetadataString(b, l, "general.architecture", "falcon");
     }},
    // Strict loading: a key or a tensor Strata does not implement is refused by name.
    {"unknown-metadata-key", "llama.expert_count",
     [](const std::string& b, const GgufLayout& l) { return withKeyRenamed(b, l, "llama.vocab_size", "llama.expert_count"); }},
    {"yarn-attention-factor", "llama.rope.scaling.yarn_attn_factor",
     [](const std::string& b, const GgufLayout& l) {
         return withKeyRenamed(b, l, "llama.rope.dimension_count", "llama.rope.scaling.yarn_attn_factor");
     }},
    {"unknown-tensor", "rope_factors_long.weight",
     [](const std::string& b, const GgufLayout& l) {
         return withTensorRenamed(b, l, "rope_freqs.weight", "rope_factors_long.weight");
     }},
    {"unknown-tokenizer-key", "tokenizer.ggml.add_sep_token",
     [](const std::string& b, const GgufLayout& l) {
         return withKeyRenamed(b, l, "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_sep_token");
     }},
    {"zero-bytes", "is empty", [](const std::string&, const GgufLayout&) { return std::string(); }},
};

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
        expectBadInputMentioning(args, {mentions});
    }
    void expectBadInputMentioning(const QStringList& args, const QStringList& mentions) {
        verifyBadInput(runCli(args), mentions);
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
    // Strict loading: a tensor the architecture does not use, a config key that would change the
    // arithmetic and is not implemented, and an unknown key each refuse the load by name.
    void unknownTensor() {
        const fs::path m = copyFixture("llama_tied", "extra-tensor");
        const std::string bytes = readAll(m / "model.safetensors");
        uint64_t len = 0;
        std::memcpy(&len, bytes.data(), 8);
        auto header = nlohmann::json::parse(bytes.substr(8, len));
        const uint64_t end = bytes.size() - 8 - len;
        header["model.layers.1.mlp.gate_scale"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {end, end + 8}}};
        const std::string h = header.dump();
        const uint64_t newLen = h.size();
        std::string out(8, '\0');
        std::memcpy(out.data(), &newLen, 8);
        writeAll(m / "model.safetensors", out + h + bytes.substr(8 + len) + std::string(8, '\0'));
        expectBadInput(runArgs(m), "model.layers.1.mlp.gate_scale");
    }
    void unsupportedConfigKeys_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("json");
        QTest::addColumn<QStringList>("mentions");
        QTest::newRow("rope longrope (v5 layout)")
            << "rope_parameters" << R"({"rope_type": "longrope", "factor": 4.0, "rope_theta": 10000.0})"
            << QStringList{"rope_type", "longrope"};
        QTest::newRow("rope dynamic (v4 layout)") << "rope_scaling" << R"({"type": "dynamic", "factor": 2.0})"
                                                  << QStringList{"rope_scaling", "dynamic"};
        QTest::newRow("sliding window on llama") << "sliding_window" << "4096" << QStringList{"sliding_window", "4096"};
        QTest::newRow("unknown key") << "attn_temperature_tuning" << "true" << QStringList{"attn_temperature_tuning"};
        QTest::newRow("quantisation") << "quantization_config" << R"({"quant_method": "awq", "bits": 4})"
                                      << QStringList{"quantization_config", "awq"};
    }
    void unsupportedConfigKeys() {
        QFETCH(QString, key);
        QFETCH(QString, json);
        QFETCH(QStringList, mentions);
        static int copies = 0;
        const fs::path m = copyFixture("llama_tied", ("config-" + std::to_string(copies++)).c_str());
        auto config = nlohmann::json::parse(readAll(m / "config.json"));
        if (key == "rope_scaling") config.erase("rope_parameters");
        config[key.toStdString()] = nlohmann::json::parse(json.toStdString());
        writeAll(m / "config.json", config.dump(2));
        expectBadInputMentioning(runArgs(m), mentions);
    }
    void inertConfigKeysAreIgnored() {
        const fs::path m = copyFixture("llama_tied", "inert-keys");
        auto config = nlohmann::json::parse(readAll(m / "config.json"));
        config["attention_dropout"] = 0.1;
        config["use_cache"] = false;
        config["initializer_range"] = 0.05;
        config["mlp_bias"] = false;
        config["sliding_window"] = nullptr;
        writeAll(m / "config.json", config.dump(2));
        const CliRun r = runCli(runArgs(m));
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    }
    void nonUtf8PromptFile() {
        const fs::path f = fs::path(tmp_.path().toStdString()) / "latin1.txt";
        writeAll(f, "Caf\xe9 au lait\n");
        expectBadInput({"run", "--model", QString::fromStdString((kModels / "llama_tied").string()), "--prompt-file",
                        QString::fromStdString(f.string()), "--raw"},
                       "not valid UTF-8");
    }
    void missingModelFolder() { expectBadInput({"info", "--model", "/no/such/model"}, "/no/such/model"); }
    // Inputs the GGUF fuzz target's author found (tests/fuzz/crashes): each is refused as bad input.
    void ggufFuzzFindings() {
        const QString crashes = strata::testsupport::testDataPath("../fuzz/crashes/");
        expectBadInput({"info", "--model", crashes + "oom-gemma3-block-count.gguf"}, "block_count");
        const QString out = tmp_.path() + "/converted";
        expectBadInput({"convert", "--gguf", crashes + "convert-invalid-utf8-token.gguf", "--out", out},
                       "not valid UTF-8");
        QVERIFY(!QFileInfo::exists(out));
    }
    void badFlags() {
        const QString m = QString::fromStdString((kModels / "llama_tied").string());
        expectBadInput({"run", "--model", m, "--prompt", "x", "--temperature", "-1"}, "temperature");
        expectBadInput({"run", "--model", m, "--prompt", "x", "--frobnicate"}, "--frobnicate");
        expectBadInput({"run", "--model", m, "--prompt", "x", "--prompt-file", "y"}, "--prompt");
        expectBadInput({"info", "--model", m, "--ram-budget", "lots"}, "ram-budget");
        expectBadInput({"run", "--model", m, "--prompt", "x", "--vram-budget", "6GiB"}, "CUDA");
        expectBadInput({"bench", "--model", m, "--vram-budget", "6GiB"}, "CUDA");
        expectBadInput({"transmogrify"}, "transmogrify");
    }
    // Each bad GGUF file is the llama fixture with one field patched; `info` must refuse it with
    // one line that names the file and the problem.
    void badGgufFile_data() {
        QTest::addColumn<int>("index");
        for (size_t i = 0; i < std::size(kBadGgufs); ++i) QTest::newRow(kBadGgufs[i].tag) << int(i);
    }
    void badGgufFile() {
        QFETCH(int, index);
        const BadGguf& c = kBadGgufs[index];
        const std::string original = readAll(kGgufLlama);
        const std::optional<GgufLayout> layout = GgufLayout::of(original);
        QVERIFY2(layout && layout->tensors.size() > 20,
                 qPrintable("cannot walk the header of " + QString::fromStdString(kGgufLlama.string())));
        const std::string patched = c.patch(original, *layout);
        QVERIFY2(!patched.empty() || std::string(c.tag) == "zero-bytes", "the fixture cannot be patched this way");
        QVERIFY(patched != original);
        const fs::path f = fs::path(tmp_.path().toStdString()) / (std::string(c.tag) + ".gguf");
        writeAll(f, patched);
        expectBadInputMentioning({"info", "--model", QString::fromStdString(f.string())},
                                 {QString::fromStdString(f.string()), c.mentions});
    }
    void unpatchedGgufLoads() {
        // The cases above patch a file that loads: their errors come from the patch.
        const CliRun r = runCli({"info", "--model", QString::fromStdString(kGgufLlama.string())});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    }
    void tooSmallBudget() {
        expectBadInput({"info", "--model", QString::fromStdString((kModels / "llama_tied").string()), "--ram-budget",
                        "10KiB"},
                       "too small");
    }
};

QTEST_GUILESS_MAIN(TestCliErrors)
#include "test_cli_errors.moc"
