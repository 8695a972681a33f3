#include "tokenizer/ChatTemplate.h"

#include <ctime>

#include "tokenizer/Unicode.h"

namespace strata {

namespace {

// Python's str.strip() (Jinja's trim filter): Unicode whitespace on both ends.
std::string pyStrip(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e) {
        size_t len = 1;
        if (!unicode::isPythonSpace(unicode::decodeAt(s, b, len))) break;
        b += len;
    }
    while (e > b) {
        size_t start = e - 1;
        while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        size_t len = 1;
        if (!unicode::isPythonSpace(unicode::decodeAt(s, start, len)) || start + len != e) break;
        e = start;
    }
    return std::string(s.substr(b, e - b));
}

std::string_view lstripNewlines(std::string_view s) {
    while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
    return s;
}
std::string_view rstripNewlines(std::string_view s) {
    while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    return s;
}

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool endsWith(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string renderLlama3(const std::vector<ChatMessage>& messages, const ChatOptions& o) {
    std::string out = "<|begin_of_text|>";
    size_t first = 0;
    if (o.llamaDateHeader) {
        std::string system;
        if (messages[0].role == "system") {
            system = pyStrip(messages[0].content);
            first = 1;
        }
        out += "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: ";
        out += o.llamaTodayDate + "\n\n" + system + "<|eot_id|>";
    }
    for (size_t i = first; i < messages.size(); ++i) {
        out += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n";
        out += pyStrip(messages[i].content) + "<|eot_id|>";
    }
    if (o.addGenerationPrompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

std::string renderQwen2(const std::vector<ChatMessage>& messages, const ChatOptions& o) {
    std::string out;
    if (messages[0].role != "system")
        out += "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n";
    for (size_t i = 0; i < messages.size(); ++i) {
        const auto& m = messages[i];
        if (m.role == "tool") {
            if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
            out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
            if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
        } else {
            out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
        }
    }
    if (o.addGenerationPrompt) out += "<|im_start|>assistant\n";
    return out;
}

std::string renderQwen3(const std::vector<ChatMessage>& messages, const ChatOptions& o) {
    std::string out;
    const size_t n = messages.size();
    if (messages[0].role == "system") out += "<|im_start|>system\n" + messages[0].content + "<|im_end|>\n";

    // Reasoning is kept only for assistant turns after the last real user query.
    size_t lastQuery = n - 1;
    for (size_t k = n; k-- > 0;) {
        const auto& m = messages[k];
        if (m.role == "user" && !(startsWith(m.content, "<tool_response>") && endsWith(m.content, "</tool_response>"))) {
            lastQuery = k;
            break;
        }
    }
    for (size_t i = 0; i < n; ++i) {
        const auto& m = messages[i];
        const bool last = i + 1 == n;
        if (m.role == "user" || (m.role == "system" && i != 0)) {
            out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
        } else if (m.role == "assistant") {
            std::string_view content = m.content;
            std::string reasoning;
            const std::string_view full = m.content;
            if (const size_t close = full.rfind("</think>"); close != std::string_view::npos) {
                content = lstripNewlines(full.substr(close + 8));
                std::string_view before = rstripNewlines(full.substr(0, full.find("</think>")));
                if (const size_t open = before.rfind("<think>"); open != std::string_view::npos)
                    before = before.substr(open + 7);
                reasoning = std::string(lstripNewlines(before));
            }
            out += "<|im_start|>assistant\n";
            if (i > lastQuery && (last || !reasoning.empty())) {
                out += "<think>\n";
                out += rstripNewlines(lstripNewlines(reasoning));
                out += "\n</think>\n\n";
                out += lstripNewlines(content);
            } else {
                out += content;
            }
            out += "<|im_end|>\n";
        } else if (m.role == "tool") {
            if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
            out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
            if (last || messages[i + 1].role != "tool") out += "<|im_end|>\n";
        }
    }
    if (o.addGenerationPrompt) {
        out += "<|im_start|>assistant\n";
        if (!o.enableThinking) out += "<think>\n\n</think>\n\n";
    }
    return out;
}

Result<std::string> renderGemma3(const std::vector<ChatMessage>& messages, const ChatOptions& o) {
    std::string out = "<bos>";
    std::string firstUserPrefix;
    size_t first = 0;
    if (messages[0].role == "system") {
        firstUserPrefix = messages[0].content + "\n\n";
        first = 1;
    }
    for (size_t i = first; i < messages.size(); ++i) {
        const auto& m = messages[i];
        const size_t index = i - first;
        if ((m.role == "user") != (index % 2 == 0))
            return badInput("chat: Gemma 3 conversations must alternate user/assistant/user/assistant/... (message " +
                            std::to_string(i) + " has role '" + m.role + "')");
        const std::string role = m.role == "assistant" ? "model" : m.role;
        out += "<start_of_turn>" + role + "\n";
        if (index == 0) out += firstUserPrefix;
        out += pyStrip(m.content) + "<end_of_turn>\n";
    }
    if (o.addGenerationPrompt) out += "<start_of_turn>model\n";
    return out;
}

// Today in local time as YYYY-MM-DD: what the Harmony template's strftime_now("%Y-%m-%d") writes.
std::string todayDate() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char text[16] = {};
    std::strftime(text, sizeof text, "%Y-%m-%d", &local);
    return text;
}

// openai/gpt-oss-20b's chat_template.jinja (the Hugging Face release), for conversations without
// tools, builtin_tools or model_identity. Verified against the template as Hugging Face TRL keeps
// it for telling gpt-oss apart (trl/chat_templates/gptoss.jinja, the same text as llama.cpp's
// models/templates/openai-gpt-oss-120b.jinja), rendered with jinja2 as transformers does, and
// against TRL's expected renderings (tests/test_data_utils.py). The template writes the developer
// message as "# Instructions\n\n<text>\n\n": two newlines more than the openai-harmony library
// renders; the template is what transformers, vLLM's chat templates and llama.cpp use.
Result<std::string> renderHarmony(const std::vector<ChatMessage>& messages, const ChatOptions& o) {
    std::string out = "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
                      "Knowledge cutoff: 2024-06\nCurrent date: ";
    out += o.currentDate.empty() ? todayDate() : o.currentDate;
    out += "\n\nReasoning: " + o.reasoningEffort + "\n\n";
    out += "# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>";
    size_t first = 0;
    if (messages[0].role == "system" || messages[0].role == "developer") {
        first = 1;
        if (!messages[0].content.empty())
            out += "<|start|>developer<|message|># Instructions\n\n" + messages[0].content + "\n\n<|end|>";
    }
    for (size_t i = first; i < messages.size(); ++i) {
        const auto& m = messages[i];
        if (m.role == "user") {
            out += "<|start|>user<|message|>" + m.content + "<|end|>";
        } else if (m.role == "assistant") {
            // The answer alone: the template takes reasoning apart ("thinking") and drops it from
            // earlier turns.
            if (m.content.find("<|channel|>analysis<|message|>") != std::string::npos ||
                m.content.find("<|channel|>final<|message|>") != std::string::npos)
                return badInput("chat: assistant message " + std::to_string(i) +
                                " holds harmony channel markers; give its final channel alone");
            // <|return|> ends generation; a conversation goes on after <|end|>.
            const bool last = i + 1 == messages.size();
            out += "<|start|>assistant<|channel|>final<|message|>" + m.content +
                   (last && !o.addGenerationPrompt ? "<|return|>" : "<|end|>");
        } else if (m.role == "tool") {
            return badInput("chat: message " + std::to_string(i) +
                            " is a tool result, and the gpt-oss format takes one only after a tool call");
        }
        // A later system or developer message: the template writes nothing for it.
    }
    if (o.addGenerationPrompt) out += "<|start|>assistant";
    return out;
}

}  // namespace

Result<std::string> renderChat(ChatFormat format, const std::vector<ChatMessage>& messages,
                               const ChatOptions& options) {
    if (messages.empty()) return badInput("chat: the conversation has no messages");
    switch (format) {
        case ChatFormat::Llama3: return renderLlama3(messages, options);
        case ChatFormat::Qwen2: return renderQwen2(messages, options);
        case ChatFormat::Qwen3: return renderQwen3(messages, options);
        case ChatFormat::Gemma3: return renderGemma3(messages, options);
        case ChatFormat::Harmony: return renderHarmony(messages, options);
    }
    return internalError("chat: unknown chat format");
}

}  // namespace strata
