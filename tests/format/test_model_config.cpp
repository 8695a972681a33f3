// ModelConfig: config.json as transformers 5 writes it and as older checkpoints ship it, with
// per-model_type defaults, and the tensor-name resolution that needs the checkpoint.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>

#include "../support/SafetensorsWriter.h"
#include "format/Checkpoint.h"
#include "arch/ModelConfig.h"
#include "arch/Registry.h"

using namespace strata;
using namespace strata::testsupport;
namespace fs = std::filesystem;

namespace {

// Written by transformers 5.23 save_pretrained for tiny LlamaConfig / Qwen3Config /
// Gemma3TextConfig / Gemma3Config (trimmed of keys Strata ignores only where noted).
const char* kLlamaV5 = R"({
  "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "head_dim": 16,
  "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 128,
  "max_position_embeddings": 2048, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 4,
  "num_hidden_layers": 2, "num_key_value_heads": 2, "pad_token_id": null, "pretraining_tp": 1,
  "rms_norm_eps": 1e-06,
  "rope_parameters": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 8192, "rope_theta": 500000.0, "rope_type": "llama3"},
  "tie_word_embeddings": false, "transformers_version": "5.23.0", "use_cache": true, "vocab_size": 256})";

const char* kQwen3V5 = R"({
  "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": null, "eos_token_id": null, "head_dim": 16,
  "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 128,
  "layer_types": ["full_attention", "full_attention"], "max_position_embeddings": 32768,
  "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 4, "num_hidden_layers": 2,
  "num_key_value_heads": 2, "pad_token_id": null, "rms_norm_eps": 1e-06,
  "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}, "sliding_window": null,
  "tie_word_embeddings": false, "transformers_version": "5.23.0", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 256})";

const char* kGemma3TextV5 = R"({
  "_sliding_window_pattern": 6, "attention_bias": false, "attention_dropout": 0.0,
  "attn_logit_softcapping": null, "bos_token_id": 2, "eos_token_id": 1, "final_logit_softcapping": null,
  "head_dim": 16, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 64, "initializer_range": 0.02,
  "intermediate_size": 128,
  "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                  "sliding_attention", "full_attention", "sliding_attention"],
  "max_position_embeddings": 131072, "model_type": "gemma3_text", "num_attention_heads": 4,
  "num_hidden_layers": 7, "num_key_value_heads": 1, "pad_token_id": 0, "query_pre_attn_scalar": 256,
  "rms_norm_eps": 1e-06,
  "rope_parameters": {"full_attention": {"factor": 8.0, "rope_theta": 1000000.0, "rope_type": "linear"},
                      "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}},
  "sliding_window": 8, "tie_word_embeddings": true, "transformers_version": "5.23.0",
  "use_bidirectional_attention": false, "use_cache": true, "vocab_size": 256})";

const char* kGemma3V5 = R"({
  "boi_token_index": 255999, "eoi_token_index": 256000, "image_token_index": 262144,
  "initializer_range": 0.02, "mm_tokens_per_image": 256, "model_type": "gemma3",
  "text_config": {
    "_sliding_window_pattern": 6, "attention_bias": false, "attention_dropout": 0.0,
    "attn_logit_softcapping": null, "bos_token_id": 2, "eos_token_id": 1, "final_logit_softcapping": null,
    "head_dim": 16, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 64, "initializer_range": 0.02,
    "intermediate_size": 128,
    "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                    "sliding_attention", "full_attention", "sliding_attention"],
    "max_position_embeddings": 131072, "model_type": "gemma3_text", "num_attention_heads": 4,
    "num_hidden_layers": 7, "num_key_value_heads": 1, "pad_token_id": 0, "query_pre_attn_scalar": 256,
    "rms_norm_eps": 1e-06,
    "rope_parameters": {"full_attention": {"rope_theta": 1000000.0, "rope_type": "default"},
                        "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}},
    "sliding_window": 4096, "tie_word_embeddings": true, "use_bidirectional_attention": false,
    "use_cache": true, "vocab_size": 256},
  "tie_word_embeddings": true, "transformers_version": "5.23.0",
  "vision_config": {"hidden_size": 768, "image_size": 224, "model_type": "siglip_vision_model",
                    "num_hidden_layers": 12, "patch_size": 16}})";

// Older layouts as published checkpoints ship them (transformers 4.x): rope_theta + rope_scaling,
// and Gemma 3 text_config listing only the keys that differ from the class defaults.
const char* kLlama31Legacy = R"({
  "architectures": ["LlamaForCausalLM"], "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
  "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336, "max_position_embeddings": 131072,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 128256})";

const char* kQwen3Legacy = R"({
  "architectures": ["Qwen3ForCausalLM"], "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128,
  "hidden_act": "silu", "hidden_size": 1024, "intermediate_size": 3072, "max_position_embeddings": 40960,
  "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28,
  "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
  "sliding_window": null, "tie_word_embeddings": true, "use_sliding_window": false, "vocab_size": 151936})";

const char* kGemma3Legacy4b = R"({
  "architectures": ["Gemma3ForConditionalGeneration"], "boi_token_index": 255999, "eos_token_id": [1, 106],
  "model_type": "gemma3",
  "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
                  "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                  "sliding_window": 1024},
  "vision_config": {"hidden_size": 1152, "image_size": 896, "model_type": "siglip_vision_model"}})";

const char* kGemma3TextLegacy = R"({
  "architectures": ["Gemma3ForCausalLM"], "hidden_size": 1152, "intermediate_size": 6912,
  "model_type": "gemma3_text", "num_attention_heads": 4, "num_hidden_layers": 26, "num_key_value_heads": 1,
  "rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": 512,
  "sliding_window_pattern": 6, "final_logit_softcapping": 30.0, "attn_logit_softcapping": 50.0,
  "query_pre_attn_scalar": 256, "vocab_size": 262144})";

ModelConfig parseOk(const std::string& text) {
    Result<ModelConfig> r = parseModelConfig(text, "/models/x/config.json");
    if (!r.ok()) qFatal("parse failed: %s", r.error().message.c_str());
    return r.value();
}

std::vector<LayerAttention> pattern(int n, int every) {
    std::vector<LayerAttention> v;
    for (int i = 0; i < n; ++i) v.push_back((i + 1) % every == 0 ? LayerAttention::Full : LayerAttention::Sliding);
    return v;
}

// A minimal config for the resolveTensorNames tests: vocab 8, hidden 4, 2 layers.
std::string tinyConfig(const std::string& modelType, bool tie) {
    std::string sizes = R"("hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 2, "vocab_size": 8, "tie_word_embeddings": )" +
                        std::string(tie ? "true" : "false");
    if (modelType == "gemma3") return R"({"model_type": "gemma3", "text_config": {)" + sizes + "}}";
    return R"({"model_type": ")" + modelType + R"(", )" + sizes + "}";
}

std::vector<TensorSpec> tinyTensors(const std::string& prefix, const std::string& head, int vocab = 8) {
    std::vector<TensorSpec> t = {
        tensorF32(prefix + "embed_tokens.weight", {vocab, 4}, std::vector<float>(size_t(vocab) * 4, 0.5f)),
        tensorF32(prefix + "layers.0.input_layernorm.weight", {4}, std::vector<float>(4, 1.0f)),
        tensorF32(prefix + "layers.1.input_layernorm.weight", {4}, std::vector<float>(4, 1.0f)),
    };
    if (!head.empty()) t.push_back(tensorF32(head, {vocab, 4}, std::vector<float>(size_t(vocab) * 4, 0.25f)));
    return t;
}

}  // namespace

class TestModelConfig : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;

    fs::path freshDir() {
        const fs::path d = fs::path(tmp_.path().toStdString()) / QTest::currentTestFunction() /
                           std::to_string(counter_++);
        fs::create_directories(d);
        return d;
    }
    int counter_ = 0;

    void expectBad(const std::string& text, const std::string& mustContain) {
        Result<ModelConfig> r = parseModelConfig(text, "/models/x/config.json");
        QVERIFY2(!r.ok(), ("should fail: " + text.substr(0, 80)).c_str());
        QCOMPARE(int(r.error().kind), int(ErrorKind::BadInput));
        const std::string& msg = r.error().message;
        QVERIFY2(msg.find("/models/x/config.json") != std::string::npos, msg.c_str());
        QVERIFY2(msg.find(mustContain) != std::string::npos, msg.c_str());
    }

    // Resolves names for `config` against a checkpoint holding `tensors`.
    Result<ModelConfig> resolve(const std::string& config, const std::vector<TensorSpec>& tensors) {
        const fs::path d = freshDir();
        if (!writeSafetensors(d / "model.safetensors", tensors)) return internalError("cannot write fixture");
        if (!writeFile(d / "config.json", config)) return internalError("cannot write fixture");
        Result<ModelConfig> c = loadModelConfig(d);
        if (!c.ok()) return c;
        auto ckpt = Checkpoint::open(d);
        if (!ckpt.ok()) return ckpt.error();
        Status s = resolveTensorNames(c.value(), **ckpt);
        if (!s.ok()) return s.error();
        return c;
    }

private slots:
    void llamaFromTransformers5() {
        ModelConfig c = parseOk(kLlamaV5);
        QCOMPARE(c.modelType, std::string("llama"));
        QVERIFY(c.family == findFamily("llama"));
        QCOMPARE(c.hiddenSize, 64);
        QCOMPARE(c.numLayers, 2);
        QCOMPARE(c.numHeads, 4);
        QCOMPARE(c.numKvHeads, 2);
        QCOMPARE(c.headDim, 16);
        QCOMPARE(c.intermediateSize, 128);
        QCOMPARE(c.vocabSize, 256);
        QCOMPARE(c.maxPositions, 2048);
        QCOMPARE(c.rmsNormEps, 1e-6);
        QCOMPARE(c.activation, Activation::SiLU);
        QVERIFY(!c.normAddOne && !c.qkNorm && !c.sandwichNorms && !c.scaleEmbeddings);
        QCOMPARE(c.attentionScale, 0.25);
        QCOMPARE(c.ropeTheta, 500000.0);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::Llama3);
        QCOMPARE(c.ropeScaling.factor, 8.0);
        QCOMPARE(c.ropeScaling.lowFreqFactor, 1.0);
        QCOMPARE(c.ropeScaling.highFreqFactor, 4.0);
        QCOMPARE(c.ropeScaling.originalMaxPositions, 8192);
        QCOMPARE(c.layerTypes, std::vector<LayerAttention>(2, LayerAttention::Full));
        QCOMPARE(c.slidingWindow, 0);
        QVERIFY(!c.tieWordEmbeddings);
        QCOMPARE(c.bosTokenId, 1);
        QCOMPARE(c.eosTokenIds, std::vector<int32_t>{2});
        QCOMPARE(c.tensorPrefix, std::string("model."));
        QCOMPARE(c.lmHeadName, std::string("lm_head.weight"));
    }

    void llamaLegacyRopeScaling() {
        ModelConfig c = parseOk(kLlama31Legacy);
        QCOMPARE(c.headDim, 128);  // hidden / heads
        QCOMPARE(c.rmsNormEps, 1e-5);
        QCOMPARE(c.ropeTheta, 500000.0);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::Llama3);
        QCOMPARE(c.ropeScaling.factor, 8.0);
        QCOMPARE(c.ropeScaling.originalMaxPositions, 8192);
        QCOMPARE(c.bosTokenId, 128000);
        QCOMPARE(c.eosTokenIds, (std::vector<int32_t>{128001, 128008, 128009}));
    }

    void llamaDefaults() {
        ModelConfig c = parseOk(R"({"model_type": "llama", "hidden_size": 256, "intermediate_size": 512,
                                    "num_hidden_layers": 3, "num_attention_heads": 8})");
        QCOMPARE(c.numKvHeads, 8);
        QCOMPARE(c.headDim, 32);
        QCOMPARE(c.vocabSize, 32000);
        QCOMPARE(c.maxPositions, 2048);
        QCOMPARE(c.ropeTheta, 10000.0);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::None);
        QVERIFY(!c.tieWordEmbeddings);
        QCOMPARE(c.bosTokenId, 1);
        QCOMPARE(c.eosTokenIds, std::vector<int32_t>{2});
    }

    void llamaLinearScalingWithOldTypeKey() {
        ModelConfig c = parseOk(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 1, "num_attention_heads": 4, "rope_theta": 20000,
            "rope_scaling": {"type": "linear", "factor": 2.0}})");
        QCOMPARE(c.ropeTheta, 20000.0);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::Linear);
        QCOMPARE(c.ropeScaling.factor, 2.0);
    }

    void llama3ScalingDefaultsOriginalPositions() {
        ModelConfig c = parseOk(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 1, "num_attention_heads": 4, "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "llama3", "factor": 32.0, "rope_theta": 500000.0}})");
        QCOMPARE(c.ropeScaling.type, RopeScalingType::Llama3);
        QCOMPARE(c.ropeScaling.originalMaxPositions, 4096);
        QCOMPARE(c.ropeScaling.lowFreqFactor, 1.0);
        QCOMPARE(c.ropeScaling.highFreqFactor, 4.0);
    }

    void qwen3FromTransformers5() {
        ModelConfig c = parseOk(kQwen3V5);
        QVERIFY(c.family == findFamily("qwen3"));
        QVERIFY(c.qkNorm);
        QVERIFY(!c.normAddOne && !c.sandwichNorms && !c.scaleEmbeddings);
        QCOMPARE(c.headDim, 16);
        QCOMPARE(c.rmsNormEps, 1e-6);
        QCOMPARE(c.ropeTheta, 10000.0);
        QCOMPARE(c.layerTypes, std::vector<LayerAttention>(2, LayerAttention::Full));
        QCOMPARE(c.slidingWindow, 0);
        QCOMPARE(c.bosTokenId, -1);
        QVERIFY(c.eosTokenIds.empty());
        QVERIFY(!c.tieWordEmbeddings);
    }

    void qwen3Legacy() {
        ModelConfig c = parseOk(kQwen3Legacy);
        QCOMPARE(c.hiddenSize, 1024);
        QCOMPARE(c.numHeads, 16);
        QCOMPARE(c.numKvHeads, 8);
        QCOMPARE(c.headDim, 128);  // from the file, not hidden / heads (64)
        QCOMPARE(c.attentionScale, 1.0 / std::sqrt(128.0));
        QCOMPARE(c.ropeTheta, 1e6);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::None);
        QCOMPARE(c.layerTypes, std::vector<LayerAttention>(28, LayerAttention::Full));
        QVERIFY(c.tieWordEmbeddings);
        QCOMPARE(c.bosTokenId, 151643);
        QCOMPARE(c.eosTokenIds, std::vector<int32_t>{151645});
    }

    void qwen3SlidingWindowLayers() {
        ModelConfig c = parseOk(R"({"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
            "use_sliding_window": true, "sliding_window": 16, "max_window_layers": 2})");
        QCOMPARE(c.slidingWindow, 16);
        QCOMPARE(c.layerTypes, (std::vector<LayerAttention>{LayerAttention::Full, LayerAttention::Full,
                                                           LayerAttention::Sliding, LayerAttention::Sliding}));
        QCOMPARE(c.headDim, 128);   // Qwen3Config default, not hidden / heads
        QCOMPARE(c.vocabSize, 151936);
    }

    void gemma3TextFromTransformers5() {
        ModelConfig c = parseOk(kGemma3TextV5);
        QVERIFY(c.family == findFamily("gemma3_text"));
        QVERIFY(c.normAddOne && c.qkNorm && c.sandwichNorms && c.scaleEmbeddings);
        QCOMPARE(c.activation, Activation::GeluTanh);
        QCOMPARE(c.numKvHeads, 1);
        QCOMPARE(c.headDim, 16);
        QCOMPARE(c.attentionScale, 1.0 / 16.0);  // query_pre_attn_scalar 256, not head_dim
        QCOMPARE(c.attnLogitSoftcap, 0.0);
        QCOMPARE(c.finalLogitSoftcap, 0.0);
        QCOMPARE(c.slidingWindow, 8);
        QCOMPARE(c.layerTypes, pattern(7, 6));
        QCOMPARE(c.ropeTheta, 1e6);
        QCOMPARE(c.ropeLocalTheta, 1e4);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::Linear);
        QCOMPARE(c.ropeScaling.factor, 8.0);
        QVERIFY(c.tieWordEmbeddings);
        QCOMPARE(c.bosTokenId, 2);
        QCOMPARE(c.eosTokenIds, std::vector<int32_t>{1});
        QCOMPARE(c.tensorPrefix, std::string("model."));
    }

    void gemma3TextLegacyWithSoftcapsAndPattern() {
        ModelConfig c = parseOk(kGemma3TextLegacy);
        QCOMPARE(c.headDim, 256);
        QCOMPARE(c.vocabSize, 262144);
        QCOMPARE(c.attnLogitSoftcap, 50.0);
        QCOMPARE(c.finalLogitSoftcap, 30.0);
        QCOMPARE(c.layerTypes, pattern(26, 6));
        QCOMPARE(c.slidingWindow, 512);
        QCOMPARE(c.ropeTheta, 1e6);
        QCOMPARE(c.ropeLocalTheta, 1e4);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::None);
        QCOMPARE(c.maxPositions, 131072);
    }

    void gemma3UnderscoredPatternWithoutLayerTypes() {
        ModelConfig c = parseOk(R"({"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 8, "_sliding_window_pattern": 4})");
        QCOMPARE(c.layerTypes, pattern(8, 4));
        QCOMPARE(c.slidingWindow, 4096);
    }

    void gemma3WrapperFromTransformers5() {
        ModelConfig c = parseOk(kGemma3V5);
        QCOMPARE(c.modelType, std::string("gemma3"));
        QVERIFY(c.family == findFamily("gemma3_text"));
        QCOMPARE(c.hiddenSize, 64);
        QCOMPARE(c.numLayers, 7);
        QCOMPARE(c.vocabSize, 256);
        QCOMPARE(c.slidingWindow, 4096);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::None);
        QCOMPARE(c.tensorPrefix, std::string("language_model.model."));
        QCOMPARE(c.lmHeadName, std::string("language_model.lm_head.weight"));
        QVERIFY(c.tieWordEmbeddings);
    }

    // The published Gemma 3 4B config lists six text keys; the rest are Gemma3TextConfig defaults.
    void gemma3WrapperLegacyUsesTextDefaults() {
        ModelConfig c = parseOk(kGemma3Legacy4b);
        QCOMPARE(c.hiddenSize, 2560);
        QCOMPARE(c.numLayers, 34);
        QCOMPARE(c.numHeads, 8);
        QCOMPARE(c.numKvHeads, 4);
        QCOMPARE(c.headDim, 256);
        QCOMPARE(c.intermediateSize, 10240);
        QCOMPARE(c.vocabSize, 262208);
        QCOMPARE(c.rmsNormEps, 1e-6);
        QCOMPARE(c.attentionScale, 1.0 / 16.0);
        QCOMPARE(c.slidingWindow, 1024);
        QCOMPARE(c.layerTypes, pattern(34, 6));
        QCOMPARE(c.ropeTheta, 1e6);
        QCOMPARE(c.ropeLocalTheta, 1e4);
        QCOMPARE(c.ropeScaling.type, RopeScalingType::Linear);
        QCOMPARE(c.ropeScaling.factor, 8.0);
        QVERIFY(c.tieWordEmbeddings);
        QCOMPARE(c.bosTokenId, 2);
        QCOMPARE(c.eosTokenIds, (std::vector<int32_t>{1, 106}));
    }

    void loadFromFolder() {
        const fs::path d = freshDir();
        QVERIFY(writeFile(d / "config.json", kQwen3Legacy));
        Result<ModelConfig> c = loadModelConfig(d);
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QCOMPARE(c->numLayers, 28);
    }

    // ---- bad input ----

    void unknownModelType() { expectBad(R"({"model_type": "xyz", "hidden_size": 4})", "unknown model_type 'xyz'"); }
    void missingModelType() { expectBad(R"({"hidden_size": 4})", "model_type"); }
    void brokenJson() { expectBad("{\"model_type\": \"llama\",\n \"hidden_size\": 4096,,}", "line 2"); }
    void notAnObject() { expectBad("[1, 2]", "object"); }

    void missingConfigFile() {
        const fs::path d = freshDir();
        Result<ModelConfig> r = loadModelConfig(d);
        QVERIFY(!r.ok());
        QCOMPARE(int(r.error().kind), int(ErrorKind::BadInput));
        QVERIFY2(r.error().message.find((d / "config.json").string()) != std::string::npos,
                 r.error().message.c_str());
    }

    void missingRequiredKey() {
        expectBad(R"({"model_type": "llama", "intermediate_size": 8, "num_hidden_layers": 1})", "hidden_size");
        expectBad(R"({"model_type": "gemma3", "text_config": {"hidden_size": 8, "intermediate_size": 8}})",
                  "num_hidden_layers");
    }

    void nonPositiveSizes() {
        expectBad(R"({"model_type": "llama", "hidden_size": 0, "intermediate_size": 8, "num_hidden_layers": 1})",
                  "hidden_size");
        expectBad(R"({"model_type": "qwen3", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": -2})",
                  "num_hidden_layers");
        expectBad(R"({"model_type": "qwen3", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
                      "head_dim": 0})",
                  "head_dim");
        expectBad(R"({"model_type": "llama", "hidden_size": "big", "intermediate_size": 8, "num_hidden_layers": 1})",
                  "hidden_size");
        expectBad(R"({"model_type": "llama", "hidden_size": 8.5, "intermediate_size": 8, "num_hidden_layers": 1})",
                  "hidden_size");
    }

    void headsNotDivisibleByKvHeads() {
        expectBad(R"({"model_type": "llama", "hidden_size": 96, "intermediate_size": 8, "num_hidden_layers": 1,
                      "num_attention_heads": 6, "num_key_value_heads": 4})",
                  "num_key_value_heads");
    }

    void headDimNotDerivable() {
        expectBad(R"({"model_type": "llama", "hidden_size": 100, "intermediate_size": 8, "num_hidden_layers": 1,
                      "num_attention_heads": 3})",
                  "head_dim");
    }

    void unsupportedRopeType() {
        expectBad(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
                      "num_attention_heads": 4, "rope_scaling": {"rope_type": "longrope", "factor": 4.0}})",
                  "unsupported rope_type 'longrope'");
        // YaRN is implemented for Llama, Qwen2 and Qwen3, not for Gemma 3's two ropes.
        expectBad(R"({"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
                      "rope_parameters": {"full_attention": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 1e6},
                                          "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}})",
                  "'yarn' is not supported for Gemma 3");
    }

    void scalingWithoutFactor() {
        expectBad(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
                      "num_attention_heads": 4, "rope_parameters": {"rope_type": "linear"}})",
                  "factor");
    }

    void wrongLayerTypes() {
        expectBad(R"({"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 8,
                      "num_hidden_layers": 3, "layer_types": ["full_attention"]})",
                  "layer_types");
        expectBad(R"({"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 8,
                      "num_hidden_layers": 1, "layer_types": ["chunked_attention"]})",
                  "chunked_attention");
        expectBad(R"({"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
                      "layer_types": ["sliding_attention"]})",
                  "use_sliding_window");
    }

    void unsupportedActivation() {
        expectBad(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
                      "num_attention_heads": 4, "hidden_act": "relu"})",
                  "relu");
    }

    void badTokenIds() {
        expectBad(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1,
                      "num_attention_heads": 4, "eos_token_id": [1, "x"]})",
                  "eos_token_id");
    }

    void badTextConfig() {
        expectBad(R"({"model_type": "gemma3", "text_config": 5})", "text_config");
        expectBad(R"({"model_type": "gemma3", "text_config": {"model_type": "llama", "hidden_size": 8}})",
                  "gemma3_text");
    }

    // ---- tensor names ----

    void resolvesCausalLmNames() {
        Result<ModelConfig> c = resolve(tinyConfig("llama", false), tinyTensors("model.", "lm_head.weight"));
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QCOMPARE(c->tensorPrefix, std::string("model."));
        QCOMPARE(c->lmHeadName, std::string("lm_head.weight"));
        QVERIFY(!c->tieWordEmbeddings);
    }

    void tiedHeadUsesEmbeddings() {
        Result<ModelConfig> c = resolve(tinyConfig("qwen3", true), tinyTensors("model.", ""));
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QVERIFY(c->tieWordEmbeddings);
        QCOMPARE(c->lmHeadName, std::string("model.embed_tokens.weight"));
    }

    void storedHeadWinsOverTie() {
        Result<ModelConfig> c = resolve(tinyConfig("llama", true), tinyTensors("model.", "lm_head.weight"));
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QVERIFY(!c->tieWordEmbeddings);
        QCOMPARE(c->lmHeadName, std::string("lm_head.weight"));
    }

    void gemma3LegacyPrefix() {
        Result<ModelConfig> c = resolve(tinyConfig("gemma3", true), tinyTensors("language_model.model.", ""));
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QCOMPARE(c->tensorPrefix, std::string("language_model.model."));
        QCOMPARE(c->lmHeadName, std::string("language_model.model.embed_tokens.weight"));
    }

    void gemma3NewerPrefixWithTopLevelHead() {
        Result<ModelConfig> c =
            resolve(tinyConfig("gemma3", false), tinyTensors("model.language_model.", "lm_head.weight"));
        QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
        QCOMPARE(c->tensorPrefix, std::string("model.language_model."));
        QCOMPARE(c->lmHeadName, std::string("lm_head.weight"));
    }

    void untiedWithoutHeadIsRejected() {
        Result<ModelConfig> c = resolve(tinyConfig("llama", false), tinyTensors("model.", ""));
        QVERIFY(!c.ok());
        QCOMPARE(int(c.error().kind), int(ErrorKind::BadInput));
        QVERIFY2(c.error().message.find("lm_head.weight") != std::string::npos, c.error().message.c_str());
    }

    void embeddingShapeMismatchIsRejected() {
        Result<ModelConfig> c = resolve(tinyConfig("llama", true), tinyTensors("model.", "", 9));
        QVERIFY(!c.ok());
        QCOMPARE(int(c.error().kind), int(ErrorKind::BadInput));
        QVERIFY2(c.error().message.find("vocab_size 8") != std::string::npos, c.error().message.c_str());
    }

    void noEmbeddingIsRejected() {
        Result<ModelConfig> c = resolve(tinyConfig("llama", true), tinyTensors("transformer.", ""));
        QVERIFY(!c.ok());
        QVERIFY2(c.error().message.find("embed_tokens") != std::string::npos, c.error().message.c_str());
    }

    void missingLastLayerIsRejected() {
        std::vector<TensorSpec> t = tinyTensors("model.", "");
        t.erase(t.begin() + 2);
        Result<ModelConfig> c = resolve(tinyConfig("llama", true), t);
        QVERIFY(!c.ok());
        QVERIFY2(c.error().message.find("model.layers.1.input_layernorm.weight") != std::string::npos,
                 c.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestModelConfig)
#include "test_model_config.moc"
