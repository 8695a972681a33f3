#include "session/AnswerChannels.h"

#include "tokenizer/ChatTemplate.h"
#include "arch/Registry.h"

namespace strata {

bool answersOnChannels(const std::string& modelType, bool chat) {
    if (!chat) return false;
    auto format = chatFormatForModelType(modelType);
    return format.ok() && format.value() == ChatFormat::Harmony;
}

TranscriptAnswer transcriptAnswerOf(const std::string& generated, bool onChannels, std::string_view stopReason) {
    if (!onChannels) return {generated, {}, {}};
    HarmonyChannels channels;
    channels.push(generated);
    channels.finish();
    return {channels.answer(), channels.reasoning(), channels.missingAnswer(stopReason)};
}

void ChannelStream::pass(const HarmonyText& text) {
    if (!text.reasoning.empty() && onReasoning_) onReasoning_(text.reasoning);
    if (!text.answer.empty() && onAnswer_) onAnswer_(text.answer);
}

}  // namespace strata
