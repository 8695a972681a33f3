// A gpt-oss answer in the window: its harmony text split as a session turn splits it (the final
// channel streamed as the answer, the analysis channel as reasoning), shown with the reasoning
// behind a collapsed "Reasoning" disclosure that opens and closes; an answer the model never
// wrote is said to be missing, its reasoning not shown in its place.
#include <QTextBrowser>
#include <QtTest>

#include <string>

#include "EngineController.h"
#include "MainWindow.h"
#include "TranscriptView.h"
#include "session/AnswerChannels.h"

using namespace strata;
using strata::ui::MainWindow;
using strata::ui::TranscriptView;

namespace {

const std::string kHarmony =
    "<|channel|>analysis<|message|>The user asks when the pump failed. The log says 02:14 on line 12."
    "<|end|><|start|>assistant<|channel|>final<|message|>The pump failed at 02:14 [plant.log, line 12].";
const QString kReasoning = QStringLiteral("The user asks when the pump failed.");
const QString kAnswer = QStringLiteral("The pump failed at 02:14");

// Streams harmony text to the window as the engine does, a few characters at a time.
void streamHarmony(app::EngineController* controller, qint64 jobId, const std::string& text) {
    auto qs = [](std::string_view t) { return QString::fromUtf8(t.data(), qsizetype(t.size())); };
    ChannelStream stream([&](std::string_view t) { emit controller->textStreamed(jobId, qs(t)); },
                         [&](std::string_view t) { emit controller->reasoningStreamed(jobId, qs(t)); });
    for (size_t at = 0; at < text.size(); at += 3) stream.push(std::string_view(text).substr(at, 3));
    stream.finish();
}

app::JobOutcome finishedOutcome(qint64 jobId, const std::string& text, const char* stopReason) {
    const TranscriptAnswer answer = transcriptAnswerOf(text, true, stopReason);
    app::JobOutcome o;
    o.jobId = jobId;
    o.ok = true;
    o.stopReason = QString::fromLatin1(stopReason);
    o.answer = QString::fromStdString(answer.text);
    o.reasoning = QString::fromStdString(answer.reasoning);
    o.answerMissing = QString::fromStdString(answer.missing);
    o.promptTokens = 40;
    o.generatedTokens = 30;
    return o;
}

}  // namespace

class TestReasoningView : public QObject {
    Q_OBJECT

private slots:
    void reasoningIsCollapsedAndTheAnswerIsTheFinalChannel() {
        MainWindow w;
        auto* transcript = w.findChild<TranscriptView*>(QStringLiteral("transcript"));
        QVERIFY(transcript);
        streamHarmony(w.controller(), 1, kHarmony);
        emit w.controller()->jobFinished(finishedOutcome(1, kHarmony, "stop token"));

        const QString shown = transcript->toPlainText();
        QVERIFY2(shown.contains(kAnswer), qPrintable(shown));
        QVERIFY2(shown.contains(QStringLiteral("Reasoning")), qPrintable(shown));
        QVERIFY2(!shown.contains(kReasoning), qPrintable(shown));  // collapsed
        QVERIFY(!shown.contains(QStringLiteral("<|")));
        QCOMPARE(transcript->answerText(), QStringLiteral("The pump failed at 02:14 [plant.log, line 12]."));
        const ui::TranscriptTurn& turn = transcript->turns().back();
        QVERIFY(!turn.user);
        QVERIFY(!turn.reasoningShown);
        QVERIFY(turn.reasoning.startsWith(kReasoning));
        // The answer's citation is still a link; the disclosure is one too.
        QVERIFY(transcript->toHtml().contains(QStringLiteral("strata-source:0")));
        const QString disclosure = QStringLiteral("strata-reasoning:%1").arg(transcript->turns().size() - 1);
        QVERIFY(transcript->toHtml().contains(disclosure));

        // Clicking the disclosure opens the reasoning, clicking again closes it.
        emit transcript->anchorClicked(QUrl(disclosure));
        QVERIFY(transcript->turns().back().reasoningShown);
        QVERIFY(transcript->toPlainText().contains(kReasoning));
        QVERIFY(transcript->toPlainText().contains(kAnswer));
        emit transcript->anchorClicked(QUrl(disclosure));
        QVERIFY(!transcript->toPlainText().contains(kReasoning));
    }

    // --max-tokens reached while the model still reasoned: no answer, and the window says so.
    void answerCutOffWhileReasoningIsSaidToBeMissing() {
        MainWindow w;
        auto* transcript = w.findChild<TranscriptView*>(QStringLiteral("transcript"));
        const std::string cut = "<|channel|>analysis<|message|>The user asks when the pump failed. Let me look at";
        streamHarmony(w.controller(), 2, cut);
        emit w.controller()->jobFinished(finishedOutcome(2, cut, "max tokens"));
        const QString shown = transcript->toPlainText();
        QVERIFY2(shown.contains(QStringLiteral("No answer")), qPrintable(shown));
        QVERIFY2(shown.contains(QStringLiteral("token limit")), qPrintable(shown));
        QVERIFY2(!shown.contains(kReasoning), qPrintable(shown));
        QVERIFY(transcript->answerText().isEmpty());
        QVERIFY(shown.contains(QStringLiteral("Reasoning")));
    }
};

QTEST_MAIN(TestReasoningView)
#include "test_reasoning_view.moc"
