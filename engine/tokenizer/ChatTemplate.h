#pragma once
// Chat prompt rendering for the supported families, byte-identical to transformers'
// apply_chat_template with the families' own Jinja templates.
#include <string>
#include <vector>

#include "core/Result.h"

namespace strata {

enum class ChatFormat { Llama3, Qwen3, Gemma3 };

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

struct ChatOptions {
    bool addGenerationPrompt = true;
    bool enableThinking = true;  // Qwen3 only; false adds the empty <think></think> block
};

Result<std::string> renderChat(ChatFormat format, const std::vector<ChatMessage>& messages,
                               const ChatOptions& options = {});

// The format for a config.json model_type ("llama", "qwen3", "gemma3", "gemma3_text").
Result<ChatFormat> chatFormatForModelType(const std::string& modelType);

}  // namespace strata
