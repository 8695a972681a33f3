#pragma once
// Chat prompt rendering for the supported families, byte-identical to transformers'
// apply_chat_template with the families' own Jinja templates.
#include <string>
#include <vector>

#include "core/Result.h"

namespace strata {

// Qwen2 is ChatML as Qwen2.5-Instruct's template writes it: a conversation without a system
// message gets Qwen2.5's default system message. Harmony is OpenAI's format for gpt-oss: the answer
// comes as messages on channels (analysis, then final), read by HarmonyChannels.
enum class ChatFormat { Llama3, Qwen2, Qwen3, Gemma3, Harmony };

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

struct ChatOptions {
    bool addGenerationPrompt = true;
    bool enableThinking = true;  // Qwen3 only; false adds the empty <think></think> block
    // Llama 3: the template shipped in the Llama 3.1 tokenizer_config.json writes no system
    // header of its own. Meta's full Llama 3.1 Instruct template always opens with a system
    // block carrying "Cutting Knowledge Date: December 2023\nToday Date: <date>"; set
    // llamaDateHeader to render that form, with the date that template uses when given none.
    bool llamaDateHeader = false;
    std::string llamaTodayDate = "26 Jul 2024";
    // Harmony: the system message's "Reasoning: low|medium|high" (how long the model thinks before
    // it answers) and "Current date: YYYY-MM-DD" (empty: today, in local time, as the template's
    // strftime_now writes it).
    std::string reasoningEffort = "medium";
    std::string currentDate;
};

Result<std::string> renderChat(ChatFormat format, const std::vector<ChatMessage>& messages,
                               const ChatOptions& options = {});

// Rendering fails with badInput for an empty conversation and, for Gemma 3, for roles that do
// not alternate user/assistant (the template raises an exception there); for Harmony, for tool
// messages and for assistant messages that carry channel markers (the template raises there too).


}  // namespace strata
