// The transcript: questions shown as typed, answers as Markdown with any HTML in them shown as
// text, and cited source lines turned into links that ask for that place in the document, unless
// the document has no such place.
#include <QSignalSpy>
#include <QTextBlock>
#include <QTextDocument>
#include <QtTest>

#include "TranscriptView.h"

using namespace strata::ui;

namespace {

struct Fragment {
    QString text;
    QString anchor;  // the link it is, empty when none
    bool bold = false;
};

// Every run of text in the document with its link and weight.
QList<Fragment> fragmentsOf(const QTextDocument* document) {
    QList<Fragment> out;
    for (QTextBlock block = document->begin(); block.isValid(); block = block.next())
        for (auto it = block.begin(); !it.atEnd(); ++it) {
            const QTextFragment f = it.fragment();
            if (!f.isValid()) continue;
            out.push_back({f.text(), f.charFormat().isAnchor() ? f.charFormat().anchorHref() : QString(),
                           f.charFormat().fontWeight() >= QFont::Bold});
        }
    return out;
}

// The places cited in text, one line each: "plant.log lines 3-4", "scan.pdf page 3 OCR 94%".
QStringList placesIn(const QString& text) {
    QStringList out;
    for (const SourceLink& l : TranscriptView::sourcesIn(text)) {
        QString place = l.fileName;
        if (l.page > 0) place += QStringLiteral(" page %1").arg(l.page);
        if (l.firstLine > 0) place += QStringLiteral(" lines %1-%2").arg(l.firstLine).arg(l.lastLine);
        if (l.ocrPercent >= 0) place += QStringLiteral(" OCR %1%").arg(l.ocrPercent);
        out << place;
    }
    return out;
}

// What clicking the link with this index asks for; a default SourceLink when it asks for nothing.
SourceLink requestedBy(TranscriptView& view, int index) {
    QSignalSpy requested(&view, &TranscriptView::sourceRequested);
    emit view.anchorClicked(QUrl(QStringLiteral("strata-source:%1").arg(index)));
    return requested.count() == 1 ? requested.at(0).at(0).value<SourceLink>() : SourceLink{};
}

QStringList anchorsOf(const QTextDocument* document) {
    QStringList out;
    for (const Fragment& f : fragmentsOf(document))
        if (!f.anchor.isEmpty()) out << f.text;
    return out;
}

}  // namespace

class TestTranscriptView : public QObject {
    Q_OBJECT

private slots:
    void citedSourcesAreFound() {
        QCOMPARE(placesIn(QStringLiteral("It ended at 11:02 [plant.log, lines 3-4], see [report.pdf, page 12] and "
                                         "[app.log, line 7]; not [a link] nor [x, page y].")),
                 (QStringList{QStringLiteral("plant.log lines 3-4"), QStringLiteral("report.pdf page 12"),
                              QStringLiteral("app.log lines 7-7")}));
    }

    void ocrCitationsAreTheSameLinks() {
        QCOMPARE(placesIn(QStringLiteral("See [scan.pdf, page 3, OCR 94%], [photo.png, OCR 91%] and [notes.txt] but "
                                         "not [x.png, OCR high].")),
                 (QStringList{QStringLiteral("scan.pdf page 3 OCR 94%"), QStringLiteral("photo.png OCR 91%")}));

        TranscriptView view;
        view.beginAnswer();
        view.appendAnswer(QStringLiteral("Stamped [scan.pdf, page 3, OCR 94%] and signed [photo.png, OCR 91%]."));
        view.finishAnswer(QString());
        QCOMPARE(anchorsOf(view.document()),
                 (QStringList{QStringLiteral("scan.pdf, page 3, OCR 94%"), QStringLiteral("photo.png, OCR 91%")}));
        QCOMPARE(requestedBy(view, 0).page, 3);
        QCOMPARE(requestedBy(view, 1).fileName, QStringLiteral("photo.png"));
    }

    void answersShowHtmlAsText() {
        TranscriptView view;
        view.addQuestion(QStringLiteral("How do I list a folder?"));
        view.beginAnswer();
        view.appendAnswer(QStringLiteral("Use <dir> to list it, then the rest of the answer.\n\n"
                                         "Never <script>alert(1)</script> nor <b>bold</b> tags.\n\n"
                                         "It **still** renders *Markdown*:\n\n- one item\n- two items\n\n"
                                         "`code <x>` and the end."));
        view.finishAnswer(QStringLiteral("done"));
        const QString text = view.toPlainText();
        // Tags are text, and nothing after <dir> is lost.
        QVERIFY2(text.contains(QStringLiteral("Use <dir> to list it, then the rest of the answer.")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("Never <script>alert(1)</script> nor <b>bold</b> tags.")), qPrintable(text));
        QVERIFY(text.contains(QStringLiteral("code <x> and the end.")));
        QVERIFY(text.contains(QStringLiteral("done")));
        // <b> made nothing bold; ** did.
        bool tagBold = true, markdownBold = false;
        for (const Fragment& f : fragmentsOf(view.document())) {
            if (f.text.contains(QStringLiteral("bold</b>"))) tagBold = f.bold;
            if (f.text == QStringLiteral("still")) markdownBold = f.bold;
        }
        QVERIFY(!tagBold);
        QVERIFY(markdownBold);
        QVERIFY(!text.contains(QStringLiteral("**still**")));
        QVERIFY(!text.contains(QStringLiteral("*Markdown*")));
        QVERIFY(!text.contains(QStringLiteral("- one item")));  // a list, not a dash
        QVERIFY(text.contains(QStringLiteral("one item")));
        int listItems = 0;
        for (QTextBlock block = view.document()->begin(); block.isValid(); block = block.next())
            listItems += block.textList() != nullptr;
        QCOMPARE(listItems, 2);
    }

    void citationsPastTheEndAreNotLinks() {
        TranscriptView view;
        view.addSourceExtents({{QStringLiteral("report.pdf"), 15, 0}, {QStringLiteral("plant.log"), 0, 3}});
        view.beginAnswer();
        view.appendAnswer(QStringLiteral("Costs are on [report.pdf, page 16] and [report.pdf, page 15]; the pump "
                                         "failed [plant.log, lines 8-9] after [plant.log, line 3] and "
                                         "[plant.log, line 4], as [other.pdf, page 99] says."));
        view.finishAnswer(QString());
        const QString text = view.toPlainText();
        QVERIFY2(text.contains(QStringLiteral("[report.pdf, page 16] (no such page)")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("[plant.log, lines 8-9] (no such lines)")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("[plant.log, line 4] (no such line)")), qPrintable(text));
        // Only the places that exist, and the document whose extent is unknown, are links.
        QCOMPARE(anchorsOf(view.document()),
                 (QStringList{QStringLiteral("report.pdf, page 15"), QStringLiteral("plant.log, line 3"),
                              QStringLiteral("other.pdf, page 99")}));
        QVERIFY(!view.toHtml().contains(QStringLiteral("strata-source:3")));
        QCOMPARE(requestedBy(view, 0).page, 15);
        QCOMPARE(requestedBy(view, 2).fileName, QStringLiteral("other.pdf"));
        QVERIFY(requestedBy(view, 3).fileName.isEmpty());
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

    // A reopened session's answers keep their reasoning behind the disclosure; turns without any
    // have none.
    void reopenedReasoningStaysCollapsed() {
        TranscriptView view;
        TranscriptTurn question;
        question.text = QStringLiteral("When?");
        TranscriptTurn answer;
        answer.user = false;
        answer.text = QStringLiteral("At noon.");
        answer.reasoning = QStringLiteral("The log's *last* line says noon.");
        TranscriptTurn plain;
        plain.user = false;
        plain.text = QStringLiteral("Plain answer.");
        view.setTurns({question, answer, question, plain});
        QCOMPARE(anchorsOf(view.document()).count(QStringLiteral("▸ Reasoning")), 1);
        QVERIFY(!view.toPlainText().contains(QStringLiteral("last line")));
        view.setReasoningShown(1, true);
        QVERIFY(anchorsOf(view.document()).contains(QStringLiteral("▾ Reasoning")));
        QVERIFY(view.toPlainText().contains(QStringLiteral("The log's *last* line says noon.")));  // as typed
        view.setReasoningShown(3, true);  // no reasoning there: nothing to open
        QCOMPARE(anchorsOf(view.document()).size(), 1);
    }
};

QTEST_MAIN(TestTranscriptView)
#include "test_transcript_view.moc"
