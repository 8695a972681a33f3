#pragma once
// A Llama model with random bf16 weights, written into a folder with the tokenizer of the
// llama_tied fixture (vocabulary 512): for tests that need a model of a chosen shape (many
// layers to stream, long contexts to page) rather than a reference to compare against.
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/SafetensorsWriter.h"
#include "support/TestPaths.h"

namespace strata::testsupport {

struct RandomLlamaShape {
    int64_t hidden = 64;
    int64_t layers = 2;
    int64_t heads = 2;
    int64_t kvHeads = 2;
    int64_t headDim = 32;
    int64_t ffn = 128;
    int64_t maxPositions = 4096;
    uint32_t seed = 7;
    // The end-of-text token's row of the (tied) embedding zeroed: its logit is 0 where others
    // reach well above, so greedy answers run to their length limit (jobs long enough to stop).
    bool eosNeverWins = false;
};

// Large enough that a prompt of a few thousand tokens takes a noticeable moment on the CPU (jobs
// to watch, stop and resume), small enough to write in a second.
inline RandomLlamaShape jobSizedLlama() {
    RandomLlamaShape shape;
    shape.hidden = 256;
    shape.layers = 4;
    shape.heads = 4;
    shape.kvHeads = 2;
    shape.headDim = 64;
    shape.ffn = 512;
    return shape;
}

inline TensorSpec randomBf16(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng, float mean,
                             float std) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    TensorSpec t{name, "BF16", std::move(shape), std::vector<uint8_t>(size_t(n) * 2)};
    std::normal_distribution<float> dist(mean, std);
    // A table of normal values picked by a fast generator keeps this quick for 100M+ weights.
    std::vector<uint16_t> table(4096);
    for (uint16_t& v : table) v = floatToBf16(dist(rng));
    uint64_t state = rng();
    auto* out = reinterpret_cast<uint16_t*>(t.bytes.data());
    for (int64_t i = 0; i < n; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = table[(state >> 52) & 4095];
    }
    return t;
}

// Writes model.safetensors, config.json and the tokenizer files into dir (created).
inline bool writeRandomLlama(const std::filesystem::path& dir, const RandomLlamaShape& s) {
    constexpr int64_t kVocab = 512;
    std::filesystem::create_directories(dir);
    std::mt19937 rng(s.seed);
    std::vector<TensorSpec> tensors;
    tensors.push_back(randomBf16("model.embed_tokens.weight", {kVocab, s.hidden}, rng, 0, 0.5f));
    if (s.eosNeverWins)  // bf16 zeros for row 1, the eos_token_id below
        std::fill(tensors.back().bytes.begin() + s.hidden * 2, tensors.back().bytes.begin() + 2 * s.hidden * 2, 0);
    tensors.push_back(randomBf16("model.norm.weight", {s.hidden}, rng, 1, 0.05f));
    for (int64_t i = 0; i < s.layers; ++i) {
        const std::string l = "model.layers." + std::to_string(i) + ".";
        tensors.push_back(randomBf16(l + "input_layernorm.weight", {s.hidden}, rng, 1, 0.05f));
        tensors.push_back(randomBf16(l + "post_attention_layernorm.weight", {s.hidden}, rng, 1, 0.05f));
        tensors.push_back(randomBf16(l + "self_attn.q_proj.weight", {s.heads * s.headDim, s.hidden}, rng, 0, 0.03f));
        tensors.push_back(randomBf16(l + "self_attn.k_proj.weight", {s.kvHeads * s.headDim, s.hidden}, rng, 0, 0.03f));
        tensors.push_back(randomBf16(l + "self_attn.v_proj.weight", {s.kvHeads * s.headDim, s.hidden}, rng, 0, 0.03f));
        tensors.push_back(randomBf16(l + "self_attn.o_proj.weight", {s.hidden, s.heads * s.headDim}, rng, 0, 0.03f));
        tensors.push_back(randomBf16(l + "mlp.gate_proj.weight", {s.ffn, s.hidden}, rng, 0, 0.03f));
        tensors.push_back(randomBf16(l + "mlp.up_proj.weight", {s.ffn, s.hidden}, rng, 0, 0.03f));
        tensors.push_back(randomBf16(l + "mlp.down_proj.weight", {s.hidden, s.ffn}, rng, 0, 0.03f));
    }
    if (!writeSafetensors(dir / "model.safetensors", tensors)) return false;
    const nlohmann::json config = {{"model_type", "llama"},
                                   {"architectures", {"LlamaForCausalLM"}},
                                   {"hidden_size", s.hidden},
                                   {"num_hidden_layers", s.layers},
                                   {"num_attention_heads", s.heads},
                                   {"num_key_value_heads", s.kvHeads},
                                   {"head_dim", s.headDim},
                                   {"intermediate_size", s.ffn},
                                   {"vocab_size", kVocab},
                                   {"max_position_embeddings", s.maxPositions},
                                   {"rms_norm_eps", 1e-5},
                                   {"rope_theta", 500000.0},
                                   {"tie_word_embeddings", true},
                                   {"bos_token_id", 0},
                                   {"eos_token_id", 1}};
    if (!writeFile(dir / "config.json", config.dump(2))) return false;
    const std::filesystem::path tokenizer = testDataDir() / "models" / "llama_tied";
    std::error_code ec;
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
        std::filesystem::copy_file(tokenizer / name, dir / name, std::filesystem::copy_options::overwrite_existing, ec);
    return !ec;
}

}  // namespace strata::testsupport
