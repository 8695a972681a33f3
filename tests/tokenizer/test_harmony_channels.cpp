// The harmony channels of gpt-oss answers as they stream: whole, token by token and cut anywhere;
// without reasoning, cut off while reasoning, stopped for a tool call; and through a tokenizer
// with the harmony special tokens, which the streaming decoder writes out as their text.
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <string>
#include <vector>

#include "ModelRuntime.h"
#include "tokenizer/HarmonyChannels.h"
#include "tokenizer/Tokenizer.h"
#include "../support/HarmonyTokenizer.h"

using namespace strata;

namespace {

// What a gpt-oss model writes after "<|start|>assistant" (its <|return|> is a stop token, so not
// in the text).
const std::string kAnswer =
    "<|channel|>analysis<|message|>The user asks when the outage began. The report says 02:14 UTC on page 3."
    "<|end|><|start|>assistant<|channel|>final<|message|>It began at 02:14 UTC [report.pdf, page 3].";
const std::string kReasoning = "The user asks when the outage began. The report says 02:14 UTC on page 3.";
const std::string kFinal = "It began at 02:14 UTC [report.pdf, page 3].";

struct Streamed {
    std::string reasoning, answer;  // what push() and finish() handed out, joined
    HarmonyChannels channels;
};

Streamed stream(const std::vector<std::string>& pieces) {
    Streamed s;
    auto take = [&](const HarmonyText& t) {
        s.reasoning += t.reasoning;
        s.answer += t.answer;
    };
    for (const std::string& piece : pieces) take(s.channels.push(piece));
    take(s.channels.finish());
    return s;
}

std::vector<std::string> characters(const std::string& text) {
    std::vector<std::string> out;
    for (char c : text) out.emplace_back(1, c);
    return out;
}

}  // namespace

class TestHarmonyChannels : public QObject {
    Q_OBJECT
private slots:
    void wholeAnswer();
    void characterByCharacter();
    void markersCutAnywhere();
    void heldBackUntilTheMarkerIsKnown();
    void answerWithoutReasoning();
    void cutOffWhileReasoning();
    void toolCallIsNoAnswer();
    void textThatIsNotAMarker();
    void severalReasoningMessages();
    void throughTheTokenizer();
    void stopTokens();
    void reasoningEffort();
};

void TestHarmonyChannels::wholeAnswer() {
    const Streamed s = stream({kAnswer});
    QCOMPARE(s.reasoning, kReasoning);
    QCOMPARE(s.answer, kFinal);
    QCOMPARE(s.channels.reasoning(), kReasoning);
    QCOMPARE(s.channels.answer(), kFinal);
    QVERIFY(s.channels.answerStarted());
    QVERIFY(s.channels.toolCall().empty());
    QCOMPARE(s.channels.missingAnswer("stop token"), std::string());
}

void TestHarmonyChannels::characterByCharacter() {
    const Streamed s = stream(characters(kAnswer));
    QCOMPARE(s.reasoning, kReasoning);
    QCOMPARE(s.answer, kFinal);
    // No marker text ever reaches either channel, not even for a moment.
    QVERIFY(s.reasoning.find("<|") == std::string::npos);
    QVERIFY(s.answer.find("<|") == std::string::npos);
}

void TestHarmonyChannels::markersCutAnywhere() {
    // Every way of cutting the answer into three pieces, the markers included.
    for (size_t i = 0; i <= kAnswer.size(); ++i) {
        for (size_t j = i; j <= kAnswer.size(); j += 7) {
            const Streamed s = stream({kAnswer.substr(0, i), kAnswer.substr(i, j - i), kAnswer.substr(j)});
            if (s.reasoning != kReasoning || s.answer != kFinal)
                QFAIL(qPrintable(QString("cut at %1 and %2: reasoning '%3', answer '%4'")
                                     .arg(i)
                                     .arg(j)
                                     .arg(QString::fromStdString(s.reasoning), QString::fromStdString(s.answer))));
        }
    }
}

void TestHarmonyChannels::heldBackUntilTheMarkerIsKnown() {
    HarmonyChannels channels;
    QCOMPARE(channels.push("<|channel|>analysis<|message|>Think").reasoning, std::string("Think"));
    // "<|en" may become <|end|>: held back, then dropped when it does.
    HarmonyText t = channels.push(" more<|en");
    QCOMPARE(t.reasoning, std::string(" more"));
    t = channels.push("d|><|start|>assistant<|chan");
    QVERIFY(t.reasoning.empty() && t.answer.empty());
    t = channels.push("nel|>final<|mess");
    QVERIFY(t.reasoning.empty() && t.answer.empty());
    QVERIFY(!channels.answerStarted());
    t = channels.push("age|>Done");
    QCOMPARE(t.answer, std::string("Done"));
    QVERIFY(channels.answerStarted());
    QCOMPARE(channels.reasoning(), std::string("Think more"));
}

void TestHarmonyChannels::answerWithoutReasoning() {
    const Streamed s = stream({"<|channel|>final<|message|>", "Just the ", "answer."});
    QCOMPARE(s.answer, std::string("Just the answer."));
    QVERIFY(s.reasoning.empty());
    QCOMPARE(s.channels.missingAnswer("stop token"), std::string());
    // A message that names no channel is taken for the answer too.
    const Streamed bare = stream({"<|message|>Hello"});
    QCOMPARE(bare.answer, std::string("Hello"));
}

void TestHarmonyChannels::cutOffWhileReasoning() {
    // --max-tokens reached in the analysis channel: reasoning, and no answer at all.
    const Streamed s = stream(characters("<|channel|>analysis<|message|>We need to read page 3 and then"));
    QCOMPARE(s.reasoning, std::string("We need to read page 3 and then"));
    QVERIFY(s.answer.empty());
    QVERIFY(!s.channels.answerStarted());
    const std::string missing = s.channels.missingAnswer("max tokens");
    QVERIFY2(missing.find("token limit") != std::string::npos, missing.c_str());
    QVERIFY(missing.find("no answer") != std::string::npos);
    QVERIFY(s.channels.missingAnswer("context full").find("context") != std::string::npos);
    QVERIFY(!s.channels.missingAnswer("stop token").empty());
    // Cut off between the messages, after the reasoning ended: still no answer.
    const Streamed between = stream({"<|channel|>analysis<|message|>Done thinking.<|end|><|start|>assistant"});
    QVERIFY(!between.channels.missingAnswer("max tokens").empty());
    // Cut off inside the answer: an answer, unfinished as any answer cut by the limit is.
    const Streamed partial = stream({"<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>final<|message|>It be"});
    QCOMPARE(partial.answer, std::string("It be"));
    QCOMPARE(partial.channels.missingAnswer("max tokens"), std::string());
}

void TestHarmonyChannels::toolCallIsNoAnswer() {
    // Generation stops at <|call|>: the arguments are neither reasoning nor answer.
    const Streamed s = stream(characters(
        "<|channel|>analysis<|message|>Need the weather; call the tool.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Oslo\"}"));
    QCOMPARE(s.channels.toolCall(), std::string("functions.get_weather"));
    QCOMPARE(s.reasoning, std::string("Need the weather; call the tool."));
    QVERIFY(s.answer.empty());
    const std::string missing = s.channels.missingAnswer("stop token");
    QVERIFY2(missing.find("functions.get_weather") != std::string::npos, missing.c_str());
    QVERIFY(missing.find("runs no tools") != std::string::npos);
    QVERIFY(missing.find("no answer") != std::string::npos);
    // The recipient in the role part, as the template renders a call.
    const Streamed roleForm = stream({"<|channel|>analysis<|message|>a<|end|><|start|>assistant to=functions.lookup"
                                      "<|channel|>commentary json<|message|>{}"});
    QCOMPARE(roleForm.channels.toolCall(), std::string("functions.lookup"));
    QVERIFY(!roleForm.channels.missingAnswer("stop token").empty());
    // A call after an answer began leaves it unfinished, and says so.
    const Streamed late = stream({"<|channel|>final<|message|>Let me check.<|end|><|start|>assistant to=browser.search"
                                  "<|channel|>analysis<|message|>{}"});
    QVERIFY(late.channels.missingAnswer("stop token").find("unfinished") != std::string::npos);
}

void TestHarmonyChannels::textThatIsNotAMarker() {
    const std::string text = "if a < b and x <|y|> z <| and <b> then <";
    const Streamed s = stream(characters("<|channel|>final<|message|>" + text));
    QCOMPARE(s.answer, text);
    // A marker's start at the very end is text once the stream ends.
    const Streamed cut = stream({"<|channel|>final<|message|>see <|ret"});
    QCOMPARE(cut.answer, std::string("see <|ret"));
}

void TestHarmonyChannels::severalReasoningMessages() {
    const Streamed s = stream({"<|channel|>analysis<|message|>First.<|end|><|start|>assistant<|channel|>analysis"
                               "<|message|>Second.<|end|><|start|>assistant<|channel|>commentary<|message|>Third."
                               "<|end|><|start|>assistant<|channel|>final<|message|>Answer."});
    QCOMPARE(s.reasoning, std::string("First.\n\nSecond.\n\nThird."));
    QCOMPARE(s.channels.reasoning(), s.reasoning);
    QCOMPARE(s.answer, std::string("Answer."));
}

// The markers are special tokens: encoded to their ids from text, and decoded back to their text
// by the streaming decoder the generator uses (which keeps special tokens), id by id.
void TestHarmonyChannels::throughTheTokenizer() {
    QTemporaryDir dir;
    std::string why;
    auto tokenizer = testsupport::writeHarmonyTokenizer(dir.path().toStdString(), &why);
    QVERIFY2(tokenizer, why.c_str());
    const std::vector<int32_t> ids = tokenizer->encode(kAnswer, false);
    for (const char* special : testsupport::kHarmonySpecials) {
        const auto id = tokenizer->tokenId(special);
        QVERIFY(id && tokenizer->isSpecial(*id));
    }
    QCOMPARE(ids.front(), *tokenizer->tokenId("<|channel|>"));
    QVERIFY(std::find(ids.begin(), ids.end(), *tokenizer->tokenId("<|end|>")) != ids.end());
    StreamingDecoder decoder(*tokenizer);
    std::vector<std::string> pieces;
    for (int32_t id : ids) pieces.push_back(decoder.push(id));
    pieces.push_back(decoder.flush());
    const Streamed s = stream(pieces);
    QCOMPARE(s.reasoning, kReasoning);
    QCOMPARE(s.answer, kFinal);
    // Skipping special tokens would lose the channels.
    QVERIFY(tokenizer->decode(ids, true).find("<|channel|>") == std::string::npos);
}

// Generation stops at <|return|> and <|call|>, never at <|end|>, even where the vocabulary's
// end-of-sequence ids name it; other models keep their stops.
void TestHarmonyChannels::stopTokens() {
    QTemporaryDir dir;
    std::string why;
    auto tokenizer = testsupport::writeHarmonyTokenizer(dir.path().toStdString(), &why);
    QVERIFY2(tokenizer, why.c_str());
    const int32_t end = *tokenizer->tokenId("<|end|>");
    ModelConfig config;
    config.modelType = "gpt_oss";
    config.eosTokenIds = {*tokenizer->tokenId("<|return|>"), end};
    const std::vector<int32_t> stops = strata::stopTokens(config, *tokenizer);
    auto has = [&](int32_t id) { return std::find(stops.begin(), stops.end(), id) != stops.end(); };
    QVERIFY(has(*tokenizer->tokenId("<|return|>")));
    QVERIFY(has(*tokenizer->tokenId("<|call|>")));
    QVERIFY(!has(end));
    config.modelType = "qwen3";
    const std::vector<int32_t> others = strata::stopTokens(config, *tokenizer);
    QVERIFY(std::find(others.begin(), others.end(), end) != others.end());
}

// The harmony system message carries the effort asked for; other chat formats and other levels
// are refused by name rather than ignored.
void TestHarmonyChannels::reasoningEffort() {
    QTemporaryDir dir;
    std::string why;
    auto tokenizer = testsupport::writeHarmonyTokenizer(dir.path().toStdString(), &why);
    QVERIFY2(tokenizer, why.c_str());
    ModelConfig config;
    config.modelType = "gpt_oss";
    PromptFormat format;
    for (const char* effort : {"low", "medium", "high"}) {
        QVERIFY(checkReasoningEffort(config, effort).ok());
        format.reasoningEffort = effort;
        auto ids = firstTurnIds(config, *tokenizer, "When did the outage begin?", format);
        QVERIFY2(ids.ok(), ids.ok() ? "" : ids.error().message.c_str());
        const std::string text = tokenizer->decode(ids.value(), false);
        QVERIFY2(text.find(std::string("Reasoning: ") + effort + "\n") != std::string::npos, text.c_str());
    }
    const Status extreme = checkReasoningEffort(config, "extreme");
    QVERIFY(!extreme.ok() && extreme.error().message.find("low, medium or high") != std::string::npos);
    config.modelType = "qwen3";
    const Status other = checkReasoningEffort(config, "high");
    QVERIFY(!other.ok() && other.error().message.find("harmony") != std::string::npos);
}

QTEST_GUILESS_MAIN(TestHarmonyChannels)
#include "test_harmony_channels.moc"
