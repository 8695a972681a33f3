#pragma once
// The parity fixtures of tests/data/models (safetensors) and tests/data/gguf/models (the same
// models written as llama.cpp writes GGUF files): inputs and transformers' outputs.
#include <QString>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace strata::testsupport {

struct ParityReference {
    std::vector<int32_t> inputIds;
    std::vector<float> logits;  // [inputIds.size(), vocab]
    int64_t vocab = 0;
    std::vector<int32_t> greedyPrompt, greedyNew;
};

inline const char* const kParityFixtures[] = {"llama_tied",  "llama_untied_sharded", "qwen3",
                                              "gemma3_text", "gemma3_conditional_text", "gguf/llama",
                                              "gguf/llama_q8", "gguf/qwen3",           "gguf/gemma3"};

// "name" is tests/data/models/name; "gguf/name" is tests/data/gguf/models/name/model.gguf.
inline QString parityFixtureDir(const QString& fixture) {
    if (fixture.startsWith("gguf/")) return QStringLiteral(STRATA_TEST_DATA_DIR "/gguf/models/") + fixture.mid(5);
    return QStringLiteral(STRATA_TEST_DATA_DIR "/models/") + fixture;
}
inline QString parityModelPath(const QString& fixture) {
    return fixture.startsWith("gguf/") ? parityFixtureDir(fixture) + "/model.gguf" : parityFixtureDir(fixture);
}

inline ParityReference readParityReference(const QString& fixture) {
    const QString dir = parityFixtureDir(fixture);
    ParityReference r;
    std::ifstream f((dir + "/reference.json").toStdString());
    const auto j = nlohmann::json::parse(f);
    r.inputIds = j["input_ids"].get<std::vector<int32_t>>();
    r.vocab = j["logits_shape"][1].get<int64_t>();
    r.greedyPrompt = j["greedy"]["prompt_ids"].get<std::vector<int32_t>>();
    r.greedyNew = j["greedy"]["new_ids"].get<std::vector<int32_t>>();
    std::ifstream lf((dir + "/" + QString::fromStdString(j["logits_file"].get<std::string>())).toStdString(),
                     std::ios::binary);
    r.logits.resize(r.inputIds.size() * size_t(r.vocab));
    lf.read(reinterpret_cast<char*>(r.logits.data()), std::streamsize(r.logits.size() * sizeof(float)));
    return r;
}

}  // namespace strata::testsupport
