#include "model/Generator.h"

#include <algorithm>
#include <optional>

#include "core/Clock.h"

namespace strata {

namespace {

Status validateRequest(const ModelConfig& config, const KvCache& kv, const GenerationRequest& request) {
    if (request.promptIds.empty()) return badInput("the prompt is empty");
    if (request.maxNewTokens < 0) return badInput("--max-tokens must not be negative");
    if (request.checkpointTokens < 0) return badInput("the checkpoint interval must not be negative");
    if (auto problem = validate(request.sampling)) return badInput(*problem);
    STRATA_TRY(checkEmbeddedSpans(request.embedded, int64_t(request.promptIds.size())));
    const int64_t end = kv.length() + int64_t(request.promptIds.size());
    if (config.maxPositions > 0 && end > config.maxPositions)
        return badInput("the prompt needs " + std::to_string(end) + " positions but the model's context is " +
                        std::to_string(config.maxPositions) + " tokens");
    return {};
}

// Where a prefill piece starting at `done` ends: `piece` tokens on, or earlier, before a span
// attended both ways that it would cut; a piece that starts at such a span takes it whole.
int64_t pieceEnd(const std::vector<EmbeddedSpan>& spans, int64_t done, int64_t piece, int64_t total) {
    int64_t end = std::min(done + piece, total);
    for (const EmbeddedSpan& span : spans) {
        if (!span.bidirectional || span.offset + span.rows <= end || span.offset >= end) continue;
        end = span.offset > done ? span.offset : span.offset + span.rows;
    }
    return end;
}

void reportProgress(const GenerationCallbacks& callbacks, GenerationPhase phase, int64_t done, int64_t total,
                    double elapsed) {
    if (!callbacks.onProgress) return;
    GenerationProgress p{phase, done, total, 0, -1};
    if (elapsed > 0 && done > 0) {
        p.tokensPerSecond = double(done) / elapsed;
        p.etaSeconds = double(total - done) / p.tokensPerSecond;
    }
    callbacks.onProgress(p);
}

// The decode side of one sequence: sampling, stop tokens and strings, and the text streamed so far.
class SequenceDecode {
public:
    SequenceDecode(const Tokenizer* tokenizer, const GenerationRequest& request, const GenerationCallbacks& callbacks)
        : request_(request), callbacks_(callbacks), sampler_(request.sampling), history_(request.promptIds) {
        result.promptTokens = int64_t(request.promptIds.size());
        result.stopReason = "max tokens";
        if (tokenizer) {
            decoder_.emplace(*tokenizer);
            stops_.emplace(request.stopStrings);
        }
        if (const auto& sofar = request.answerSoFar) {
            // The state the paused run had after these tokens; their text is not streamed again.
            history_ = sofar->promptIds;
            sampler_.skipDraws(sofar->samplerDraws);
            for (int32_t id : sofar->outputIds) {
                ++result.generatedTokens;
                result.outputIds.push_back(id);
                history_.push_back(id);
                if (decoder_) result.text += stops_->push(decoder_->push(id));
            }
        }
    }

    // Samples the next token from logits; returns it when the sequence goes on, nothing when it ended.
    std::optional<int32_t> next(std::span<float> logits, int64_t kvLength, const ModelConfig& config) {
        if (result.generatedTokens >= request_.maxNewTokens) return std::nullopt;
        // Every token returned so far has been run, so nothing is left unfed.
        if (callbacks_.cancelRequested && callbacks_.cancelRequested()) {
            result.stopReason = "cancelled";
            return std::nullopt;
        }
        if (callbacks_.pauseRequested && callbacks_.pauseRequested()) {
            result.stopReason = "paused";
            return std::nullopt;
        }
        const int32_t id = sampler_.sample(logits, history_);
        ++result.generatedTokens;
        if (std::find(request_.stopTokenIds.begin(), request_.stopTokenIds.end(), id) != request_.stopTokenIds.end()) {
            result.stopReason = "stop token";
            return std::nullopt;
        }
        result.outputIds.push_back(id);
        history_.push_back(id);
        if (decoder_) {
            emit(stops_->push(decoder_->push(id)));
            if (stops_->stopped()) {
                result.stopReason = "stop string";
                result.unfedIds = {id};
                return std::nullopt;
            }
        }
        if (result.generatedTokens == request_.maxNewTokens ||
            (config.maxPositions > 0 && kvLength >= config.maxPositions)) {
            if (result.generatedTokens < request_.maxNewTokens) result.stopReason = "context full";
            result.unfedIds = {id};
            return std::nullopt;
        }
        return id;
    }

    // Ends the answer: the text held back (a possible stop string's start, an unfinished UTF-8
    // character) is emitted, unless the answer is only paused and will go on.
    void finish() {
        result.samplerDraws = sampler_.draws();
        if (result.stopReason == "paused") return;
        if (decoder_ && !stops_->stopped()) emit(stops_->push(decoder_->flush()) + stops_->flush());
    }

    GenerationResult result;

private:
    void emit(const std::string& text) {
        if (text.empty()) return;
        result.text += text;
        if (callbacks_.onText) callbacks_.onText(text);
    }

    const GenerationRequest& request_;
    const GenerationCallbacks& callbacks_;
    Sampler sampler_;
    std::vector<int32_t> history_;
    std::optional<StreamingDecoder> decoder_;
    std::optional<StopStringMatcher> stops_;
};

}  // namespace

Result<GenerationResult> generate(TransformerModel& model, const Tokenizer* tokenizer, KvCache& kv,
                                  const GenerationRequest& request, const GenerationCallbacks& callbacks) {
    const ModelConfig& config = model.config();
    STRATA_TRY(validateRequest(config, kv, request));
    const int64_t promptTokens = int64_t(request.promptIds.size());

    // Prefill: every prompt token through each layer in turn, a checkpoint piece at a time.
    std::vector<float> logits;
    const auto prefillStart = SteadyClock::now();
    reportProgress(callbacks, GenerationPhase::Prefill, 0, promptTokens, 0);
    const int64_t piece = request.checkpointTokens > 0 ? request.checkpointTokens : promptTokens;
    for (int64_t done = 0, n = 0; done < promptTokens; done += n) {
        n = pieceEnd(request.embedded, done, piece, promptTokens) - done;
        const std::span<const int32_t> ids(request.promptIds.data() + done, size_t(n));
        const auto spans = spansWithin(request.embedded, done, n, config.hiddenSize);
        STRATA_TRY(model.forward(
            ids, kv, false, logits,
            [&](int64_t layers, int64_t total) {
                reportProgress(callbacks, GenerationPhase::Prefill, done + n * layers / total, promptTokens,
                               secondsSince(prefillStart));
            },
            spans));
        if (callbacks.onCheckpoint) STRATA_TRY(callbacks.onCheckpoint(done + n));
        if (done + n < promptTokens && ((callbacks.cancelRequested && callbacks.cancelRequested()) ||
                                        (callbacks.pauseRequested && callbacks.pauseRequested())))
            return cancelled("stopped after " + std::to_string(done + n) + " of " + std::to_string(promptTokens) +
                             " prompt tokens");
    }

    SequenceDecode sequence(tokenizer, request, callbacks);
    sequence.result.prefillSeconds = secondsSince(prefillStart);
    const auto decodeStart = SteadyClock::now();
    while (auto id = sequence.next(logits, kv.length(), config)) {
        reportProgress(callbacks, GenerationPhase::Decode, sequence.result.generatedTokens, request.maxNewTokens,
                       secondsSince(decodeStart));
        const int32_t next[1] = {*id};
        STRATA_TRY(model.forward(next, kv, false, logits));
    }
    sequence.finish();
    sequence.result.decodeSeconds = secondsSince(decodeStart);
    return std::move(sequence.result);
}

Result<GenerationResult> generate(TransformerModel& model, const Tokenizer* tokenizer, const GenerationRequest& request,
                                  const GenerationCallbacks& callbacks) {
    auto kv = KvCache::create(model.ops(), model.config(), {});
    STRATA_TRY(kv);
    return generate(model, tokenizer, *kv.value(), request, callbacks);
}

Result<std::vector<GenerationResult>> generateBatch(TransformerModel& model, const Tokenizer* tokenizer,
                                                    const KvCache& context,
                                                    const std::vector<GenerationRequest>& requests,
                                                    const std::vector<GenerationCallbacks>& callbacks,
                                                    const KvCacheOptions& forkOptions) {
    const ModelConfig& config = model.config();
    if (requests.empty()) return badInput("no questions to answer");
    if (callbacks.size() != requests.size()) return internalError("generateBatch: one set of callbacks per request");
    std::vector<std::unique_ptr<KvCache>> forks;
    std::vector<SequenceDecode> sequences;
    sequences.reserve(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
        STRATA_TRY(validateRequest(config, context, requests[i]));
        auto fork = KvCache::fork(context, forkOptions);
        STRATA_TRY(fork);
        forks.push_back(std::move(fork.value()));
        sequences.emplace_back(tokenizer, requests[i], callbacks[i]);
    }

    // All prompts in one pass; then each round feeds every live sequence its newest token.
    std::vector<float> logits;
    std::vector<SequenceStep> steps;
    for (size_t i = 0; i < requests.size(); ++i)
        steps.push_back({requests[i].promptIds, forks[i].get(), requests[i].embedded});
    const auto prefillStart = SteadyClock::now();
    STRATA_TRY(model.forward(steps, false, logits));
    const double prefillSeconds = secondsSince(prefillStart);
    for (SequenceDecode& s : sequences) s.result.prefillSeconds = prefillSeconds;

    const auto decodeStart = SteadyClock::now();
    const size_t vocab = size_t(config.vocabSize);
    std::vector<size_t> live(requests.size());
    for (size_t i = 0; i < live.size(); ++i) live[i] = i;
    std::vector<int32_t> nextIds(requests.size());
    while (!live.empty()) {
        std::vector<size_t> still;
        steps.clear();
        for (size_t row = 0; row < live.size(); ++row) {
            const size_t i = live[row];
            const std::span<float> rowLogits(logits.data() + row * vocab, vocab);
            if (auto id = sequences[i].next(rowLogits, forks[i]->length(), config)) {
                nextIds[i] = *id;
                still.push_back(i);
            }
        }
        for (size_t i : still) steps.push_back({std::span<const int32_t>(&nextIds[i], 1), forks[i].get(), {}});
        live = std::move(still);
        if (!live.empty()) STRATA_TRY(model.forward(steps, false, logits));
    }
    std::vector<GenerationResult> results;
    for (SequenceDecode& s : sequences) {
        s.finish();
        s.result.decodeSeconds = secondsSince(decodeStart);
        results.push_back(std::move(s.result));
    }
    return results;
}

}  // namespace strata
