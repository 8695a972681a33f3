#pragma once
// An answer as its readers take it. A gpt-oss chat writes its reasoning and its answer as harmony
// messages on channels (tokenizer/HarmonyChannels.h): the transcript's turn is the final channel
// alone, so that a follow-up continues the conversation as the template renders it, with the
// reasoning kept beside it; a reader streaming the answer gets the two apart as they come. Other
// models' answers are all answer, as generated.
#include <functional>
#include <string>
#include <string_view>

#include "tokenizer/HarmonyChannels.h"

namespace strata {

// Whether a model's answers come on harmony channels: a gpt-oss model in its chat format.
bool answersOnChannels(const std::string& modelType, bool chat);

struct TranscriptAnswer {
    std::string text;       // the final channel, or everything generated
    std::string reasoning;  // the analysis channel; empty for answers without channels
    // Answers on channels: why there is no whole answer (a tool call, the token limit reached
    // while reasoning), as HarmonyChannels::missingAnswer says it; empty when there is one.
    std::string missing;
};

TranscriptAnswer transcriptAnswerOf(const std::string& generated, bool onChannels, std::string_view stopReason);

// A streamed answer on channels, passed on split: the final channel to onAnswer, the analysis
// channel to onReasoning (either may be empty).
class ChannelStream {
public:
    using Sink = std::function<void(std::string_view)>;
    ChannelStream(Sink onAnswer, Sink onReasoning) : onAnswer_(std::move(onAnswer)), onReasoning_(std::move(onReasoning)) {}
    // The text of a paused answer that the stream continues: read, not passed on again.
    void prime(std::string_view textSoFar) { channels_.push(textSoFar); }
    void push(std::string_view piece) { pass(channels_.push(piece)); }
    void finish() { pass(channels_.finish()); }  // the end of the answer (not of a pause)
    const HarmonyChannels& channels() const { return channels_; }

private:
    void pass(const HarmonyText& text);

    HarmonyChannels channels_;
    Sink onAnswer_, onReasoning_;
};

}  // namespace strata
