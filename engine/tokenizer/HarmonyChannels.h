#pragma once
// The channels of a gpt-oss answer in OpenAI's harmony format, read as the decoder streams it.
// After the generation prompt "<|start|>assistant" the model writes one or more messages:
//
//   <|channel|>analysis<|message|>We need to ...<|end|><|start|>assistant<|channel|>final<|message|>The answer.
//
// and generation stops at <|return|> (the answer is complete) or at <|call|> (a tool call). Both
// are stop tokens, so the text has neither; <|end|> only ends a message, and the next one follows.
// The final channel is the answer; analysis, and commentary addressed to no one, is the model's
// reasoning. A message with a recipient ("to=functions.lookup") is a tool call, which Strata does
// not run: an answer that stops there is not an answer, and missingAnswer says so.
//
// The markers arrive as text (the decoder writes special tokens out), in pieces that may cut a
// marker anywhere: text that could still be the start of a marker is held back until the next
// piece tells. Content that spells a marker with ordinary tokens is read as the marker.
#include <string>
#include <string_view>

namespace strata {

// Text that became final, by where it belongs.
struct HarmonyText {
    std::string reasoning;  // analysis (and commentary) channel
    std::string answer;     // final channel
};

class HarmonyChannels {
public:
    // The text of the next piece of the stream that is final now.
    HarmonyText push(std::string_view piece);
    // The end of the stream: what was held back as a possible marker, as the text it is.
    HarmonyText finish();

    // Everything read so far. Separate messages of one kind are joined by a blank line.
    const std::string& reasoning() const { return reasoning_; }
    const std::string& answer() const { return answer_; }
    bool answerStarted() const { return answerStarted_; }  // a final-channel message began
    // The recipient of a tool call the model began ("functions.get_weather"); empty when none.
    const std::string& toolCall() const { return toolCall_; }

    // Why the stream holds no whole answer, given why generation stopped (GenerationResult's
    // stopReason: "stop token", "max tokens", "context full", "cancelled", ...); empty when the
    // final channel answered.
    std::string missingAnswer(std::string_view stopReason) const;

private:
    enum class State { Header, Body };
    enum class Sink { Reasoning, Answer, ToolCall };
    void drain(HarmonyText& out, bool atEnd);
    void text(std::string_view text, HarmonyText& out);
    void marker(std::string_view marker);
    void beginMessage();

    State state_ = State::Header;  // the prompt ends with "<|start|>assistant": a header comes first
    Sink sink_ = Sink::Answer;
    bool messageEmpty_ = true;
    std::string header_;   // of the message being begun: "<|channel|>analysis", " to=functions.x<|channel|>commentary json"
    std::string pending_;  // not yet read: a possible marker's start
    std::string reasoning_, answer_, toolCall_;
    bool answerStarted_ = false;
};

}  // namespace strata
