#pragma once
// The generic driver of a decoder-only transformer, written once against the Ops interface:
// chunking, embedding, weight acquire and release, and the head. Each layer's forward is its
// family's (arch/ModelFamily.h). Prefill is layer-major: each layer's weights are fetched once and
// applied to every token chunk. Decode is the same call with one token.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "backend/Ops.h"
#include "core/Result.h"
#include "format/Checkpoint.h"
#include "arch/Blocks.h"
#include "arch/MixtureOfExperts.h"
#include "arch/ModelConfig.h"
#include "runtime/WeightLayout.h"
#include "kv/KvCache.h"
#include "runtime/WeightSource.h"

namespace strata {

struct ModelOptions {
    uint64_t ramBudget = 0;      // bytes of weights held in RAM at once; 0: no limit
    uint64_t vramBudget = 0;     // bytes of VRAM for weights, staging and activations; 0: no GPU tier
    uint64_t vramReserve = 0;    // part of vramBudget kept for activations and KV; 0: deviceReserveBytes()
    int64_t contextTokens = 8192;  // positions the KV cache is sized for, when planning the reserve
    int64_t prefillChunk = 256;  // tokens per attention/MLP chunk in prefill
    uint64_t kvBudget = 0;       // KV bytes the cache may hold in backend memory (KvCacheOptions::residentBytes); 0: all
    // Logits one forward pass may return when it returns every row's (scoring text): the rows
    // that fit in this many bytes (logitRowsWithin). 0: one row's, as generation needs.
    uint64_t logitBytes = 0;
};

// Rows of vocabulary logits (float32) that fit in bytes; at least one.
int64_t logitRowsWithin(const ModelConfig& config, uint64_t bytes);

// Device memory a run needs besides the weights: the KV cache of contextTokens positions (at most
// kvBudget of it, when one is set: the rest lives in RAM or on disk), the activations of a forward
// pass over them in chunks of `chunk` tokens, the logits of logitRows rows, and room for the GEMM
// workspace and small staging buffers.
uint64_t deviceReserveBytes(const ModelConfig& config, int64_t contextTokens, int64_t chunk, uint64_t kvBudget = 0,
                            int64_t logitRows = 1);

// The budgets the model's weights are planned with (TransformerModel::load, strata-cli info).
ResidencyOptions residencyOptionsFor(const ModelConfig& config, const ModelOptions& options);

// Whether a mixture of experts is loaded with its experts as parts of their own (read when routed
// to, cached within the budgets): with a RAM budget, and on the GPU, where the VRAM expert cache
// sits in front of the RAM one. Without either every layer is held whole.
bool splitsExperts(const ModelConfig& config, const ModelOptions& options);

// Called after each layer of a forward pass: layers done, layers in all.
using LayerProgress = std::function<void(int64_t done, int64_t total)>;

// Rows of a sequence whose input is given instead of looked up in the embedding table: the
// projected features of an image or of an audio chunk, in place of its placeholder tokens.
struct EmbeddedSpan {
    int64_t offset = 0;  // first row, counted from the first token of the step (or request)
    int64_t rows = 0;
    const float* values = nullptr;  // host memory, [rows, hiddenSize]; must outlive the call
    // The rows see each other both ways in attention while they are prefilled together (an
    // image's, in some families); otherwise attention stays causal. Such a span is never cut between chunks.
    bool bidirectional = false;
};

// Checks that spans lie inside `tokens` rows, in order, without overlapping, with values.
Status checkEmbeddedSpans(std::span<const EmbeddedSpan> spans, int64_t tokens);
// The spans cut to the rows [first, first + count), with offsets from `first` (rows of
// hiddenSize values).
std::vector<EmbeddedSpan> spansWithin(std::span<const EmbeddedSpan> spans, int64_t first, int64_t count,
                                      int64_t hiddenSize);

// One sequence's share of a forward pass: its tokens run at positions kv->length() onwards.
struct SequenceStep {
    std::span<const int32_t> tokens;
    KvCache* kv = nullptr;
    std::span<const EmbeddedSpan> embedded;  // in order, offsets into tokens
};

class TransformerModel {
public:
    // modelPath: a Hugging Face folder or a GGUF file.
    static Result<std::unique_ptr<TransformerModel>> load(const std::filesystem::path& modelPath, Ops& ops,
                                                          const ModelOptions& options);
    ~TransformerModel();

    const ModelConfig& config() const { return config_; }
    const WeightLayout& layout() const { return layout_; }
    const Checkpoint& checkpoint() const { return *checkpoint_; }
    const WeightSource& streamer() const { return *streamer_; }
    Ops& ops() const { return ops_; }

    // Runs tokens at positions kv.length() onwards and appends their K/V to kv. Writes the logits
    // of the last token, or of every token when allLogits, into logits ([rows, vocab]).
    Status forward(std::span<const int32_t> tokens, KvCache& kv, bool allLogits, std::vector<float>& logits,
                   const LayerProgress& progress = {}, std::span<const EmbeddedSpan> embedded = {});
    // Several sequences in one pass over the weights: their rows share every matrix product and
    // each attends to its own cache (sequences forked from one parent read the parent's blocks
    // once for all of them). Logits: every token's when allLogits, else each sequence's last.
    Status forward(std::span<const SequenceStep> steps, bool allLogits, std::vector<float>& logits,
                   const LayerProgress& progress = {});
    // Tokens run through the model since it was loaded: the engine's count of prefill work.
    int64_t tokensForwarded() const { return tokensForwarded_; }
    // Experts run since the model was loaded (mixture-of-experts models).
    const ExpertUse& expertUse() const { return expertUse_; }

private:
    struct Scratch;
    TransformerModel(Ops& ops, ModelConfig config, std::unique_ptr<Checkpoint> checkpoint, WeightLayout layout,
                     ModelOptions options);
    Status embed(std::span<const SequenceStep> steps, int64_t rows, float* hidden);
    Status layerForward(int64_t layer, const UnitWeights& w, float* x, int64_t n, const int32_t* positions,
                        const int32_t* lastKeys, std::span<const SequencePiece> pieces);
    float* buffer(int name, size_t floats);  // a Scratch buffer of at least floats

    Ops& ops_;
    ModelConfig config_;
    std::unique_ptr<Checkpoint> checkpoint_;
    WeightLayout layout_;
    ModelOptions options_;
    std::unique_ptr<WeightSource> streamer_;
    std::vector<std::vector<float>> invFreq_;  // per layer
    std::unique_ptr<Scratch> scratch_;
    int64_t tokensForwarded_ = 0;
    ExpertUse expertUse_;
};

}  // namespace strata
