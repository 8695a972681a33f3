// Chat renderings against transformers' apply_chat_template output for the templates shipped in
// ../shared/tokenizers (fixtures made by tests/tools/make_tokenizer_fixtures.py).
#include <QtTest>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tokenizer/ChatTemplate.h"
#include "../support/TestPaths.h"

using namespace strata;

class TestChatTemplate : public QObject {
    Q_OBJECT
private slots:
    void matchesTransformers();
    void formatForModelType();
    void rejectsBadConversations();
    void qwen2();
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

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
