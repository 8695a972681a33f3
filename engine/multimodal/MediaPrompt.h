#pragma once
// Prompts that hold images or audio: the placeholder tokens each model family expects, and the
// spans that put the encoders' rows (MediaEncoders) in their place.
//
// Gemma 3 writes an image into the prompt text as its processor expands <start_of_image>:
// "\n\n<start_of_image>", then one <image_soft_token> per projected row, "<end_of_image>\n\n";
// the text is then tokenized whole, as transformers does, and the image's rows attend to each
// other both ways during prefill.
//
// Voxtral follows Mistral's format (mistral-common), built from ids since Tekken never reads a
// special token out of text: <s>[INST], then per audio [BEGIN_AUDIO] and one [AUDIO] per row, then
// the text and [/INST]. A transcription request is <s>[INST] audio [/INST] lang:xx [TRANSCRIBE].
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audio/VoxtralAudioConfig.h"
#include "core/Result.h"
#include "model/TransformerModel.h"
#include "tokenizer/Tokenizer.h"
#include "vision/Gemma3VisionConfig.h"

namespace strata {

// The text one Gemma 3 image stands for. The tokenizer must give the config's ids to
// <start_of_image>, <end_of_image> and <image_soft_token>.
Result<std::string> gemma3ImageText(const Tokenizer& tokenizer, const Gemma3VisionConfig& config);

// Mistral's control tokens as a Tekken tokenizer numbers them.
struct MistralControlIds {
    int32_t bos = -1, eos = -1, inst = -1, instEnd = -1;
    int32_t beginAudio = -1, audio = -1, transcribe = -1;  // -1 when the tokenizer has no audio tokens
};
Result<MistralControlIds> mistralControlIds(const Tokenizer& tokenizer);

// <s>[INST] ([BEGIN_AUDIO] [AUDIO] x rows) per audio, text [/INST]. Audio needs a tokenizer
// whose audio token is config.audioTokenId.
Result<std::vector<int32_t>> voxtralChatIds(const Tokenizer& tokenizer, const VoxtralAudioConfig& config,
                                            std::span<const int64_t> audioRows, std::string_view text);
// <s>[INST] [BEGIN_AUDIO] [AUDIO] x rows [/INST] then "lang:<language>" when a language is given,
// then [TRANSCRIBE].
Result<std::vector<int32_t>> voxtralTranscriptionIds(const Tokenizer& tokenizer, const VoxtralAudioConfig& config,
                                                     int64_t audioRows, std::string_view language);
// A further user turn after an answer: </s>[INST] text [/INST].
Result<std::vector<int32_t>> mistralFollowUpIds(const Tokenizer& tokenizer, std::string_view text);

// The runs of placeholderId in ids, each given the next media item's rows ([rows, hiddenSize]),
// in order. The number of runs and each run's length must match the media.
Result<std::vector<EmbeddedSpan>> placeMedia(std::span<const int32_t> ids, int32_t placeholderId,
                                             const std::vector<std::vector<float>>& media, int64_t hiddenSize,
                                             bool bidirectional);

}  // namespace strata
