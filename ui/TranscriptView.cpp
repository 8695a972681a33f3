#include "TranscriptView.h"

#include <QRegularExpression>
#include <QScrollBar>
#include <QUrl>

namespace strata::ui {

namespace {

// "[name.ext, page 3]", "[name.ext, line 7]", "[name.ext, lines 7-12]": what the prompt's source
// lines look like (ingest's describe()), and so what a model quotes back.
const QRegularExpression& sourcePattern() {
    static const QRegularExpression re(QStringLiteral(R"(\[([^\[\],\n]+\.[A-Za-z0-9]+), (?:page (\d+)|lines? (\d+)(?:-(\d+))?)\])"));
    return re;
}

constexpr const char* kLinkScheme = "strata-source";

}  // namespace

TranscriptView::TranscriptView(QWidget* parent) : QTextBrowser(parent) {
    qRegisterMetaType<SourceLink>();
    setObjectName(QStringLiteral("transcript"));
    setOpenLinks(false);
    setOpenExternalLinks(false);
    welcome_ = tr("## Strata\n\nDrop documents on the tray, choose a model and ask a question. Answers cite their "
                  "sources; click one to open the document there.");
    renderTimer_.setSingleShot(true);
    renderTimer_.setInterval(100);
    connect(&renderTimer_, &QTimer::timeout, this, &TranscriptView::render);
    connect(this, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        bool ok = false;
        const int index = url.path().toInt(&ok);
        if (url.scheme() == QLatin1String(kLinkScheme) && ok && index >= 0 && size_t(index) < links_.size())
            emit sourceRequested(links_[size_t(index)]);
    });
    render();
}

std::vector<SourceLink> TranscriptView::sourcesIn(const QString& text) {
    std::vector<SourceLink> out;
    auto it = sourcePattern().globalMatch(text);
    while (it.hasNext()) {
        const auto m = it.next();
        SourceLink link;
        link.fileName = m.captured(1).trimmed();
        link.page = m.captured(2).toInt();
        link.firstLine = m.captured(3).toInt();
        link.lastLine = m.captured(4).isEmpty() ? link.firstLine : m.captured(4).toInt();
        out.push_back(link);
    }
    return out;
}

QString TranscriptView::markdownOf(const TranscriptTurn& turn) const {
    if (turn.user) {
        // A question is shown as typed: quoted, with Markdown's own characters escaped.
        QString text;
        for (QChar c : turn.text) {
            if (c == QLatin1Char('\n')) text += QStringLiteral("  \n> ");
            else if (QStringLiteral("\\`*_{}[]()#+-.!<>|").contains(c)) text += QLatin1Char('\\') + c;
            else text += c;
        }
        return QStringLiteral("**%1**\n\n> %2\n").arg(tr("You"), text);
    }
    return QStringLiteral("**%1**\n\n%2\n").arg(tr("Strata"), turn.text.isEmpty() ? QStringLiteral("…") : turn.text);
}

void TranscriptView::render() {
    links_.clear();
    QString markdown;
    if (turns_.empty()) markdown = welcome_;
    for (const TranscriptTurn& turn : turns_) {
        QString part = markdownOf(turn);
        if (!turn.user) {
            // Each cited source becomes a link carrying its index.
            QString linked;
            qsizetype last = 0;
            auto it = sourcePattern().globalMatch(part);
            while (it.hasNext()) {
                const auto m = it.next();
                const SourceLink link = sourcesIn(m.captured(0)).front();
                linked += part.mid(last, m.capturedStart() - last);
                linked += QStringLiteral("[%1](%2:%3)")
                              .arg(m.captured(0).mid(1, m.capturedLength() - 2), QLatin1String(kLinkScheme))
                              .arg(links_.size());
                links_.push_back(link);
                last = m.capturedEnd();
            }
            part = linked + part.mid(last);
        }
        markdown += part;
        if (!turn.note.isEmpty()) markdown += QStringLiteral("\n*%1*\n").arg(turn.note);
        markdown += QStringLiteral("\n---\n\n");
    }
    QScrollBar* bar = verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 4;
    setMarkdown(markdown);
    if (atEnd) bar->setValue(bar->maximum());
}

void TranscriptView::setTurns(std::vector<TranscriptTurn> turns) {
    turns_ = std::move(turns);
    render();
}

void TranscriptView::addQuestion(const QString& text, const QString& note) {
    turns_.push_back({true, text, note});
    render();
}

void TranscriptView::beginAnswer() {
    turns_.push_back({false, QString(), QString()});
    render();
}

void TranscriptView::appendAnswer(const QString& piece) {
    if (turns_.empty() || turns_.back().user) turns_.push_back({false, QString(), QString()});
    turns_.back().text += piece;
    if (!renderTimer_.isActive()) renderTimer_.start();
}

void TranscriptView::finishAnswer(const QString& note) {
    if (turns_.empty() || turns_.back().user) turns_.push_back({false, QString(), QString()});
    turns_.back().note = note;
    renderTimer_.stop();
    render();
}

void TranscriptView::clearTranscript() {
    turns_.clear();
    render();
}

QString TranscriptView::answerText() const {
    return !turns_.empty() && !turns_.back().user ? turns_.back().text : QString();
}

}  // namespace strata::ui
