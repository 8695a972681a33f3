#include "model/TransformerModel.h"

#include <algorithm>
#include <cmath>
#include <new>

#include "model/Rope.h"

namespace strata {

// Backend buffers reused across calls; they grow to the largest chunk seen and never shrink, so
// the per-token loop allocates nothing.
struct TransformerModel::Scratch {
    enum Name { Hidden, Normed, Q, K, V, AttnOut, Proj, Gate, Up, Logits, Count };
    std::vector<float*> ptr = std::vector<float*>(Count, nullptr);
    std::vector<size_t> size = std::vector<size_t>(Count, 0);
    std::vector<float> hostHidden;
    std::vector<uint8_t> hostRow;
    std::vector<int32_t> positions;
};

uint64_t deviceReserveBytes(const ModelConfig& c, int64_t contextTokens, int64_t chunk) {
    chunk = std::min(chunk, contextTokens);
    const int64_t q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
    // The Scratch buffers forward() allocates: hidden states of every token, the rest per chunk.
    // The Scratch buffers forward() allocates (hidden states of every token, the rest per chunk),
    // and the GEMM's copy of its input rounded to the weights' type.
    const int64_t widest = std::max({c.hiddenSize, q, c.intermediateSize});
    const int64_t floats = contextTokens * c.hiddenSize +
                           chunk * (2 * c.hiddenSize + 2 * q + 2 * kv + 2 * c.intermediateSize + widest) + c.vocabSize;
    constexpr uint64_t kWorkspaceAndStaging = uint64_t(96) << 20;
    return KvCache::bytesFor(c, contextTokens) + uint64_t(floats) * sizeof(float) + kWorkspaceAndStaging;
}

ResidencyOptions residencyOptionsFor(const ModelConfig& config, const ModelOptions& options) {
    ResidencyOptions r;
    r.vramBudget = options.vramBudget;
    r.ramBudget = options.ramBudget;
    r.vramReserve = options.vramReserve ? options.vramReserve
                                        : deviceReserveBytes(config, options.contextTokens, options.prefillChunk);
    return r;
}

TransformerModel::TransformerModel(Ops& ops, ModelConfig config, std::unique_ptr<Checkpoint> checkpoint,
                                   WeightLayout layout, ModelOptions options)
    : ops_(ops), config_(std::move(config)), checkpoint_(std::move(checkpoint)), layout_(std::move(layout)),
      options_(options), scratch_(std::make_unique<Scratch>()) {}

TransformerModel::~TransformerModel() {
    streamer_.reset();
    for (float* p : scratch_->ptr)
        if (p) ops_.release(p);
}

Result<std::unique_ptr<TransformerModel>> TransformerModel::load(const std::filesystem::path& dir, Ops& ops,
                                                                 const ModelOptions& options) {
    auto checkpoint = Checkpoint::open(dir);
    STRATA_TRY(checkpoint);
    auto config = loadModelConfig(*checkpoint.value());
    STRATA_TRY(config);
    STRATA_TRY(resolveTensorNames(config.value(), *checkpoint.value()));
    auto layout = buildWeightLayout(config.value(), *checkpoint.value());
    STRATA_TRY(layout);
    auto plan = planResidency(layout.value(), residencyOptionsFor(config.value(), options));
    STRATA_TRY(plan);
    if (options.prefillChunk <= 0) return badInput("the prefill chunk must be at least one token");

    std::unique_ptr<TransformerModel> model(new TransformerModel(ops, std::move(config.value()),
                                                                 std::move(checkpoint.value()),
                                                                 std::move(layout.value()), options));
    const ModelConfig& c = model->config_;
    for (int64_t i = 0; i < c.numLayers; ++i) {
        if (c.isSlidingLayer(i) && c.ropeLocalTheta > 0)
            model->invFreq_.push_back(ropeInvFreq(c.headDim, c.ropeLocalTheta, RopeScaling{}));
        else
            model->invFreq_.push_back(ropeInvFreq(c.headDim, c.ropeTheta, c.ropeScaling));
    }
    STRATA_ASSIGN(model->streamer_, ops.makeWeightSource(*model->checkpoint_, model->layout_, plan.value()));
    return model;
}

float* TransformerModel::buffer(int name, size_t floats) {
    Scratch& s = *scratch_;
    if (s.size[size_t(name)] < floats) {
        if (s.ptr[size_t(name)]) ops_.release(s.ptr[size_t(name)]);
        s.ptr[size_t(name)] = nullptr;
        s.size[size_t(name)] = 0;
        s.ptr[size_t(name)] = ops_.allocate(floats);
        s.size[size_t(name)] = floats;
    }
    return s.ptr[size_t(name)];
}

Status TransformerModel::embed(std::span<const int32_t> tokens, float* hidden) {
    const TensorInfo& table = *layout_.embedding;
    const int64_t h = config_.hiddenSize;
    const uint64_t rowBytes = uint64_t(h) * dtypeSize(table.dtype);
    Scratch& s = *scratch_;
    s.hostHidden.resize(tokens.size() * size_t(h));
    s.hostRow.resize(rowBytes);
    // Gemma scales embeddings by sqrt(hidden_size), computed in the compute type.
    const float scale = config_.scaleEmbeddings ? std::sqrt(float(h)) : 1.0f;
    for (size_t t = 0; t < tokens.size(); ++t) {
        const int32_t id = tokens[t];
        if (id < 0 || id >= config_.vocabSize)
            return badInput("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                            std::to_string(config_.vocabSize) + ")");
        // Only the rows in use are read: the table stays on disk.
        STRATA_TRY(checkpoint_->readRows(table, id, 1, s.hostRow.data()));
        float* dst = s.hostHidden.data() + t * size_t(h);
        widenToFloat(s.hostRow.data(), table.dtype, size_t(h), dst);
        if (scale != 1.0f)
            for (int64_t i = 0; i < h; ++i) dst[i] *= scale;
    }
    ops_.upload(hidden, s.hostHidden.data(), s.hostHidden.size());
    return {};
}

Status TransformerModel::forward(std::span<const int32_t> tokens, KvCache& kv, bool allLogits,
                                 std::vector<float>& logits, const LayerProgress& progress) {
    const ModelConfig& c = config_;
    const int64_t n = int64_t(tokens.size());
    if (n == 0) return badInput("nothing to run: the token list is empty");
    const int64_t start = kv.length();
    if (start + n > kv.capacity())
        return badInput("the sequence needs " + std::to_string(start + n) + " positions but the KV cache holds " +
                        std::to_string(kv.capacity()));
    Scratch& s = *scratch_;
    s.positions.resize(size_t(n));
    for (int64_t t = 0; t < n; ++t) s.positions[size_t(t)] = int32_t(start + t);

    const int64_t h = c.hiddenSize;
    const int64_t chunk = std::min(n, options_.prefillChunk);
    float* hidden;
    try {
        hidden = buffer(Scratch::Hidden, size_t(n * h));
        buffer(Scratch::Normed, size_t(chunk * h));
        buffer(Scratch::Q, size_t(chunk * c.numHeads * c.headDim));
        buffer(Scratch::K, size_t(chunk * c.numKvHeads * c.headDim));
        buffer(Scratch::V, size_t(chunk * c.numKvHeads * c.headDim));
        buffer(Scratch::AttnOut, size_t(chunk * c.numHeads * c.headDim));
        buffer(Scratch::Proj, size_t(chunk * h));
        buffer(Scratch::Gate, size_t(chunk * c.intermediateSize));
        buffer(Scratch::Up, size_t(chunk * c.intermediateSize));
    } catch (const std::bad_alloc&) {
        // A device backend knows which budget ran out and which setting to change.
        Status backend = ops_.takeError();
        if (!backend.ok()) return backend.error();
        return internalError("out of memory for the activations of " + std::to_string(n) +
                             " tokens; lower --chunk to work on fewer tokens at once");
    }
    STRATA_TRY(embed(tokens, hidden));

    const int64_t totalUnits = int64_t(layout_.units.size());
    for (int64_t layer = 0; layer < c.numLayers; ++layer) {
        auto w = streamer_->acquire(int(layer));
        STRATA_TRY(w);
        for (int64_t c0 = 0; c0 < n; c0 += chunk)
            layerForward(layer, w.value(), hidden + c0 * h, std::min(chunk, n - c0), s.positions.data() + c0, kv);
        streamer_->release(int(layer));
        if (progress) progress(layer + 1, totalUnits);
    }

    const int head = layout_.headUnit();
    auto w = streamer_->acquire(head);
    STRATA_TRY(w);
    const int64_t rows = allLogits ? n : 1;
    const float* x = hidden + (allLogits ? 0 : (n - 1) * h);
    float* normed = buffer(Scratch::Normed, size_t(rows * h));
    ops_.rmsNorm(x, rows, w->get(WeightRole::FinalNorm), float(c.rmsNormEps), c.normAddOne, normed);
    float* out = buffer(Scratch::Logits, size_t(rows * c.vocabSize));
    ops_.matmul(normed, rows, w->get(WeightRole::LmHead), out);
    if (c.finalLogitSoftcap > 0) ops_.softcap(out, rows * c.vocabSize, float(c.finalLogitSoftcap));
    streamer_->release(head);
    logits.resize(size_t(rows * c.vocabSize));
    ops_.download(logits.data(), out, logits.size());
    STRATA_TRY(ops_.takeError());
    kv.setLength(start + n);
    if (progress) progress(totalUnits, totalUnits);
    return {};
}

void TransformerModel::layerForward(int64_t layer, const UnitWeights& w, float* x, int64_t n,
                                    const int32_t* positions, const KvCache& kv) {
    const ModelConfig& c = config_;
    Scratch& s = *scratch_;
    float* normed = s.ptr[Scratch::Normed];
    float* q = s.ptr[Scratch::Q];
    float* k = s.ptr[Scratch::K];
    float* v = s.ptr[Scratch::V];
    float* attn = s.ptr[Scratch::AttnOut];
    float* proj = s.ptr[Scratch::Proj];
    float* gate = s.ptr[Scratch::Gate];
    float* up = s.ptr[Scratch::Up];
    const int64_t h = c.hiddenSize;
    const float eps = float(c.rmsNormEps);

    // Attention block.
    ops_.rmsNorm(x, n, w.get(WeightRole::InputNorm), eps, c.normAddOne, normed);
    ops_.matmul(normed, n, w.get(WeightRole::QProj), q);
    ops_.matmul(normed, n, w.get(WeightRole::KProj), k);
    ops_.matmul(normed, n, w.get(WeightRole::VProj), v);
    if (c.qkNorm) {
        ops_.rmsNorm(q, n * c.numHeads, w.get(WeightRole::QNorm), eps, c.normAddOne, q);
        ops_.rmsNorm(k, n * c.numKvHeads, w.get(WeightRole::KNorm), eps, c.normAddOne, k);
    }
    const float* invFreq = invFreq_[size_t(layer)].data();
    ops_.rope(q, n, c.numHeads, c.headDim, positions, invFreq, RopeStyle::NeoX);
    ops_.rope(k, n, c.numKvHeads, c.headDim, positions, invFreq, RopeStyle::NeoX);
    const KvLayerView cache = kv.layer(layer);
    ops_.writeKv(cache, k, v, n, c.numKvHeads * c.headDim, positions);
    AttentionShape shape;
    shape.numHeads = c.numHeads;
    shape.numKvHeads = c.numKvHeads;
    shape.headDim = c.headDim;
    shape.scale = float(c.attentionScale);
    shape.softcap = float(c.attnLogitSoftcap);
    shape.window = c.isSlidingLayer(layer) ? c.slidingWindow : 0;
    ops_.attention(q, n, positions, cache, shape, attn);
    ops_.matmul(attn, n, w.get(WeightRole::OProj), proj);
    if (c.sandwichNorms) ops_.rmsNorm(proj, n, w.get(WeightRole::PostAttentionNorm), eps, c.normAddOne, proj);
    ops_.add(x, proj, n * h);

    // Feed-forward block. Llama's "post_attention_layernorm" is the pre-MLP norm; Gemma has its own.
    const WeightRole preMlp = c.sandwichNorms ? WeightRole::PreFeedforwardNorm : WeightRole::PostAttentionNorm;
    ops_.rmsNorm(x, n, w.get(preMlp), eps, c.normAddOne, normed);
    ops_.matmul(normed, n, w.get(WeightRole::GateProj), gate);
    ops_.matmul(normed, n, w.get(WeightRole::UpProj), up);
    ops_.gatedActivation(gate, up, n * c.intermediateSize, c.activation, gate);
    ops_.matmul(gate, n, w.get(WeightRole::DownProj), proj);
    if (c.sandwichNorms) ops_.rmsNorm(proj, n, w.get(WeightRole::PostFeedforwardNorm), eps, c.normAddOne, proj);
    ops_.add(x, proj, n * h);
}

}  // namespace strata
