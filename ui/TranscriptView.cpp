#include "TranscriptView.h"

#include <QRegularExpression>
#include <QScrollBar>
#include <QUrl>

#include <optional>

namespace strata::ui {

namespace {

// "[name.ext, page 3]", "[name.ext, line 7]", "[name.ext, lines 7-12]": what the prompt's source
// lines look like (ingest's describe()), and so what a model quotes back. Text read by OCR adds
// its confidence: "[scan.pdf, page 3, OCR 94%]", "[photo.png, OCR 91%]". A bracketed file name
// alone ("[notes.txt]") matches too, and is then not taken for a source.
const QRegularExpression& sourcePattern() {
    static const QRegularExpression re(QStringLiteral(
        R"(\[([^\[\],\n]+\.[A-Za-z0-9]+)(?:, page (\d+)|, lines? (\d+)(?:-(\d+))?)?(?:, OCR (\d{1,3})%)?\])"));
    return re;
}

// The place a match of sourcePattern() cites; nothing for a bare file name.
std::optional<SourceLink> linkOf(const QRegularExpressionMatch& m) {
    if (!m.hasCaptured(2) && !m.hasCaptured(3) && !m.hasCaptured(5)) return std::nullopt;
    SourceLink link;
    link.fileName = m.captured(1).trimmed();
    link.page = m.captured(2).toInt();
    link.firstLine = m.captured(3).toInt();
    link.lastLine = m.hasCaptured(4) ? m.captured(4).toInt() : link.firstLine;
    link.ocrPercent = m.hasCaptured(5) ? m.captured(5).toInt() : -1;
    return link;
}

// Text that Markdown shows as written.
QString escapeMarkdown(const QString& text) {
    QString out;
    out.reserve(text.size());
    for (QChar c : text) {
        if (QStringLiteral("\\`*_{}[]()#+-.!<>|~").contains(c)) out += QLatin1Char('\\');
        out += c;
    }
    return out;
}

constexpr const char* kLinkScheme = "strata-source";
constexpr const char* kReasoningScheme = "strata-reasoning";  // the disclosure of a turn's reasoning

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
        if (url.scheme() == QLatin1String(kReasoningScheme) && ok && index >= 0 && size_t(index) < turns_.size())
            setReasoningShown(size_t(index), !turns_[size_t(index)].reasoningShown);
    });
    render();
}

std::vector<SourceLink> TranscriptView::sourcesIn(const QString& text) {
    std::vector<SourceLink> out;
    auto it = sourcePattern().globalMatch(text);
    while (it.hasNext())
        if (auto link = linkOf(it.next())) out.push_back(*link);
    return out;
}

QString TranscriptView::missingPlace(const SourceLink& link, const SourceExtent& extent) {
    if (link.page > 0 && extent.pages > 0 && link.page > extent.pages) return tr("no such page");
    // A range that starts in the file opens what there is of it.
    if (link.firstLine > 0 && extent.lines > 0 && link.firstLine > extent.lines)
        return link.lastLine > link.firstLine ? tr("no such lines") : tr("no such line");
    return {};
}

void TranscriptView::addSourceExtents(const QList<SourceExtent>& extents) {
    for (const SourceExtent& e : extents) extents_.insert(e.fileName, e);
    render();
}

QString TranscriptView::markdownOf(const TranscriptTurn& turn) const {
    if (turn.user) {
        // A question is shown as typed: quoted, with Markdown's own characters escaped.
        QString text = escapeMarkdown(turn.text);
        text.replace(QLatin1Char('\n'), QStringLiteral("  \n> "));
        return QStringLiteral("**%1**\n\n> %2\n").arg(tr("You"), text);
    }
    return QStringLiteral("%1\n").arg(turn.text.isEmpty() ? QStringLiteral("…") : turn.text);
}

// The reasoning is the model's text as it wrote it: quoted and shown as typed, its citations not
// linked (the answer is what cites).
QString TranscriptView::reasoningMarkdown(const TranscriptTurn& turn, size_t index) const {
    if (turn.reasoning.isEmpty()) return {};
    const QString label = turn.reasoningShown ? tr("▾ Reasoning") : tr("▸ Reasoning");
    QString md = QStringLiteral("[%1](%2:%3)\n\n").arg(label, QLatin1String(kReasoningScheme)).arg(index);
    if (!turn.reasoningShown) return md;
    QString text = escapeMarkdown(turn.reasoning.trimmed());
    text.replace(QLatin1Char('\n'), QStringLiteral("  \n> "));
    return md + QStringLiteral("> %1\n\n").arg(text);
}

QString TranscriptView::linkSources(const QString& markdown) {
    QString linked;
    qsizetype last = 0;
    auto it = sourcePattern().globalMatch(markdown);
    while (it.hasNext()) {
        const auto m = it.next();
        const std::optional<SourceLink> link = linkOf(m);
        if (!link) continue;
        linked += markdown.mid(last, m.capturedStart() - last);
        last = m.capturedEnd();
        const QString cited = escapeMarkdown(m.captured(0).mid(1, m.capturedLength() - 2));
        const auto extent = extents_.constFind(link->fileName);
        const QString missing = extent == extents_.cend() ? QString() : missingPlace(*link, *extent);
        if (!missing.isEmpty()) {
            // Shown as cited, and not as a link that would only fail to open.
            linked += QStringLiteral("\\[%1\\] *(%2)*").arg(cited, missing);
            continue;
        }
        // Each cited source that exists becomes a link carrying its index.
        linked += QStringLiteral("[%1](%2:%3)").arg(cited, QLatin1String(kLinkScheme)).arg(links_.size());
        links_.push_back(*link);
    }
    return linked + markdown.mid(last);
}

void TranscriptView::render() {
    links_.clear();
    QString markdown;
    if (turns_.empty()) markdown = welcome_;
    for (size_t i = 0; i < turns_.size(); ++i) {
        const TranscriptTurn& turn = turns_[i];
        const QString part = markdownOf(turn);
        if (turn.user) markdown += part;
        else markdown += QStringLiteral("**%1**\n\n").arg(tr("Strata")) + reasoningMarkdown(turn, i) + linkSources(part);
        if (!turn.note.isEmpty()) markdown += QStringLiteral("\n*%1*\n").arg(escapeMarkdown(turn.note));
        markdown += QStringLiteral("\n---\n\n");
    }
    QScrollBar* bar = verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 4;
    // The answer is the model's text: Markdown, but any HTML in it is shown as written. Rendered
    // as HTML, "<dir>" would swallow the rest of the answer and "<script>" would be markup from
    // an untrusted source.
    document()->setMarkdown(markdown, QTextDocument::MarkdownNoHTML);
    if (atEnd) bar->setValue(bar->maximum());
}

void TranscriptView::setTurns(std::vector<TranscriptTurn> turns) {
    turns_ = std::move(turns);
    render();
}

void TranscriptView::addQuestion(const QString& text, const QString& note) {
    TranscriptTurn question;
    question.text = text;
    question.note = note;
    turns_.push_back(question);
    render();
}

void TranscriptView::beginAnswer() {
    TranscriptTurn answer;
    answer.user = false;
    turns_.push_back(answer);
    render();
}

TranscriptTurn& TranscriptView::answerTurn() {
    if (turns_.empty() || turns_.back().user) beginAnswer();
    return turns_.back();
}

void TranscriptView::appendAnswer(const QString& piece) {
    answerTurn().text += piece;
    if (!renderTimer_.isActive()) renderTimer_.start();
}

void TranscriptView::appendReasoning(const QString& piece) {
    answerTurn().reasoning += piece;
    if (!renderTimer_.isActive()) renderTimer_.start();
}

void TranscriptView::setReasoningShown(size_t index, bool shown) {
    if (index >= turns_.size() || turns_[index].reasoningShown == shown) return;
    turns_[index].reasoningShown = shown;
    render();
}

void TranscriptView::finishAnswer(const QString& note) {
    answerTurn().note = note;
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
