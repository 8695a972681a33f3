#pragma once
// The architecture facts of one checkpoint, read from config.json (or a GGUF file's metadata) by
// the family that model_type names, with the defaults that config.json may omit filled in from
// the family's table. The shared blocks (arch/Blocks.h) read these fields; what a family does
// with them is in its own file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "kv/KvShape.h"

namespace strata {

class ModelFamily;

enum class RopeScalingType { None, Llama3, Linear, Yarn };

struct RopeScaling {
    RopeScalingType type = RopeScalingType::None;
    double factor = 1.0;
    // llama3 only
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int64_t originalMaxPositions = 8192;  // llama3 and yarn
    // yarn only: the ramp between interpolated and extrapolated frequencies, and the factor that
    // multiplies cos and sin (applied as its square on the attention scale).
    double betaFast = 32.0;
    double betaSlow = 1.0;
    bool truncate = true;
    double attentionFactor = 1.0;
};

struct ModelConfig : KvShape {
    std::string modelType;  // as written in config.json (a multimodal wrapper's, when it is one)
    const ModelFamily* family = nullptr;  // the decoder's family (arch/Registry.h)

    int64_t hiddenSize = 0;
    int64_t numHeads = 0;
    int64_t intermediateSize = 0;
    int64_t vocabSize = 0;
    int64_t maxPositions = 0;

    double rmsNormEps = 1e-5;
    bool normAddOne = false;      // RMSNorm multiplies by (1 + w)
    bool qkNorm = false;          // per-head RMSNorm on q and k before rope
    bool sandwichNorms = false;   // norms after attention and around the feed-forward block
    bool scaleEmbeddings = false; // embeddings * sqrt(hidden_size)
    bool qkvBias = false;         // q, k and v projections add a bias
    bool outputBias = false;      // the attention's output projection adds one
    bool mlpBias = false;         // gate, up and down projections add one
    Activation activation = Activation::SiLU;

    // A learned logit per head joins each query's softmax as a key with no value.
    bool attentionSinks = false;

    // A mixture of experts in place of the dense MLP: numExperts experts of intermediateSize,
    // expertsPerToken routed per token (softmax over the top logits of a router with a bias),
    // each a SwiGLU clamped at swigluLimit with sigmoid gain swigluAlpha, over gate and up
    // projections interleaved in one matrix, with biases.
    int64_t numExperts = 0;  // 0: a dense MLP
    int64_t expertsPerToken = 0;
    double swigluAlpha = 1.702;
    double swigluLimit = 7.0;
    bool expertsMxfp4 = false;  // experts stored as MXFP4 blocks and scales
    bool isMixtureOfExperts() const { return numExperts > 0; }

    double attentionScale = 0;    // multiplies q.k
    double attnLogitSoftcap = 0;  // 0: off
    double finalLogitSoftcap = 0; // 0: off

    double ropeTheta = 10000.0;       // full-attention layers
    double ropeLocalTheta = 0;        // sliding layers; 0: same as ropeTheta
    RopeScaling ropeScaling;          // applies to full-attention layers only

    bool tieWordEmbeddings = false;
    int32_t bosTokenId = -1;
    std::vector<int32_t> eosTokenIds;

    // Prefix of the decoder's tensor names: "model." for *ForCausalLM checkpoints,
    // "language_model.model." or "model.language_model." inside a multimodal wrapper.
    std::string tensorPrefix = "model.";
    // Name of the output head tensor when untied ("lm_head.weight" or "language_model.lm_head.weight").
    std::string lmHeadName = "lm_head.weight";
};

class Checkpoint;

// Parses config.json text. `source` names the file in error messages.
// hidden_size, num_hidden_layers and intermediate_size must be present; every other key falls
// back to the default of the model_type's transformers config class.
Result<ModelConfig> parseModelConfig(const std::string& jsonText, const std::string& source);
Result<ModelConfig> loadModelConfig(const std::filesystem::path& modelDir);
// The text of modelDir/config.json; badInput when it is missing, unreadable or implausibly large.
Result<std::string> readConfigJson(const std::filesystem::path& modelDir);
// The config of an open checkpoint: config.json beside safetensors, the metadata of a GGUF file.
Result<ModelConfig> loadModelConfig(const Checkpoint& checkpoint);

// Settles the names config.json cannot know: picks the tensorPrefix whose embed_tokens.weight
// exists, and the output head. When an lm_head tensor exists, lmHeadName names it and
// tieWordEmbeddings becomes false (transformers uses a stored head even when asked to tie);
// when none exists and the config ties, lmHeadName names the embedding tensor. Also checks the
// embedding's shape and that the last layer exists, so wrong config defaults fail here.
Status resolveTensorNames(ModelConfig& config, const Checkpoint& checkpoint);

}  // namespace strata
