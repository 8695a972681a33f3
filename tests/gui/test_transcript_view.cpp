// The transcript: questions shown as typed, answers as Markdown, and cited source lines turned
// into links that ask for that place in the document.
#include <QSignalSpy>
#include <QtTest>

#include "TranscriptView.h"

using namespace strata::ui;

class TestTranscriptView : public QObject {
    Q_OBJECT

private slots:
    void citedSourcesAreFound() {
        const auto links = TranscriptView::sourcesIn(
            QStringLiteral("It ended at 11:02 [plant.log, lines 3-4], see [report.pdf, page 12] and [app.log, line 7]; "
                           "not [a link] nor [x, page y]."));
        QCOMPARE(links.size(), size_t(3));
        QCOMPARE(links[0].fileName, QStringLiteral("plant.log"));
        QCOMPARE(links[0].firstLine, 3);
        QCOMPARE(links[0].lastLine, 4);
        QCOMPARE(links[1].fileName, QStringLiteral("report.pdf"));
        QCOMPARE(links[1].page, 12);
        QCOMPARE(links[2].firstLine, 7);
        QCOMPARE(links[2].lastLine, 7);
    }

    void streamedAnswerRendersAndLinksOpenSources() {
        TranscriptView view;
        view.addQuestion(QStringLiteral("What *failed*?"));
        view.beginAnswer();
        view.appendAnswer(QStringLiteral("The **pump** failed "));
        view.appendAnswer(QStringLiteral("[plant.log, lines 1-2]."));
        QTRY_VERIFY(view.toPlainText().contains(QStringLiteral("The pump failed")));  // rendered after a moment
        view.finishAnswer(QStringLiteral("12 tokens"));
        const QString text = view.toPlainText();
        QVERIFY(text.contains(QStringLiteral("What *failed*?")));  // the question as typed
        QVERIFY(!text.contains(QStringLiteral("**pump**")));       // the answer as Markdown
        QVERIFY(text.contains(QStringLiteral("12 tokens")));
        QCOMPARE(view.answerText(), QStringLiteral("The **pump** failed [plant.log, lines 1-2]."));
        QVERIFY(view.toHtml().contains(QStringLiteral("strata-source:0")));

        QSignalSpy requested(&view, &TranscriptView::sourceRequested);
        emit view.anchorClicked(QUrl(QStringLiteral("strata-source:0")));
        QCOMPARE(requested.count(), 1);
        const SourceLink link = requested.at(0).at(0).value<SourceLink>();
        QCOMPARE(link.fileName, QStringLiteral("plant.log"));
        QCOMPARE(link.firstLine, 1);
        emit view.anchorClicked(QUrl(QStringLiteral("strata-source:7")));  // no such link
        emit view.anchorClicked(QUrl(QStringLiteral("https://example.com/")));
        QCOMPARE(requested.count(), 1);
    }
};

QTEST_MAIN(TestTranscriptView)
#include "test_transcript_view.moc"
