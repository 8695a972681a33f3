#pragma once
// The conversation as the user reads it: questions, answers rendered as Markdown while they
// stream, and every source line the model cites ("[report.pdf, page 3]", "[app.log, lines
// 120-180]", "[scan.pdf, page 3, OCR 94%]") turned into a link that opens that place in the
// document. A model's answer is untrusted text: raw HTML in it is shown as typed, never
// interpreted, and a citation of a place the document does not have is said to be one rather
// than linked. A gpt-oss model's reasoning (its analysis channel) comes before its answer as a
// "Reasoning" disclosure, collapsed until clicked.
#include <QHash>
#include <QList>
#include <QString>
#include <QTextBrowser>
#include <QTimer>

#include <vector>

namespace strata::ui {

struct TranscriptTurn {
    bool user = true;
    QString text;
    QString note;  // shown small under the turn: "stopped", "312 tokens in 4.1 s", ...
    QString reasoning;  // an answer's reasoning, shown only when opened
    bool reasoningShown = false;
};

// A place in a document, as a cited source line names it.
struct SourceLink {
    QString fileName;  // the name as cited (no folder)
    int page = 0;
    int firstLine = 0;
    int lastLine = 0;
    int ocrPercent = -1;  // the recognition confidence cited for OCR'd text; -1 when none
};

// How far a document goes, as the window read it: a citation past the end is not a link.
struct SourceExtent {
    QString fileName;  // no folder, as citations name it
    qint64 pages = 0;  // 0: unknown or not paged
    qint64 lines = 0;  // 0: unknown or not text
};

class TranscriptView : public QTextBrowser {
    Q_OBJECT

public:
    explicit TranscriptView(QWidget* parent = nullptr);

    void setTurns(std::vector<TranscriptTurn> turns);  // a reopened session
    void addQuestion(const QString& text, const QString& note = {});
    void beginAnswer();
    void appendAnswer(const QString& piece);  // rendered at most every 100 ms while streaming
    void appendReasoning(const QString& piece);  // likewise, into the answer's reasoning
    // Opens or closes the reasoning of turn `index` (what clicking its disclosure does).
    void setReasoningShown(size_t index, bool shown);
    void finishAnswer(const QString& note);
    void clearTranscript();
    const std::vector<TranscriptTurn>& turns() const { return turns_; }
    QString answerText() const;  // the answer being streamed (or the last one)

    // The documents citations may name, with how far each goes. Citations of other files stay
    // links (their extent is unknown); a later extent of the same name replaces the earlier one.
    void addSourceExtents(const QList<SourceExtent>& extents);

    // The source lines in text, in order, as links.
    static std::vector<SourceLink> sourcesIn(const QString& text);
    // Empty when the cited place exists or its document's extent is unknown; else why it is not
    // there: "no such page", "no such lines".
    static QString missingPlace(const SourceLink& link, const SourceExtent& extent);

signals:
    void sourceRequested(const strata::ui::SourceLink& source);

private:
    void render();
    QString markdownOf(const TranscriptTurn& turn) const;
    QString reasoningMarkdown(const TranscriptTurn& turn, size_t index) const;
    TranscriptTurn& answerTurn();  // the answer being streamed, begun if there is none
    // The answer's Markdown with each cited source made a link, or marked as missing.
    QString linkSources(const QString& markdown);

    std::vector<TranscriptTurn> turns_;
    std::vector<SourceLink> links_;  // by the index in their URL
    QHash<QString, SourceExtent> extents_;  // by file name
    QString welcome_;
    QTimer renderTimer_;
};

}  // namespace strata::ui

Q_DECLARE_METATYPE(strata::ui::SourceLink)
