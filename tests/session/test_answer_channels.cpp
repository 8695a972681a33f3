// gpt-oss answers as sessions keep them: the final channel as the turn's text, the analysis
// channel as its reasoning, the reasons an answer is missing; the split stream a reader gets, a
// paused answer going on in the channel it stopped in; and the text that continues a harmony
// conversation after the cache's last answer.
#include <QTemporaryDir>
#include <QtTest>

#include <string>
#include <vector>

#include "session/AnswerChannels.h"
#include "session/SessionJob.h"
#include "support/HarmonyTokenizer.h"

using namespace strata;

namespace {

const std::string kAnswer =
    "<|channel|>analysis<|message|>Page 3 has the time.<|end|><|start|>assistant<|channel|>final<|message|>At 02:14 UTC.";

}  // namespace

class TestAnswerChannels : public QObject {
    Q_OBJECT
private slots:
    void onlyGptOssChatsAnswerOnChannels() {
        QVERIFY(answersOnChannels("gpt_oss", true));
        QVERIFY(!answersOnChannels("gpt_oss", false));  // --raw: plain text, no channels
        QVERIFY(!answersOnChannels("qwen3", true));
        QVERIFY(!answersOnChannels("no_such_type", true));
    }

    void transcriptKeepsTheFinalChannel() {
        const TranscriptAnswer a = transcriptAnswerOf(kAnswer, true, "stop token");
        QCOMPARE(a.text, std::string("At 02:14 UTC."));
        QCOMPARE(a.reasoning, std::string("Page 3 has the time."));
        QVERIFY(a.missing.empty());
        // Other models' answers are kept as generated, markers or not.
        const TranscriptAnswer plain = transcriptAnswerOf(kAnswer, false, "stop token");
        QCOMPARE(plain.text, kAnswer);
        QVERIFY(plain.reasoning.empty() && plain.missing.empty());
        // Cut off while reasoning: no answer, the reasoning kept, and why.
        const TranscriptAnswer cut = transcriptAnswerOf("<|channel|>analysis<|message|>Page 3", true, "max tokens");
        QVERIFY(cut.text.empty());
        QCOMPARE(cut.reasoning, std::string("Page 3"));
        QVERIFY(cut.missing.find("token limit") != std::string::npos);
    }

    void streamSplitsAndGoesOn() {
        std::string answer, reasoning;
        ChannelStream stream([&](std::string_view t) { answer += t; }, [&](std::string_view t) { reasoning += t; });
        for (char c : kAnswer) stream.push(std::string_view(&c, 1));
        stream.finish();
        QCOMPARE(answer, std::string("At 02:14 UTC."));
        QCOMPARE(reasoning, std::string("Page 3 has the time."));

        // A paused answer: what came before the pause is read but not passed on again, and the
        // rest lands in the channel it belongs to.
        answer.clear();
        reasoning.clear();
        ChannelStream resumed([&](std::string_view t) { answer += t; }, [&](std::string_view t) { reasoning += t; });
        const size_t cut = kAnswer.find("time.");
        resumed.prime(kAnswer.substr(0, cut));
        resumed.push(kAnswer.substr(cut));
        resumed.finish();
        QCOMPARE(reasoning, std::string("time."));
        QCOMPARE(answer, std::string("At 02:14 UTC."));
        QCOMPARE(resumed.channels().reasoning(), std::string("Page 3 has the time."));
    }

    // The cache holds the answer as generated, up to its <|return|> (a stop token, never run): a
    // follow-up closes the message with <|end|>, as the template writes an earlier answer, and
    // opens the next turn.
    void followUpContinuesAfterTheAnswer() {
        QTemporaryDir dir;
        std::string why;
        auto tokenizer = testsupport::writeHarmonyTokenizer(dir.path().toStdString(), &why);
        QVERIFY2(tokenizer, why.c_str());
        SavedJob previous;
        previous.chat = true;
        auto ids = followUpIds("gpt_oss", *tokenizer, previous, "And when did it end?");
        QVERIFY2(ids.ok(), ids.ok() ? "" : ids.error().message.c_str());
        QCOMPARE(tokenizer->decode(ids.value()),
                 std::string("<|end|><|start|>user<|message|>And when did it end?<|end|><|start|>assistant"));
        QCOMPARE(ids.value().front(), *tokenizer->tokenId("<|end|>"));
        // The last answer's unfed token goes first.
        previous.pendingIds = {*tokenizer->tokenId("<|message|>")};
        auto withPending = followUpIds("gpt_oss", *tokenizer, previous, "Q");
        QCOMPARE(withPending.value().front(), *tokenizer->tokenId("<|message|>"));
        // Other formats as before: what ends their turn, then the next.
        auto chatml = followUpIds("qwen2", *tokenizer, previous, "Q");
        QCOMPARE(tokenizer->decode(std::vector<int32_t>(chatml.value().begin() + 1, chatml.value().end())),
                 std::string("<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"));
    }
};

QTEST_GUILESS_MAIN(TestAnswerChannels)
#include "test_answer_channels.moc"
