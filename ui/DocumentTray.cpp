#include "DocumentTray.h"

#include <QAbstractItemView>
#include <QDir>
#include <QDragEnterEvent>
#include <QDragMoveEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QInputDialog>
#include <QLineEdit>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QLocale>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QShortcut>
#include <QStandardItemModel>
#include <QStyledItemDelegate>
#include <QTimer>
#include <QTreeView>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cctype>
#include <climits>
#include <exception>
#include <filesystem>

#include "FileFormat.h"

namespace strata::ui {

namespace {

// Reads overlap with one another (a PDF and a log, say) but leave cores for the model.
constexpr size_t kMaxParallelReads = 2;

// Colours that stay readable on light and dark palettes alike.
const QColor kErrorColour(0xd3, 0x2f, 0x2f);
const QColor kWarningColour(0xc7, 0x7c, 0x00);

// Failed reads listed under the list by name; the Status column has them all.
constexpr int kMaxListedProblems = 4;

QString grouped(qint64 n) { return QLocale().toString(qlonglong(n)); }

// "3", "3, 5", "2-9, 12": runs of three or more pages as ranges, at most a dozen entries.
QString pageRanges(const std::vector<int64_t>& pages) {
    constexpr int kMaxEntries = 12;
    QStringList entries;
    size_t i = 0;
    while (i < pages.size() && entries.size() < kMaxEntries) {
        size_t end = i;
        while (end + 1 < pages.size() && pages[end + 1] == pages[end] + 1) ++end;
        if (end - i >= 2) {
            entries << QStringLiteral("%1-%2").arg(pages[i]).arg(pages[end]);
            i = end + 1;
        } else {
            entries << QString::number(pages[i]);
            ++i;
        }
    }
    QString out = entries.join(QStringLiteral(", "));
    if (i < pages.size()) out += DocumentTray::tr(" and %n more", nullptr, int(pages.size() - i));
    return out;
}

// The status reads from its start ("the PDF file is trunc…"), where the names, elided in the
// middle, keep their extensions.
class StatusDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem* option, const QModelIndex& index) const override {
        QStyledItemDelegate::initStyleOption(option, index);
        option->textElideMode = Qt::ElideRight;
    }
};

// A text part whose spans are empty or blank: the model would get its name and nothing else.
bool yieldsNoText(const strata::PromptPart& part) {
    if (strata::isMediaPart(part.kind) || !part.textKept) return false;
    return std::all_of(part.spans.begin(), part.spans.end(), [](const strata::TextSpan& span) {
        return std::all_of(span.text.begin(), span.text.end(), [](char c) { return std::isspace((unsigned char)c); });
    });
}

bool hasLocalFiles(const QMimeData* mime) {
    if (!mime || !mime->hasUrls()) return false;
    const QList<QUrl> urls = mime->urls();
    return std::any_of(urls.begin(), urls.end(), [](const QUrl& url) { return url.isLocalFile(); });
}

// The same file reached by two spellings (a symlink, "a/../b") is listed once.
QString identityOf(const QFileInfo& info) {
    const QString canonical = info.canonicalFilePath();
    return canonical.isEmpty() ? QDir::cleanPath(info.absoluteFilePath()) : canonical;
}

}  // namespace

DocumentTray::DocumentTray(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("documentTray"));
    setAccessibleName(tr("Attached files"));
    setAcceptDrops(true);

    auto* hint = new QLabel(tr("Drop files or folders here, or use Add…: PDFs, text and logs, images, audio."), this);
    hint->setObjectName(QStringLiteral("trayHint"));
    hint->setWordWrap(true);

    model_ = new QStandardItemModel(0, ColumnCount, this);
    model_->setHorizontalHeaderLabels({tr("Name"), tr("Type"), tr("Size"), tr("Contents"), tr("Tokens"), tr("Status")});

    view_ = new QTreeView(this);
    view_->setObjectName(QStringLiteral("trayView"));
    view_->setAccessibleName(tr("Attached files list"));
    view_->setToolTip(tr("Files sent with the question: their contents and the tokens they take. "
                         "Delete removes the selected files."));
    view_->setModel(model_);
    view_->setRootIsDecorated(false);
    view_->setUniformRowHeights(true);
    view_->setAlternatingRowColors(true);
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view_->header()->setSectionResizeMode(QHeaderView::Interactive);
    // fitColumns gives the status the width the others leave: a stretched section would keep a
    // width of its own when little is left, and push the list into scrolling.
    view_->header()->setStretchLastSection(false);
    view_->viewport()->installEventFilter(this);
    connect(view_->header(), &QHeaderView::sectionResized, this, [this](int column) {
        if (column != StatusColumn) fillStatusColumn();
    });
    // Long names keep their extension in view; the tooltip has the whole path.
    view_->setTextElideMode(Qt::ElideMiddle);
    view_->setItemDelegateForColumn(StatusColumn, new StatusDelegate(view_));

    // Read errors said in full below the list: the Status column is the last and may be out of
    // view in a narrow tray.
    problemsLabel_ = new QLabel(this);
    problemsLabel_->setObjectName(QStringLiteral("trayProblems"));
    problemsLabel_->setAccessibleName(tr("Files that could not be read"));
    problemsLabel_->setTextFormat(Qt::PlainText);  // file names and messages are not markup
    problemsLabel_->setWordWrap(true);
    problemsLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPalette problemsPalette = problemsLabel_->palette();
    problemsPalette.setColor(QPalette::WindowText, kErrorColour);
    problemsLabel_->setPalette(problemsPalette);
    problemsLabel_->hide();

    addButton_ = new QPushButton(tr("&Add…"), this);
    addButton_->setObjectName(QStringLiteral("addFilesButton"));
    addButton_->setToolTip(tr("Choose files to send with the question"));
    addButton_->setAccessibleName(tr("Add files"));
    removeButton_ = new QPushButton(tr("&Remove"), this);
    removeButton_->setObjectName(QStringLiteral("removeFilesButton"));
    removeButton_->setToolTip(tr("Remove the selected files from the list (Delete)"));
    removeButton_->setAccessibleName(tr("Remove selected files"));
    removeButton_->setEnabled(false);
    clearButton_ = new QPushButton(tr("C&lear"), this);
    clearButton_->setObjectName(QStringLiteral("clearFilesButton"));
    clearButton_->setToolTip(tr("Remove every file from the list"));
    clearButton_->setAccessibleName(tr("Clear all files"));
    clearButton_->setEnabled(false);

    contextBar_ = new QProgressBar(this);
    contextBar_->setObjectName(QStringLiteral("contextBar"));
    contextBar_->setAccessibleName(tr("Context used"));
    contextBar_->setToolTip(tr("Tokens of the files plus the room kept for the question and the answer, "
                               "against the model's context"));
    contextBar_->setTextVisible(true);

    budgetLabel_ = new QLabel(this);
    budgetLabel_->setObjectName(QStringLiteral("budgetLabel"));
    budgetLabel_->setAccessibleName(tr("Context budget"));
    budgetLabel_->setTextFormat(Qt::PlainText);  // file names are not markup
    budgetLabel_->setWordWrap(true);
    budgetLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(addButton_);
    buttons->addWidget(removeButton_);
    buttons->addWidget(clearButton_);
    buttons->addStretch(1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(hint);
    layout->addWidget(view_, 1);
    layout->addWidget(problemsLabel_);
    layout->addLayout(buttons);
    layout->addWidget(contextBar_);
    layout->addWidget(budgetLabel_);

    connect(addButton_, &QPushButton::clicked, this, &DocumentTray::chooseFiles);
    connect(removeButton_, &QPushButton::clicked, this, &DocumentTray::removeSelectedFiles);
    connect(clearButton_, &QPushButton::clicked, this, &DocumentTray::clear);
    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { removeButton_->setEnabled(view_->selectionModel()->hasSelection()); });
    auto* deleteShortcut = new QShortcut(QKeySequence::Delete, view_);
    deleteShortcut->setContext(Qt::WidgetWithChildrenShortcut);
    connect(deleteShortcut, &QShortcut::activated, this, &DocumentTray::removeSelectedFiles);
    connect(view_, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex& index) {
        if (index.row() < 0 || size_t(index.row()) >= rows_.size()) return;
        const Row& row = rows_[size_t(index.row())];
        if (row.state != RowState::Failed || !row.error.contains(QStringLiteral("encrypted"))) return;
        bool ok = false;
        const QString password = QInputDialog::getText(this, tr("Password"),
                                                       tr("Password of %1:").arg(QFileInfo(row.path).fileName()),
                                                       QLineEdit::Password, QString(), &ok);
        if (ok) setPassword(row.path, password);
    });

    // Workers only store their progress; the UI thread looks a few times a second.
    progressTimer_ = new QTimer(this);
    progressTimer_->setInterval(250);
    connect(progressTimer_, &QTimer::timeout, this, &DocumentTray::showReadProgress);
    // Columns are fitted once per burst of row changes, not once per row.
    fitTimer_ = new QTimer(this);
    fitTimer_->setSingleShot(true);
    fitTimer_->setInterval(0);
    connect(fitTimer_, &QTimer::timeout, this, &DocumentTray::fitColumns);

    refreshBudget();
}

DocumentTray::~DocumentTray() {
    // Reads still running finish on their own; they stop counting so that the model's tokenizer
    // may go away with the tray.
    for (Row& row : rows_) abandonRead(row);
}

void DocumentTray::addFiles(const QStringList& paths) {
    QStringList files;
    for (const QString& path : paths) {
        const QFileInfo info(path);
        if (info.isDir()) {
            const QFileInfoList inside =
                QDir(info.absoluteFilePath()).entryInfoList(QDir::Files | QDir::Readable, QDir::Name | QDir::IgnoreCase);
            for (const QFileInfo& file : inside) files << file.absoluteFilePath();
        } else {
            files << info.absoluteFilePath();
        }
    }

    QSet<QString> listed;
    for (const Row& row : rows_) listed.insert(identityOf(QFileInfo(row.path)));
    bool added = false;
    for (const QString& file : files) {
        const QFileInfo info(file);
        const QString identity = identityOf(info);
        if (listed.contains(identity)) continue;
        listed.insert(identity);

        Row row;
        row.id = nextRowId_++;
        row.path = QDir::cleanPath(info.absoluteFilePath());
        row.sizeBytes = info.exists() ? info.size() : -1;
        rows_.push_back(std::move(row));
        QList<QStandardItem*> items;
        for (int c = 0; c < ColumnCount; ++c) items << new QStandardItem;
        items[SizeColumn]->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        items[TokensColumn]->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        model_->appendRow(items);
        showRow(int(rows_.size()) - 1);
        added = true;
    }
    if (!added) return;
    clearButton_->setEnabled(true);
    startQueuedReads();
    refreshBudget();
    updateBusy();
}

void DocumentTray::removeSelectedFiles() {
    QList<int> indexes;
    for (const QModelIndex& index : view_->selectionModel()->selectedRows()) indexes << index.row();
    if (indexes.isEmpty()) return;
    std::sort(indexes.begin(), indexes.end(), std::greater<int>());
    for (int index : indexes) {
        abandonRead(rows_[size_t(index)]);
        rows_.erase(rows_.begin() + index);
        model_->removeRow(index);
    }
    clearButton_->setEnabled(!rows_.empty());
    startQueuedReads();
    refreshBudget();
    updateBusy();
    emit changed();
}

void DocumentTray::clear() {
    if (rows_.empty()) return;
    for (Row& row : rows_) abandonRead(row);
    rows_.clear();
    model_->removeRows(0, model_->rowCount());
    clearButton_->setEnabled(false);
    removeButton_->setEnabled(false);
    refreshBudget();
    updateBusy();
    emit changed();
}

void DocumentTray::setModelInputs(strata::ModelInputs inputs) {
    inputs_ = std::move(inputs);
    hasModel_ = bool(inputs_.countTokens);
    loadingModel_.clear();
    // Counts belong to one tokenizer: every file is read again for the new one.
    for (size_t i = 0; i < rows_.size(); ++i) {
        Row& row = rows_[i];
        abandonRead(row);
        row.state = RowState::Queued;
        row.part.reset();
        row.error.clear();
        showRow(int(i));
    }
    startQueuedReads();
    refreshBudget();
    updateBusy();
}

void DocumentTray::setModelLoading(const QString& name) {
    if (name == loadingModel_) return;
    loadingModel_ = name;
    for (size_t i = 0; i < rows_.size(); ++i) showRow(int(i));
    refreshBudget();
}

void DocumentTray::setReservedTokens(qint64 tokens) {
    if (tokens == reservedTokens_) return;
    reservedTokens_ = std::max<qint64>(0, tokens);
    refreshBudget();
    emit changed();
}

std::vector<strata::PromptPart> DocumentTray::parts() const {
    std::vector<strata::PromptPart> out;
    for (const Row& row : rows_)
        if (row.state == RowState::Ready && row.part && row.part->unusable.empty()) out.push_back(*row.part);
    return out;
}

strata::PromptBudget DocumentTray::budget() const {
    // Weighing needs only the counts and names; copying the spans of every part would not do.
    std::vector<strata::PromptPart> weights;
    for (const Row& row : rows_) {
        if (row.state != RowState::Ready || !row.part) continue;
        strata::PromptPart weight;
        weight.file = row.part->file;
        weight.kind = row.part->kind;
        weight.tokens = row.part->tokens;
        if (hasModel_) weight.unusable = row.part->unusable;
        weights.push_back(std::move(weight));
    }
    strata::PromptBudget weighed = strata::weighPromptParts(weights, hasModel_ ? inputs_.contextTokens : 0, reservedTokens_);
    if (!hasModel_) {
        // Nothing can be weighed, and nothing run, before a model is chosen.
        weighed.fits = false;
        weighed.summary = loadingModel_.isEmpty()
                              ? std::string("no model chosen: tokens are counted once one is")
                              : "the model " + loadingModel_.toStdString() + " is loading: tokens are counted once it is ready";
    }
    return weighed;
}

bool DocumentTray::busy() const { return !liveJobs_.empty(); }

QStringList DocumentTray::missingText() const {
    QStringList out;
    for (const Row& row : rows_) {
        if (row.state != RowState::Ready || !row.part || !row.part->unusable.empty()) continue;
        const strata::PromptPart& part = *row.part;
        const QString name = QFileInfo(row.path).fileName();
        const std::vector<int64_t>& pages = part.pagesWithoutText;
        if (pages.size() == 1)
            out << tr("%1: page %2 yields no text even with OCR; the model will not see it.").arg(name).arg(pages.front());
        else if (!pages.empty())
            out << tr("%1: pages %2 yield no text even with OCR; the model will not see them.").arg(name, pageRanges(pages));
        else if (yieldsNoText(part))
            out << tr("%1: yields no text; the model will not see it.").arg(name);
    }
    return out;
}

QStringList DocumentTray::files() const {
    QStringList out;
    for (const Row& row : rows_) out << row.path;
    return out;
}

void DocumentTray::dragEnterEvent(QDragEnterEvent* event) {
    if (hasLocalFiles(event->mimeData()))
        event->acceptProposedAction();
    else
        event->ignore();
}

void DocumentTray::dragMoveEvent(QDragMoveEvent* event) {
    if (hasLocalFiles(event->mimeData()))
        event->acceptProposedAction();
    else
        event->ignore();
}

void DocumentTray::dropEvent(QDropEvent* event) {
    if (!hasLocalFiles(event->mimeData())) {
        event->ignore();
        return;
    }
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) paths << url.toLocalFile();
    event->acceptProposedAction();
    addFiles(paths);
}

void DocumentTray::setPassword(const QString& path, const QString& password) {
    for (Row& row : rows_) {
        if (row.path != path || row.state == RowState::Reading) continue;
        row.password = password;
        row.state = RowState::Queued;
        row.part.reset();
        row.error.clear();
    }
    startQueuedReads();
    emit changed();
}

void DocumentTray::chooseFiles() {
    const QString filters = tr("PDF documents (*.pdf);;"
                               "Text and logs (*.txt *.log *.md *.csv *.tsv *.json *.xml *.yaml *.yml *.ini *.cfg "
                               "*.conf *.out *.err);;"
                               "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tga *.psd *.pnm *.ppm *.pgm *.hdr);;"
                               "Audio (*.wav *.flac *.ogg *.oga *.mp3);;"
                               "All files (*)");
    QString allFiles = tr("All files (*)");
    const QStringList chosen = QFileDialog::getOpenFileNames(this, tr("Add files"), lastFolder_, filters, &allFiles);
    if (chosen.isEmpty()) return;
    lastFolder_ = QFileInfo(chosen.front()).absolutePath();
    addFiles(chosen);
}

DocumentTray::ReadOutcome DocumentTray::readFile(QString path, QString password, strata::ModelInputs inputs,
                                                 std::shared_ptr<std::atomic<bool>> abandoned,
                                                 std::shared_ptr<std::atomic<int>> permille) {
    auto count = std::move(inputs.countTokens);
    inputs.countTokens = [count = std::move(count), abandoned](std::string_view text) -> int64_t {
        return abandoned->load(std::memory_order_relaxed) ? 0 : count(text);
    };
    strata::IngestOptions options;
    options.password = password.toStdString();
    // A file taken out of the tray stops being read (OCR of a long scan, say) at the next page.
    options.cancelled = [abandoned] { return abandoned->load(std::memory_order_relaxed); };
    options.progress = [permille](uint64_t done, uint64_t total) {
        if (total > 0) permille->store(int(std::min<uint64_t>(1000, done * 1000 / total)), std::memory_order_relaxed);
    };
    ReadOutcome outcome;
    const std::filesystem::path file(QFile::encodeName(path).toStdString());
    try {
        const strata::FileFormat format = strata::detectFileFormat(file);
        outcome.kind = format.kind;
        outcome.format = QString::fromStdString(format.name);
        auto part = strata::ingestFile(file, inputs, options);
        if (part.ok())
            outcome.part = std::move(part).value();
        else
            outcome.error = QString::fromStdString(part.error().message);
    } catch (const std::exception& e) {
        // Out of memory on a huge file, say: the file fails, the window stays up.
        outcome.error = tr("%1: could not be read (%2)").arg(QFileInfo(path).fileName(), QString::fromLocal8Bit(e.what()));
    }
    return outcome;
}

void DocumentTray::startQueuedReads() {
    for (size_t i = 0; i < rows_.size() && liveJobs_.size() < kMaxParallelReads; ++i) {
        Row& row = rows_[i];
        if (row.state != RowState::Queued) continue;
        row.state = RowState::Reading;
        row.jobId = nextJobId_++;
        row.abandoned = std::make_shared<std::atomic<bool>>(false);
        row.permille = std::make_shared<std::atomic<int>>(-1);
        row.shownPermille = -1;
        liveJobs_.insert(row.jobId);

        auto* watcher = new QFutureWatcher<ReadOutcome>(this);
        const quint64 rowId = row.id, jobId = row.jobId;
        connect(watcher, &QFutureWatcher<ReadOutcome>::finished, this, [this, watcher, rowId, jobId] {
            ReadOutcome outcome = watcher->future().takeResult();
            watcher->deleteLater();
            finishRead(rowId, jobId, std::move(outcome));
        });
        watcher->setFuture(QtConcurrent::run(&DocumentTray::readFile, row.path, row.password, inputsForReading(), row.abandoned,
                                            row.permille));
        showRow(int(i));
    }
}

void DocumentTray::finishRead(quint64 rowId, quint64 jobId, ReadOutcome outcome) {
    // A read whose row was removed, or whose model was replaced, is no longer live.
    if (liveJobs_.erase(jobId) == 0) return;
    const int index = indexOfRow(rowId);
    if (index >= 0) {
        Row& row = rows_[size_t(index)];
        row.jobId = 0;
        row.abandoned.reset();
        row.permille.reset();
        row.kind = outcome.kind;
        row.format = outcome.format;
        if (outcome.part) {
            row.state = RowState::Ready;
            row.part = std::move(outcome.part);
            row.error.clear();
        } else {
            row.state = RowState::Failed;
            row.part.reset();
            row.error = outcome.error;
        }
        showRow(index);
    }
    startQueuedReads();
    refreshBudget();
    updateBusy();
    emit changed();
}

void DocumentTray::abandonRead(Row& row) {
    if (row.jobId == 0) return;
    liveJobs_.erase(row.jobId);
    if (row.abandoned) row.abandoned->store(true, std::memory_order_relaxed);
    row.abandoned.reset();
    row.permille.reset();
    row.jobId = 0;
}

void DocumentTray::showRow(int index) {
    const Row& row = rows_[size_t(index)];
    QStandardItem* name = model_->item(index, NameColumn);
    QStandardItem* type = model_->item(index, TypeColumn);
    QStandardItem* size = model_->item(index, SizeColumn);
    QStandardItem* contents = model_->item(index, ContentsColumn);
    QStandardItem* tokens = model_->item(index, TokensColumn);
    QStandardItem* status = model_->item(index, StatusColumn);

    name->setText(QFileInfo(row.path).fileName());
    name->setToolTip(row.path);
    name->setData(row.path, PathRole);

    // What the file was found to be ("PDF document", "gzip-compressed text"), the file's reader's
    // word when it read it (an image read by OCR is text), else its kind.
    const QString kindName = row.kind ? QString::fromLatin1(strata::partKindName(*row.kind)) : QStringLiteral("…");
    if (row.state == RowState::Ready && row.part && !row.part->format.empty())
        type->setText(QString::fromStdString(row.part->format));
    else
        type->setText(row.format.isEmpty() ? kindName : row.format);

    if (row.sizeBytes >= 0) {
        size->setText(QLocale().formattedDataSize(row.sizeBytes));
        size->setToolTip(tr("%1 bytes").arg(grouped(row.sizeBytes)));
    } else {
        size->setText(QStringLiteral("—"));
        size->setToolTip(tr("The file was not found"));
    }

    const strata::PromptPart* part = row.state == RowState::Ready && row.part ? &*row.part : nullptr;
    QString detail = part ? QString::fromStdString(part->details) : QString();
    QString detailTip = detail;
    if (part && !part->title.empty()) detailTip += QLatin1Char('\n') + tr("Title: %1").arg(QString::fromStdString(part->title));
    if (part && !part->author.empty())
        detailTip += QLatin1Char('\n') + tr("Author: %1").arg(QString::fromStdString(part->author));
    contents->setText(detail);
    contents->setToolTip(detailTip);

    const bool usable = part && part->unusable.empty();
    if (part && hasModel_) {
        tokens->setData(qlonglong(part->tokens), TokensRole);
        tokens->setText(usable ? grouped(part->tokens) : QStringLiteral("—"));
        tokens->setToolTip(usable ? tr("%1 tokens for %2").arg(grouped(part->tokens), QString::fromStdString(inputs_.modelName))
                                  : tr("Not sent: the model cannot take it"));
    } else {
        tokens->setData(QVariant(), TokensRole);
        tokens->setText(QStringLiteral("—"));
        tokens->setToolTip(!part                      ? QString()
                           : loadingModel_.isEmpty() ? tr("No model chosen: tokens are counted once one is")
                                                      : tr("%1 is loading: tokens are counted once it is ready")
                                                            .arg(loadingModel_));
    }

    QString state;
    QColor colour;
    switch (row.state) {
    case RowState::Queued: state = tr("waiting…"); break;
    case RowState::Reading:
        state = row.shownPermille >= 0 ? tr("reading… %1%").arg(row.shownPermille / 10) : tr("reading…");
        break;
    case RowState::Failed:
        state = failureReason(row);
        colour = kErrorColour;
        break;
    case RowState::Ready:
        if (!hasModel_) {
            state = loadingModel_.isEmpty() ? tr("read; no model chosen") : tr("read; model loading");
        } else if (!part->unusable.empty()) {
            state = QString::fromStdString(part->unusable);
            colour = kWarningColour;
        } else if (!part->textKept) {
            state = tr("counted; larger than the whole context, so its text is not held");
            colour = kWarningColour;
        } else {
            state = tr("ready");
        }
        break;
    }
    status->setText(state);
    status->setToolTip(state);
    status->setData(colour.isValid() ? QVariant(colour) : QVariant(), Qt::ForegroundRole);
    type->setToolTip(QString());
    if (row.state == RowState::Failed) {
        // The whole row tells why, wherever the pointer rests on it.
        const QString why = row.error.contains(QStringLiteral("encrypted"))
                                ? row.error + tr("\nDouble-click to give its password.")
                                : row.error;
        for (QStandardItem* item : {type, size, contents, tokens, status}) item->setToolTip(why);
        name->setToolTip(row.path + QLatin1Char('\n') + why);
    }
}

QString DocumentTray::failureReason(const Row& row) {
    // Readers name the file in full; the Name column already does, so the reason comes first.
    QString reason = row.error;
    if (reason.startsWith(row.path)) {
        reason = reason.mid(row.path.size()).trimmed();
        if (reason.startsWith(QLatin1Char(':'))) reason = reason.mid(1).trimmed();
    }
    return reason;
}

void DocumentTray::showProblems() {
    QStringList lines;
    int failed = 0;
    for (const Row& row : rows_) {
        if (row.state != RowState::Failed) continue;
        if (++failed <= kMaxListedProblems) lines << QFileInfo(row.path).fileName() + QStringLiteral(": ") + failureReason(row);
    }
    if (failed > kMaxListedProblems)
        lines << tr("and %n more: see the Status column", nullptr, failed - kMaxListedProblems);
    problemsLabel_->setText(lines.join(QLatin1Char('\n')));
    problemsLabel_->setVisible(failed > 0);
}

void DocumentTray::fitColumns() {
    // Each column as wide as its widest cell, except that the name and the contents take at most
    // two fifths of a narrow list each, so the others stay in view; the status gets the rest, and
    // at least room for "ready" or a reading percentage: the name gives way first, then the
    // contents (a long error reads in full below the list anyway).
    for (int column = 0; column < StatusColumn; ++column) view_->resizeColumnToContents(column);
    const int cap = std::max(120, view_->viewport()->width() * 2 / 5);
    for (int column : {int(NameColumn), int(ContentsColumn)})
        if (view_->columnWidth(column) > cap) view_->setColumnWidth(column, cap);
    const int statusMinimum = view_->fontMetrics().horizontalAdvance(tr("reading 100%")) + 16;
    int used = 0;
    for (int column = 0; column < StatusColumn; ++column) used += view_->columnWidth(column);
    int overflow = used + statusMinimum - view_->viewport()->width();
    for (int column : {int(NameColumn), int(ContentsColumn)}) {
        if (overflow <= 0) break;
        const int give = std::min(overflow, std::max(0, view_->columnWidth(column) - 80));
        view_->setColumnWidth(column, view_->columnWidth(column) - give);
        overflow -= give;
    }
    fillStatusColumn();
}

void DocumentTray::fillStatusColumn() {
    int used = 0;
    for (int column = 0; column < StatusColumn; ++column) used += view_->columnWidth(column);
    view_->setColumnWidth(StatusColumn, std::max(view_->header()->minimumSectionSize(), view_->viewport()->width() - used));
}

bool DocumentTray::eventFilter(QObject* watched, QEvent* event) {
    // The list's visible width changes with the tray and with its vertical scroll bar.
    if (fitTimer_ && watched == view_->viewport() && event->type() == QEvent::Resize) fitTimer_->start();
    return QWidget::eventFilter(watched, event);
}

void DocumentTray::refreshBudget() {
    const strata::PromptBudget weighed = budget();
    QString level;
    QString text;
    if (!hasModel_ && !loadingModel_.isEmpty()) {
        contextBar_->setRange(0, 1);
        contextBar_->setValue(0);
        contextBar_->setFormat(tr("Loading %1…").arg(loadingModel_));
        level = QStringLiteral("none");
        text = tr("Loading the model %1: files are read now and their tokens counted once it is ready.")
                   .arg(loadingModel_);
    } else if (!hasModel_) {
        contextBar_->setRange(0, 1);
        contextBar_->setValue(0);
        contextBar_->setFormat(tr("No model chosen"));
        level = QStringLiteral("none");
        text = tr("No model chosen: files are read now and their tokens counted once a model is chosen.");
    } else {
        const qint64 needed = weighed.partTokens + weighed.reservedTokens;
        const qint64 context = std::max<qint64>(1, weighed.contextTokens);
        const int maximum = int(std::min<qint64>(context, INT_MAX));
        contextBar_->setRange(0, maximum);
        contextBar_->setValue(int(std::min<qint64>(needed * maximum / context, maximum)));
        if (!weighed.fits) {
            level = QStringLiteral("over");
            contextBar_->setFormat(tr("%1 of %2 tokens: does not fit").arg(grouped(needed), grouped(weighed.contextTokens)));
        } else {
            level = needed * 5 > context * 4 ? QStringLiteral("tight") : QStringLiteral("ok");
            contextBar_->setFormat(tr("%1 of %2 tokens").arg(grouped(needed), grouped(weighed.contextTokens)));
        }
        text = QString::fromStdString(weighed.summary);
        if (!text.isEmpty()) text[0] = text[0].toUpper();
        for (const std::string& unusable : weighed.unusable)
            text += QLatin1Char('\n') + tr("Not sent: %1").arg(QString::fromStdString(unusable));
    }
    int reading = 0;
    for (const Row& row : rows_) reading += row.state == RowState::Queued || row.state == RowState::Reading;
    if (reading > 0) text = tr("Reading %n file(s)… ", nullptr, reading) + text;

    const QString chunk = level == QLatin1String("over")    ? QStringLiteral("#d32f2f")
                          : level == QLatin1String("tight") ? QStringLiteral("#c77c00")
                                                            : QStringLiteral("#2e7d32");
    contextBar_->setStyleSheet(QStringLiteral("QProgressBar { border: 1px solid palette(mid); border-radius: 3px; "
                                              "text-align: center; } QProgressBar::chunk { background-color: %1; }")
                                   .arg(chunk));
    contextBar_->setProperty("level", level);
    contextBar_->setToolTip(tr("Tokens of the files plus %1 kept for the question and the answer, against the "
                               "model's context")
                                .arg(grouped(reservedTokens_)));

    budgetLabel_->setText(text);
    // When the files do not fit, the choices are what the user must act on.
    QFont font = budgetLabel_->font();
    font.setBold(hasModel_ && !weighed.fits);
    budgetLabel_->setFont(font);
    QPalette palette = budgetLabel_->palette();
    palette.setColor(QPalette::WindowText, hasModel_ && !weighed.fits ? kErrorColour
                                                                     : this->palette().color(QPalette::WindowText));
    budgetLabel_->setPalette(palette);

    // The rest of what the tray says about its list follows the same changes.
    showProblems();
    fitTimer_->start();
}

void DocumentTray::showReadProgress() {
    for (size_t i = 0; i < rows_.size(); ++i) {
        Row& row = rows_[i];
        if (row.state != RowState::Reading || !row.permille) continue;
        const int permille = row.permille->load(std::memory_order_relaxed);
        if (permille / 10 == row.shownPermille / 10) continue;
        row.shownPermille = permille;
        showRow(int(i));
    }
}

void DocumentTray::updateBusy() {
    const bool now = busy();
    if (!now)
        progressTimer_->stop();
    else if (!progressTimer_->isActive())
        progressTimer_->start();
    if (now == wasBusy_) return;
    wasBusy_ = now;
    emit busyChanged(now);
}

int DocumentTray::indexOfRow(quint64 rowId) const {
    for (size_t i = 0; i < rows_.size(); ++i)
        if (rows_[i].id == rowId) return int(i);
    return -1;
}

strata::ModelInputs DocumentTray::inputsForReading() const {
    if (hasModel_) return inputs_;
    strata::ModelInputs none;
    none.modelName = "no model chosen";
    none.countTokens = [](std::string_view) -> int64_t { return 0; };
    return none;
}

}  // namespace strata::ui
