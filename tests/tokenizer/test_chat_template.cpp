// Chat renderings against transformers' apply_chat_template output for the templates shipped in
// ../shared/tokenizers (fixtures made by tests/tools/make_tokenizer_fixtures.py).
#include <QtTest>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tokenizer/ChatTemplate.h"
#include "../support/TestPaths.h"
#include "arch/Registry.h"

using namespace strata;

class TestChatTemplate : public QObject {
    Q_OBJECT
private slots:
    void matchesTransformers();
    void formatForModelType();
    void rejectsBadConversations();
    void qwen2();
    void harmonyMatchesTemplate();
    void harmonyOptions();
    void harmonyRefusals();
};

void TestChatTemplate::matchesTransformers() {
    std::ifstream in((strata::testsupport::testDataDir() / "tokenizers/chat.json").string());
    QVERIFY2(in, "tests/data/tokenizers/chat.json is missing; run tests/tools/make_tokenizer_fixtures.py");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto cases = nlohmann::json::parse(ss.str());
    QVERIFY(cases.size() >= 30);
    int index = 0;
    for (const auto& c : cases) {
        const std::string family = c["family"];
        ChatFormat format = family == "llama3_1" ? ChatFormat::Llama3 : family == "qwen3" ? ChatFormat::Qwen3 : ChatFormat::Gemma3;
        std::vector<ChatMessage> messages;
        for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
        ChatOptions options;
        options.addGenerationPrompt = c["add_generation_prompt"];
        options.enableThinking = c["enable_thinking"];
        options.llamaDateHeader = c["llama_date_header"];
        auto rendered = renderChat(format, messages, options);
        QVERIFY2(rendered.ok(), rendered.ok() ? "" : rendered.error().message.c_str());
        const std::string expected = c["expected"];
        if (rendered.value() != expected) {
            qWarning("case %d (%s): got\n%s\nexpected\n%s", index, family.c_str(), rendered.value().c_str(), expected.c_str());
            QFAIL("chat rendering differs from transformers");
        }
        ++index;
    }
}

void TestChatTemplate::formatForModelType() {
    QVERIFY(chatFormatForModelType("llama").value() == ChatFormat::Llama3);
    QVERIFY(chatFormatForModelType("qwen2").value() == ChatFormat::Qwen2);
    QVERIFY(chatFormatForModelType("qwen3").value() == ChatFormat::Qwen3);
    QVERIFY(chatFormatForModelType("gemma3").value() == ChatFormat::Gemma3);
    QVERIFY(chatFormatForModelType("gemma3_text").value() == ChatFormat::Gemma3);
    QVERIFY(chatFormatForModelType("gpt_oss").value() == ChatFormat::Harmony);
    auto bad = chatFormatForModelType("mistral");
    QVERIFY(!bad.ok());
    QVERIFY(bad.error().kind == ErrorKind::BadInput);
    QVERIFY(bad.error().message.find("mistral") != std::string::npos);
}

void TestChatTemplate::rejectsBadConversations() {
    auto empty = renderChat(ChatFormat::Qwen3, {});
    QVERIFY(!empty.ok());
    QVERIFY(empty.error().kind == ErrorKind::BadInput);
    auto twoUsers = renderChat(ChatFormat::Gemma3, {{"user", "a"}, {"user", "b"}});
    QVERIFY(!twoUsers.ok());
    QVERIFY(twoUsers.error().kind == ErrorKind::BadInput);
    // Qwen3 thinking off appends the empty think block after the generation prompt.
    ChatOptions off;
    off.enableThinking = false;
    auto q = renderChat(ChatFormat::Qwen3, {{"user", "hi"}}, off);
    QCOMPARE(QString::fromStdString(q.value()),
             QString("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"));
}

// Qwen2.5-Instruct's template: ChatML, its default system message when the conversation has none,
// consecutive tool results in one user turn.
void TestChatTemplate::qwen2() {
    auto plain = renderChat(ChatFormat::Qwen2, {{"user", "hi"}});
    QCOMPARE(QString::fromStdString(plain.value()),
             QString("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                     "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"));
    ChatOptions closed;
    closed.addGenerationPrompt = false;
    auto turns = renderChat(ChatFormat::Qwen2,
                            {{"system", "Be brief."}, {"user", " a "}, {"assistant", "b"}, {"tool", "1"}, {"tool", "2"}},
                            closed);
    QCOMPARE(QString::fromStdString(turns.value()),
             QString("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n a <|im_end|>\n"
                     "<|im_start|>assistant\nb<|im_end|>\n"
                     "<|im_start|>user\n<tool_response>\n1\n</tool_response>\n<tool_response>\n2\n</tool_response><|im_end|>\n"));
}

// gpt-oss's chat_template.jinja rendered as transformers renders it, with a fixed date
// (tests/data/tokenizers/harmony_chat.json, made by tests/tools/make_harmony_fixtures.py): one turn,
// with a system prompt (the developer message), several turns with earlier answers, a closed
// conversation, each reasoning effort.
void TestChatTemplate::harmonyMatchesTemplate() {
    std::ifstream in((strata::testsupport::testDataDir() / "tokenizers/harmony_chat.json").string());
    QVERIFY2(in, "tests/data/tokenizers/harmony_chat.json is missing; run tests/tools/make_harmony_fixtures.py");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto cases = nlohmann::json::parse(ss.str());
    QVERIFY(cases.size() >= 10);
    int index = 0;
    for (const auto& c : cases) {
        std::vector<ChatMessage> messages;
        for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
        ChatOptions options;
        options.addGenerationPrompt = c["add_generation_prompt"];
        options.reasoningEffort = c["reasoning_effort"];
        options.currentDate = c["current_date"];
        auto rendered = renderChat(ChatFormat::Harmony, messages, options);
        QVERIFY2(rendered.ok(), rendered.ok() ? "" : rendered.error().message.c_str());
        const std::string expected = c["expected"];
        if (rendered.value() != expected) {
            qWarning("case %d: got\n%s\nexpected\n%s", index, rendered.value().c_str(), expected.c_str());
            QFAIL("harmony rendering differs from gpt-oss's chat template");
        }
        ++index;
    }
}

// The exact strings: the system block, the developer message that carries a system prompt, an
// earlier answer on the final channel, the generation prompt.
void TestChatTemplate::harmonyOptions() {
    const std::string system =
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: "
        "2024-06\nCurrent date: 2025-08-05\n\nReasoning: high\n\n# Valid channels: analysis, commentary, final. "
        "Channel must be included for every message.<|end|>";
    ChatOptions options;
    options.currentDate = "2025-08-05";
    options.reasoningEffort = "high";
    auto one = renderChat(ChatFormat::Harmony, {{"user", "Hi"}}, options);
    QCOMPARE(QString::fromStdString(one.value()), QString::fromStdString(system + "<|start|>user<|message|>Hi<|end|><|start|>assistant"));
    auto turns = renderChat(ChatFormat::Harmony,
                            {{"system", "Be brief."}, {"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}}, options);
    QCOMPARE(QString::fromStdString(turns.value()),
             QString::fromStdString(system +
                                    "<|start|>developer<|message|># Instructions\n\nBe brief.\n\n<|end|>"
                                    "<|start|>user<|message|>Q1<|end|><|start|>assistant<|channel|>final<|message|>A1<|end|>"
                                    "<|start|>user<|message|>Q2<|end|><|start|>assistant"));
    // Without a date, today's, as YYYY-MM-DD.
    auto today = renderChat(ChatFormat::Harmony, {{"user", "Hi"}});
    const std::string text = today.value();
    const size_t at = text.find("Current date: ");
    QVERIFY(at != std::string::npos);
    const std::string date = text.substr(at + 14, 10);
    QVERIFY2(date.size() == 10 && date[4] == '-' && date[7] == '-' && text[at + 24] == '\n', date.c_str());
    QVERIFY(text.find("Reasoning: medium\n") != std::string::npos);
}

void TestChatTemplate::harmonyRefusals() {
    // The template raises for channel markers in an answer and for tool results without a call.
    auto marked = renderChat(ChatFormat::Harmony,
                             {{"user", "Q"}, {"assistant", "<|channel|>analysis<|message|>x<|end|>"}, {"user", "Q2"}});
    QVERIFY(!marked.ok());
    QVERIFY(marked.error().kind == ErrorKind::BadInput);
    auto tool = renderChat(ChatFormat::Harmony, {{"user", "Q"}, {"tool", "{}"}});
    QVERIFY(!tool.ok());
    QVERIFY(tool.error().kind == ErrorKind::BadInput);
}

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
