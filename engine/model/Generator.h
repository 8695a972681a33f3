#pragma once
// One request from prompt ids to generated text: layer-major prefill of the prompt, then
// token-major decode with sampling, stop tokens and stop strings, reporting progress as it goes.
// Several requests on one shared context decode together, one pass over the weights per token.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"
#include "model/TransformerModel.h"
#include "sampling/Sampler.h"
#include "tokenizer/Tokenizer.h"

namespace strata {

enum class GenerationPhase { Prefill, Decode };

struct GenerationProgress {
    GenerationPhase phase = GenerationPhase::Prefill;
    int64_t done = 0;   // prompt tokens through all layers (prefill) or tokens generated (decode)
    int64_t total = 0;
    double tokensPerSecond = 0;
    double etaSeconds = -1;  // -1: unknown
};

// An answer that was paused part-way (GenerationCallbacks::pauseRequested) and goes on now: its
// tokens are in the cache, and the request's promptIds is its last token, run again for its logits.
struct AnswerSoFar {
    std::vector<int32_t> promptIds;  // the turn's prompt, which the repetition penalty sees
    std::vector<int32_t> outputIds;  // generated before the pause
    uint64_t samplerDraws = 0;       // random numbers the sampler had drawn
};

struct GenerationRequest {
    std::vector<int32_t> promptIds;  // run after whatever the KV cache already holds
    // Prompt rows given as features (images, audio) in place of their placeholder ids; offsets
    // into promptIds. The values belong to the caller and must outlive the call.
    std::vector<EmbeddedSpan> embedded;
    int64_t maxNewTokens = 256;
    SamplingParams sampling;
    std::vector<int32_t> stopTokenIds;
    std::vector<std::string> stopStrings;
    // Prefill in pieces of this many tokens, each through every layer, with onCheckpoint after
    // each piece (a piece ends before an image rather than inside it); 0: the whole prompt in one
    // pass.
    int64_t checkpointTokens = 0;
    // Set: decoding continues this answer, which counts towards maxNewTokens; its text is not
    // streamed again, but the result's outputIds and text hold the whole answer.
    std::optional<AnswerSoFar> answerSoFar;
};

struct GenerationResult {
    std::vector<int32_t> outputIds;  // generated ids, without the stop token
    std::string text;                // decoded output, cut before any stop string
    // "stop token", "stop string", "max tokens", "context full", "cancelled", "paused"
    std::string stopReason;
    // The answer's last token when decoding stopped before running it (max tokens, a stop string,
    // a full context): the KV cache lacks it, so a continuation must run it first.
    std::vector<int32_t> unfedIds;
    int64_t promptTokens = 0;
    double prefillSeconds = 0;
    int64_t generatedTokens = 0;
    double decodeSeconds = 0;
    uint64_t samplerDraws = 0;  // for a paused answer's AnswerSoFar
};

struct GenerationCallbacks {
    std::function<void(std::string_view)> onText;  // text that became final
    std::function<void(const GenerationProgress&)> onProgress;
    // After each prefill piece: prompt tokens now in the cache. An error stops the job.
    std::function<Status(int64_t promptTokensDone)> onCheckpoint;
    // Polled between prefill pieces (after their checkpoint) and before each decode step; true
    // stops the job: in prefill with a Cancelled error, in decode with stop reason "cancelled"
    // and the answer so far. May be called from the generating thread only.
    std::function<bool()> cancelRequested;
    // Polled with cancelRequested; true stops the job to be continued later (a signal, a logout,
    // the window closed with the job left for later): in prefill as a cancel, in decode with stop
    // reason "paused", every generated token in the cache and the text held back for a possible
    // stop string not yet emitted, so that an AnswerSoFar continues exactly.
    std::function<bool()> pauseRequested;
};

// tokenizer may be null: then no text is produced and stop strings are ignored.
// Appends to kv: the prompt, then every generated token but the last.
Result<GenerationResult> generate(TransformerModel& model, const Tokenizer* tokenizer, KvCache& kv,
                                  const GenerationRequest& request, const GenerationCallbacks& callbacks = {});
// The same on a fresh cache in backend memory.
Result<GenerationResult> generate(TransformerModel& model, const Tokenizer* tokenizer, const GenerationRequest& request,
                                  const GenerationCallbacks& callbacks = {});

// Answers every request on its own fork of `context` (which is left unchanged): the prompts are
// prefilled together, then all sequences decode together, one forward pass per token for all of
// them. onText of callbacks[i] streams request i. Checkpoints are not taken.
Result<std::vector<GenerationResult>> generateBatch(TransformerModel& model, const Tokenizer* tokenizer,
                                                    const KvCache& context,
                                                    const std::vector<GenerationRequest>& requests,
                                                    const std::vector<GenerationCallbacks>& callbacks,
                                                    const KvCacheOptions& forkOptions = {});

}  // namespace strata
