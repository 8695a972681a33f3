#include "runtime/Generator.h"

#include "core/Clock.h"

#include <algorithm>
#include <optional>

namespace strata {

Result<GenerationResult> generate(TransformerModel& model, const Tokenizer* tokenizer, const GenerationRequest& request,
                                  const GenerationCallbacks& callbacks) {
    const ModelConfig& config = model.config();
    if (request.promptIds.empty()) return badInput("the prompt is empty");
    if (request.maxNewTokens < 0) return badInput("--max-tokens must not be negative");
    if (auto problem = validate(request.sampling)) return badInput(*problem);
    const int64_t promptTokens = int64_t(request.promptIds.size());
    if (config.maxPositions > 0 && promptTokens > config.maxPositions)
        return badInput("the prompt has " + std::to_string(promptTokens) + " tokens but the model's context is " +
                        std::to_string(config.maxPositions) + " tokens");
    int64_t capacity = promptTokens + request.maxNewTokens;
    if (config.maxPositions > 0) capacity = std::min(capacity, config.maxPositions);

    auto kv = KvCache::create(model.ops(), config, capacity);
    STRATA_TRY(kv);

    GenerationResult result;
    result.promptTokens = promptTokens;
    auto report = [&](GenerationPhase phase, int64_t done, int64_t total, double elapsed) {
        if (!callbacks.onProgress) return;
        GenerationProgress p{phase, done, total, 0, -1};
        if (elapsed > 0 && done > 0) {
            p.tokensPerSecond = double(done) / elapsed;
            p.etaSeconds = double(total - done) / p.tokensPerSecond;
        }
        callbacks.onProgress(p);
    };

    // Prefill: every prompt token through each layer in turn.
    std::vector<float> logits;
    const auto prefillStart = SteadyClock::now();
    report(GenerationPhase::Prefill, 0, promptTokens, 0);
    STRATA_TRY(model.forward(request.promptIds, kv.value(), false, logits, [&](int64_t done, int64_t total) {
        report(GenerationPhase::Prefill, promptTokens * done / total, promptTokens, secondsSince(prefillStart));
    }));
    result.prefillSeconds = secondsSince(prefillStart);

    Sampler sampler(request.sampling);
    std::vector<int32_t> history = request.promptIds;
    std::optional<StreamingDecoder> decoder;
    std::optional<StopStringMatcher> stops;
    if (tokenizer) {
        decoder.emplace(*tokenizer);
        stops.emplace(request.stopStrings);
    }
    auto emit = [&](const std::string& text) {
        if (text.empty()) return;
        result.text += text;
        if (callbacks.onText) callbacks.onText(text);
    };

    const auto decodeStart = SteadyClock::now();
    result.stopReason = "max tokens";
    while (result.generatedTokens < request.maxNewTokens) {
        const int32_t id = sampler.sample(logits, history);
        ++result.generatedTokens;
        if (std::find(request.stopTokenIds.begin(), request.stopTokenIds.end(), id) != request.stopTokenIds.end()) {
            result.stopReason = "stop token";
            break;
        }
        result.outputIds.push_back(id);
        history.push_back(id);
        if (decoder) {
            emit(stops->push(decoder->push(id)));
            if (stops->stopped()) {
                result.stopReason = "stop string";
                break;
            }
        }
        report(GenerationPhase::Decode, result.generatedTokens, request.maxNewTokens, secondsSince(decodeStart));
        if (result.generatedTokens == request.maxNewTokens) break;
        if (kv->length() >= kv->capacity()) {
            result.stopReason = "context full";
            break;
        }
        const int32_t next[1] = {id};
        STRATA_TRY(model.forward(next, kv.value(), false, logits));
    }
    if (decoder && !stops->stopped()) emit(stops->push(decoder->flush()) + stops->flush());
    result.decodeSeconds = secondsSince(decodeStart);
    return result;
}

}  // namespace strata
