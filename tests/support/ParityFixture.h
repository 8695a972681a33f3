#pragma once
// The parity fixtures of tests/data/models (safetensors) and tests/data/gguf/models (the same
// models written as llama.cpp writes GGUF files): inputs and transformers' outputs.
#include <QString>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "TestPaths.h"

namespace strata::testsupport {

struct ParityReference {
    std::vector<int32_t> inputIds;
    std::vector<float> logits;  // [inputIds.size(), vocab]
    int64_t vocab = 0;
    std::vector<int32_t> greedyPrompt, greedyNew;
};

inline const char* const kParityFixtures[] = {
    "llama_tied", "llama_untied_sharded", "llama_bias", "qwen2", "qwen2_yarn", "qwen3", "gemma3_text", "gemma3_conditional_text",
    "gpt_oss", "gpt_oss_mxfp4",
    "gguf/llama", "gguf/llama_q8", "gguf/llama_bias", "gguf/qwen2", "gguf/qwen2_yarn", "gguf/qwen3", "gguf/gemma3",
    "gguf/gpt_oss"};

// How far the log-probability of a token may be from the log-softmax of transformers' logits, on
// the CPU backend (which multiplies gguf/llama_q8's Q8_0 weights packed, exactly as its reference
// dequantises them): every fixture agrees to float noise.
inline constexpr double kParityLogProbTolerance = 1e-3;

// "name" is tests/data/models/name; "gguf/name" is tests/data/gguf/models/name/model.gguf.
inline QString parityFixtureDir(const QString& fixture) {
    if (fixture.startsWith("gguf/")) return testDataPath("gguf/models/") + fixture.mid(5);
    return testDataPath("models/") + fixture;
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

// Our logits [positions, vocab] against the reference's: the largest |difference| and the largest
// |reference logit|, the positions whose top-1 agrees, and the disagreeing positions that are
// close calls (the reference's top two within 3e-2 of the largest |reference logit| seen so far).
struct LogitComparison {
    double maxAbs = 0;
    double maxRef = 0;
    int agree = 0;
    int closeCalls = 0;
};

inline LogitComparison compareLogits(const std::vector<float>& ours, const ParityReference& ref) {
    LogitComparison c;
    for (size_t p = 0; p < ref.inputIds.size(); ++p) {
        const float* a = ours.data() + p * size_t(ref.vocab);
        const float* b = ref.logits.data() + p * size_t(ref.vocab);
        for (int64_t v = 0; v < ref.vocab; ++v) {
            c.maxAbs = std::max(c.maxAbs, double(std::fabs(a[v] - b[v])));
            c.maxRef = std::max(c.maxRef, double(std::fabs(b[v])));
        }
        const int64_t best = std::max_element(b, b + ref.vocab) - b;
        float second = -INFINITY;
        for (int64_t v = 0; v < ref.vocab; ++v)
            if (v != best) second = std::max(second, b[v]);
        const bool same = std::max_element(a, a + ref.vocab) - a == best;
        c.agree += same;
        c.closeCalls += !same && b[best] - second < 3e-2 * c.maxRef;
    }
    return c;
}

}  // namespace strata::testsupport
