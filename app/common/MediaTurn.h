#pragma once
// The first turn of a conversation about images and recordings, for strata-cli and the window:
// the parts' pixels and log-mel features through the model's encoders, and the prompt ids with
// their placeholders and the rows that replace them (Gemma 3 writes each image into the text;
// Voxtral, in Mistral's format, puts the audio before the text or asks for a transcription).
#include <functional>
#include <string>
#include <vector>

#include "ModelRuntime.h"
#include "PromptParts.h"
#include "core/Result.h"
#include "multimodal/MediaEncoders.h"
#include "session/SessionJob.h"

namespace strata {

struct MediaTurnOptions {
    bool transcribe = false;  // Voxtral: the words of the one recording, no question
    std::string language;     // with transcribe: "en", ...; empty: the model detects it
    std::function<void(const std::string& line)> status;  // "encoding photo.png"
};

// A job whose promptIds and media hold the turn; chat, enableThinking from format. message is the
// question (with any attached text before it). Parts of other kinds are left to the caller's text.
Result<SavedJob> mediaTurnJob(const ModelConfig& config, const Tokenizer& tokenizer, MediaEncoders& encoders,
                              const std::vector<PromptPart>& parts, const std::string& message,
                              const PromptFormat& format, const MediaTurnOptions& options = {});

}  // namespace strata
