#include "model/TransformerModel.h"

#include <algorithm>
#include <cmath>
#include <new>

#include "arch/ModelFamily.h"
#include "arch/Rope.h"
#include "arch/DecoderWeights.h"

namespace strata {

// Backend buffers reused across calls; they grow to the largest chunk seen and never shrink, so
// the per-token loop allocates nothing.
struct TransformerModel::Scratch {
    enum Name {
        Hidden, Normed, Q, K, V, AttnOut, AttnAcc, AttnMax, AttnSum, Proj, Gate, Up, LastRows, Logits,
        // The mixture-of-experts block's: its normed input for every row of the pass, then
        // ExpertBuffers' in order.
        ExpertInput, RouterLogits, ExpertRows, ExpertGateUp, ExpertActivated, ExpertOut,
        Count
    };
    std::vector<float*> ptr = std::vector<float*>(Count, nullptr);
    std::vector<size_t> size = std::vector<size_t>(Count, 0);
    std::vector<float> hostHidden;
    std::vector<uint8_t> hostRow;
    std::vector<int32_t> positions;
    std::vector<int32_t> lastKeys;  // per row, when some span is attended both ways
};

int64_t logitRowsWithin(const ModelConfig& c, uint64_t bytes) {
    const uint64_t row = uint64_t(std::max<int64_t>(c.vocabSize, 1)) * sizeof(float);
    return std::max<int64_t>(1, int64_t(bytes / row));
}

uint64_t deviceReserveBytes(const ModelConfig& c, int64_t contextTokens, int64_t chunk, uint64_t kvBudget,
                            int64_t logitRows) {
    chunk = std::min(chunk, contextTokens);
    logitRows = std::max<int64_t>(logitRows, 1);
    const int64_t q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
    // The Scratch buffers forward() allocates (hidden states of every token, the rest per chunk,
    // the logits and the normed rows they come from), and the GEMM's copy of its input rounded to
    // the weights' type.
    const int64_t widest = std::max({c.hiddenSize, q, c.intermediateSize});
    int64_t floats = contextTokens * c.hiddenSize +
                     chunk * (2 * c.hiddenSize + 3 * q + 2 * c.numHeads + 2 * kv + 2 * c.intermediateSize + widest) +
                     std::max<int64_t>(logitRows - chunk, 0) * c.hiddenSize + logitRows * c.vocabSize;
    if (c.isMixtureOfExperts()) {
        floats += contextTokens * c.hiddenSize;
        for (size_t f : expertBufferFloats(c, contextTokens, chunk)) floats += int64_t(f);
    }
    uint64_t kvBytes = KvCache::bytesFor(c, contextTokens);
    if (kvBudget > 0) kvBytes = std::min(kvBytes, kvBudget);
    return kvBytes + uint64_t(floats) * sizeof(float) + kDeviceWorkspaceBytes;
}

bool splitsExperts(const ModelConfig& config, const ModelOptions& options) {
    return config.isMixtureOfExperts() && (options.ramBudget > 0 || options.vramBudget > 0);
}

ResidencyOptions residencyOptionsFor(const ModelConfig& config, const ModelOptions& options) {
    ResidencyOptions r;
    r.vramBudget = options.vramBudget;
    r.ramBudget = options.ramBudget;
    r.vramReserve = options.vramReserve ? options.vramReserve
                                        : deviceReserveBytes(config, options.contextTokens, options.prefillChunk,
                                                             options.kvBudget,
                                                             options.logitBytes ? logitRowsWithin(config, options.logitBytes)
                                                                                : 1);
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
    if (ops.multipliesPacked(DType::Q8_0)) checkpoint.value()->keepPacked(DType::Q8_0);
    auto config = loadModelConfig(*checkpoint.value());
    STRATA_TRY(config);
    STRATA_TRY(resolveTensorNames(config.value(), *checkpoint.value()));
    auto layout = buildWeightLayout(config.value(), *checkpoint.value());
    STRATA_TRY(layout);
    if (splitsExperts(config.value(), options)) splitExperts(layout.value(), config.value().numExperts);
    if (config.value().expertsMxfp4 && !ops.multipliesPacked(DType::MXFP4))
        return badInput(std::string("the ") + ops.name() + " backend cannot multiply MXFP4 weights, which " +
                        dir.string() + " stores its experts in");
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

Status checkEmbeddedSpans(std::span<const EmbeddedSpan> spans, int64_t tokens) {
    int64_t end = 0;
    for (const EmbeddedSpan& span : spans) {
        if (span.rows <= 0 || span.offset < end || span.offset > tokens - span.rows)
            return badInput("embedded rows " + std::to_string(span.offset) + ".." +
                            std::to_string(span.offset + span.rows) + " do not fit in order within " +
                            std::to_string(tokens) + " tokens");
        if (!span.values) return badInput("embedded rows without values");
        end = span.offset + span.rows;
    }
    return {};
}

std::vector<EmbeddedSpan> spansWithin(std::span<const EmbeddedSpan> spans, int64_t first, int64_t count,
                                      int64_t hiddenSize) {
    std::vector<EmbeddedSpan> within;
    for (const EmbeddedSpan& span : spans) {
        const int64_t begin = std::max(span.offset, first), end = std::min(span.offset + span.rows, first + count);
        if (begin >= end) continue;
        within.push_back({begin - first, end - begin, span.values + (begin - span.offset) * hiddenSize,
                          span.bidirectional});
    }
    return within;
}

Status TransformerModel::embed(std::span<const SequenceStep> steps, int64_t rows, float* hidden) {
    const TensorInfo& table = *layout_.embedding;
    const int64_t h = config_.hiddenSize;
    const uint64_t rowBytes = dtypeBytes(table.dtype, h);
    Scratch& s = *scratch_;
    s.hostHidden.resize(size_t(rows * h));
    s.hostRow.resize(rowBytes);
    // Embeddings scaled by sqrt(hidden_size) (scaleEmbeddings) are scaled in the compute type; given rows
    // (image and audio features) are used as they are.
    const float scale = config_.scaleEmbeddings ? std::sqrt(float(h)) : 1.0f;
    float* dst = s.hostHidden.data();
    for (const SequenceStep& step : steps) {
        auto span = step.embedded.begin();
        for (int64_t t = 0; t < int64_t(step.tokens.size()); ++t, dst += h) {
            if (span != step.embedded.end() && t >= span->offset + span->rows) ++span;
            if (span != step.embedded.end() && t >= span->offset) {
                std::copy_n(span->values + (t - span->offset) * h, size_t(h), dst);
                continue;
            }
            const int32_t id = step.tokens[size_t(t)];
            if (id < 0 || id >= config_.vocabSize)
                return badInput("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                                std::to_string(config_.vocabSize) + ")");
            // Only the rows in use are read: the table stays on disk.
            STRATA_TRY(checkpoint_->readRows(table, id, 1, s.hostRow.data()));
            widenToFloat(s.hostRow.data(), table.dtype, size_t(h), dst);
            if (scale != 1.0f)
                for (int64_t i = 0; i < h; ++i) dst[i] *= scale;
        }
    }
    ops_.upload(hidden, s.hostHidden.data(), s.hostHidden.size());
    return {};
}

Status TransformerModel::forward(std::span<const int32_t> tokens, KvCache& kv, bool allLogits,
                                 std::vector<float>& logits, const LayerProgress& progress,
                                 std::span<const EmbeddedSpan> embedded) {
    const SequenceStep step{tokens, &kv, embedded};
    return forward(std::span<const SequenceStep>(&step, 1), allLogits, logits, progress);
}

Status TransformerModel::forward(std::span<const SequenceStep> steps, bool allLogits, std::vector<float>& logits,
                                 const LayerProgress& progress) {
    const ModelConfig& c = config_;
    Scratch& s = *scratch_;
    s.positions.clear();
    s.lastKeys.clear();
    // Rows of spans attended both ways: [first, end) in the pass's rows, and the longest.
    std::vector<std::pair<int64_t, int64_t>> joint;
    int64_t longestJoint = 0;
    for (const SequenceStep& step : steps) {
        if (step.tokens.empty()) return badInput("nothing to run: the token list is empty");
        STRATA_TRY(checkEmbeddedSpans(step.embedded, int64_t(step.tokens.size())));
        const int64_t start = step.kv->length();
        const int64_t end = start + int64_t(step.tokens.size());
        if (c.maxPositions > 0 && end > c.maxPositions)
            return badInput("the sequence needs " + std::to_string(end) + " positions but the model's context is " +
                            std::to_string(c.maxPositions) + " tokens");
        const int64_t firstRow = int64_t(s.positions.size());
        for (int64_t p = start; p < end; ++p) s.positions.push_back(int32_t(p));
        for (const EmbeddedSpan& span : step.embedded) {
            if (!span.bidirectional) continue;
            joint.emplace_back(firstRow + span.offset, firstRow + span.offset + span.rows);
            longestJoint = std::max(longestJoint, span.rows);
        }
    }
    const int64_t n = int64_t(s.positions.size());
    if (n == 0) return badInput("nothing to run: no sequences");
    if (!joint.empty()) {
        s.lastKeys = s.positions;
        for (const auto& [first, end] : joint)
            for (int64_t r = first; r < end; ++r) s.lastKeys[size_t(r)] = s.positions[size_t(end - 1)];
    }

    // Chunks of at most prefillChunk rows (or the longest joint span), cut before a joint span
    // rather than through it, since its rows must see each other's keys of the same layer.
    const int64_t chunk = std::min(n, std::max(options_.prefillChunk, longestJoint));
    std::vector<int64_t> chunkStart{0};
    for (auto next = joint.begin(); chunkStart.back() + chunk < n;) {
        int64_t cut = chunkStart.back() + chunk;
        while (next != joint.end() && next->second <= cut) ++next;
        if (next != joint.end() && next->first < cut) cut = next->first;
        chunkStart.push_back(cut);
    }
    chunkStart.push_back(n);
    std::vector<std::vector<SequencePiece>> chunks(chunkStart.size() - 1);
    int64_t row = 0;
    size_t ci = 0;
    for (const SequenceStep& step : steps) {
        for (int64_t t = 0; t < int64_t(step.tokens.size());) {
            while (row >= chunkStart[ci + 1]) ++ci;
            const int64_t take = std::min(int64_t(step.tokens.size()) - t, chunkStart[ci + 1] - row);
            chunks[ci].push_back({step.kv, row - chunkStart[ci], take, step.kv->length() + t});
            t += take;
            row += take;
        }
    }

    const int64_t h = c.hiddenSize;
    const int64_t rows = allLogits ? n : int64_t(steps.size());
    float* hidden;
    try {
        hidden = buffer(Scratch::Hidden, size_t(n * h));
        buffer(Scratch::Normed, size_t(std::max(chunk, rows) * h));
        buffer(Scratch::Q, size_t(chunk * c.numHeads * c.headDim));
        buffer(Scratch::K, size_t(chunk * c.numKvHeads * c.headDim));
        buffer(Scratch::V, size_t(chunk * c.numKvHeads * c.headDim));
        buffer(Scratch::AttnOut, size_t(chunk * c.numHeads * c.headDim));
        buffer(Scratch::AttnAcc, size_t(chunk * c.numHeads * c.headDim));
        buffer(Scratch::AttnMax, size_t(chunk * c.numHeads));
        buffer(Scratch::AttnSum, size_t(chunk * c.numHeads));
        buffer(Scratch::Proj, size_t(chunk * h));
        if (!allLogits && steps.size() > 1) buffer(Scratch::LastRows, size_t(rows * h));
        if (!c.isMixtureOfExperts()) {
            buffer(Scratch::Gate, size_t(chunk * c.intermediateSize));
            buffer(Scratch::Up, size_t(chunk * c.intermediateSize));
        } else {
            buffer(Scratch::ExpertInput, size_t(n * h));
            const std::vector<size_t> floats = expertBufferFloats(c, n, chunk);
            for (size_t i = 0; i < floats.size(); ++i) buffer(Scratch::RouterLogits + int(i), floats[i]);
        }
    } catch (const std::bad_alloc&) {
        // A device backend knows which budget ran out and which setting to change.
        Status backend = ops_.takeError();
        if (!backend.ok()) return backend.error();
        return internalError("out of memory for the activations of " + std::to_string(n) +
                             " tokens; lower --chunk to work on fewer tokens at once");
    }
    STRATA_TRY(embed(steps, n, hidden));

    const int64_t totalUnits = int64_t(layout_.units.size());
    for (int64_t layer = 0; layer < c.numLayers; ++layer) {
        auto w = streamer_->acquire(int(layer));
        STRATA_TRY(w);
        for (size_t ci = 0; ci < chunks.size(); ++ci) {
            const int64_t c0 = chunkStart[ci];
            const Status done = layerForward(layer, w.value(), hidden + c0 * h, chunkStart[ci + 1] - c0,
                                             s.positions.data() + c0, s.lastKeys.empty() ? nullptr : s.lastKeys.data() + c0,
                                             chunks[ci]);
            if (!done.ok()) {
                streamer_->release(int(layer));
                return done;
            }
        }
        // What runs once over every row of the pass, after every chunk (a mixture of experts:
        // each expert the pass routes to is then read once, for all its rows).
        LayerPass pass{ops_, c, w.value(), layer, hidden, n, s.ptr[Scratch::ExpertInput],
                       ExpertBuffers{chunk, s.ptr[Scratch::RouterLogits], s.ptr[Scratch::ExpertRows],
                                     s.ptr[Scratch::ExpertGateUp], s.ptr[Scratch::ExpertActivated],
                                     s.ptr[Scratch::ExpertOut]},
                       layout_.expertsSplit() ? streamer_.get() : nullptr, &expertUse_};
        if (const Status done = c.family->forwardPass(pass); !done.ok()) {
            streamer_->release(int(layer));
            return done;
        }
        streamer_->release(int(layer));
        if (progress) progress(layer + 1, totalUnits);
    }

    const int head = layout_.headUnit();
    auto w = streamer_->acquire(head);
    STRATA_TRY(w);
    const float* x = hidden;
    if (!allLogits && steps.size() == 1) {
        x = hidden + (n - 1) * h;
    } else if (!allLogits) {  // each sequence's last row, side by side
        float* last = s.ptr[Scratch::LastRows];
        int64_t end = 0;
        for (size_t i = 0; i < steps.size(); ++i) {
            end += int64_t(steps[i].tokens.size());
            ops_.copy(last + int64_t(i) * h, hidden + (end - 1) * h, size_t(h));
        }
        x = last;
    }
    float* normed = buffer(Scratch::Normed, size_t(rows * h));
    ops_.rmsNorm(x, rows, w->get(WeightRole::FinalNorm), float(c.rmsNormEps), c.normAddOne, normed);
    float* out = buffer(Scratch::Logits, size_t(rows * c.vocabSize));
    ops_.matmul(normed, rows, w->get(WeightRole::LmHead), out);
    if (c.finalLogitSoftcap > 0) ops_.softcap(out, rows * c.vocabSize, float(c.finalLogitSoftcap));
    streamer_->release(head);
    logits.resize(size_t(rows * c.vocabSize));
    ops_.download(logits.data(), out, logits.size());
    STRATA_TRY(ops_.takeError());
    for (const SequenceStep& step : steps) step.kv->setLength(step.kv->length() + int64_t(step.tokens.size()));
    tokensForwarded_ += n;
    if (progress) progress(totalUnits, totalUnits);
    return {};
}

Status TransformerModel::layerForward(int64_t layer, const UnitWeights& w, float* x, int64_t n,
                                      const int32_t* positions, const int32_t* lastKeys,
                                      std::span<const SequencePiece> pieces) {
    Scratch& s = *scratch_;
    LayerStep step{ops_, config_, w, layer, x, n, positions, lastKeys, pieces, invFreq_[size_t(layer)].data(),
                   ChunkBuffers{s.ptr[Scratch::Normed], s.ptr[Scratch::Q], s.ptr[Scratch::K], s.ptr[Scratch::V],
                                s.ptr[Scratch::AttnOut],
                                AttentionState{s.ptr[Scratch::AttnAcc], s.ptr[Scratch::AttnMax], s.ptr[Scratch::AttnSum]},
                                s.ptr[Scratch::Proj], s.ptr[Scratch::Gate], s.ptr[Scratch::Up]}};
    return config_.family->forwardChunk(step);
}

}  // namespace strata
