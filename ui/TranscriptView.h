#pragma once
// The conversation as the user reads it: questions, answers rendered as Markdown while they
// stream, and every source line the model cites ("[report.pdf, page 3]", "[app.log, lines
// 120-180]") turned into a link that opens that place in the document.
#include <QString>
#include <QTextBrowser>
#include <QTimer>

#include <vector>

namespace strata::ui {

struct TranscriptTurn {
    bool user = true;
    QString text;
    QString note;  // shown small under the turn: "stopped", "312 tokens in 4.1 s", ...
};

// A place in a document, as a cited source line names it.
struct SourceLink {
    QString fileName;  // the name as cited (no folder)
    int page = 0;
    int firstLine = 0;
    int lastLine = 0;
};

class TranscriptView : public QTextBrowser {
    Q_OBJECT

public:
    explicit TranscriptView(QWidget* parent = nullptr);

    void setTurns(std::vector<TranscriptTurn> turns);  // a reopened session
    void addQuestion(const QString& text, const QString& note = {});
    void beginAnswer();
    void appendAnswer(const QString& piece);  // rendered at most every 100 ms while streaming
    void finishAnswer(const QString& note);
    void clearTranscript();
    const std::vector<TranscriptTurn>& turns() const { return turns_; }
    QString answerText() const;  // the answer being streamed (or the last one)

    // The source lines in text, in order, as links.
    static std::vector<SourceLink> sourcesIn(const QString& text);

signals:
    void sourceRequested(const strata::ui::SourceLink& source);

private:
    void render();
    QString markdownOf(const TranscriptTurn& turn) const;

    std::vector<TranscriptTurn> turns_;
    std::vector<SourceLink> links_;  // by the index in their URL
    QString welcome_;
    QTimer renderTimer_;
};

}  // namespace strata::ui

Q_DECLARE_METATYPE(strata::ui::SourceLink)
