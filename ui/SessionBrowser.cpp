#include "SessionBrowser.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardPaths>
#include <QTableView>
#include <QTextBrowser>
#include <QTextCursor>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <filesystem>
#include <optional>
#include <type_traits>
#include <utility>

#include "SessionListModel.h"
#include "core/AtomicFile.h"
#include "core/ModelLocations.h"
#include "session/SessionExport.h"

namespace strata::ui {

namespace {

constexpr int kSearchDebounceMs = 250;
constexpr int kShaPrefixLength = 12;

std::filesystem::path toPath(const QString& s) { return std::filesystem::path(s.toStdString()); }
QString fromStd(const std::string& s) { return QString::fromStdString(s); }

// What a worker hands back: plain values only, so nothing on the worker outlives the call.
struct ListOutcome {
    std::vector<strata::SessionInfo> sessions;
    QString error;
};

struct ReviewOutcome {
    strata::SessionInfo info;
    std::vector<strata::Turn> turns;
    std::vector<strata::Attachment> attachments;
    int64_t prefillDone = 0;
    int64_t prefillTotal = 0;
    QString error;
};

// Empty on success.
using StatusOutcome = QString;

QString messageOf(const strata::Error& e) { return fromStd(e.message); }

// Runs work on the global thread pool and hands its value to done on the owner's thread. The
// watcher belongs to the owner, so a result for a browser already gone is simply dropped.
template <typename Work, typename Done>
void runOffUiThread(QObject* owner, Work work, Done done) {
    using Value = std::invoke_result_t<Work>;
    auto* watcher = new QFutureWatcher<Value>(owner);
    QObject::connect(watcher, &QFutureWatcherBase::finished, owner, [watcher, done = std::move(done)]() mutable {
        done(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run(std::move(work)));
}

ListOutcome listSessionsAt(const QString& root, const QString& search) {
    ListOutcome out;
    // Browsing must not create a database in a folder that has none yet.
    std::error_code ec;
    if (!std::filesystem::exists(toPath(root) / strata::SessionStore::kDatabaseName, ec)) return out;
    auto store = strata::SessionStore::open(toPath(root));
    if (!store.ok()) {
        out.error = messageOf(store.error());
        return out;
    }
    auto list = (*store)->listSessions(search.toStdString());
    if (!list.ok()) {
        out.error = messageOf(list.error());
        return out;
    }
    out.sessions = std::move(list).value();
    return out;
}

ReviewOutcome readSessionAt(const QString& root, const QString& id) {
    ReviewOutcome out;
    auto store = strata::SessionStore::open(toPath(root));
    if (!store.ok()) {
        out.error = messageOf(store.error());
        return out;
    }
    const std::string sid = id.toStdString();
    auto info = (*store)->session(sid);
    if (!info.ok()) {
        out.error = messageOf(info.error());
        return out;
    }
    auto turns = (*store)->turns(sid);
    if (!turns.ok()) {
        out.error = messageOf(turns.error());
        return out;
    }
    auto attachments = (*store)->attachments(sid);
    if (!attachments.ok()) {
        out.error = messageOf(attachments.error());
        return out;
    }
    // The checkpoint only adds detail to the review; a session is still worth showing without it.
    auto progress = (*store)->prefillProgress(sid);
    if (progress.ok() && progress->has_value()) {
        out.prefillDone = (*progress)->tokensDone;
        out.prefillTotal = (*progress)->tokensTotal;
    }
    out.info = std::move(info).value();
    out.turns = std::move(turns).value();
    out.attachments = std::move(attachments).value();
    return out;
}

StatusOutcome deleteSessionAt(const QString& root, const QString& id) {
    auto store = strata::SessionStore::open(toPath(root));
    if (!store.ok()) return messageOf(store.error());
    const strata::Status st = (*store)->deleteSession(id.toStdString());
    return st.ok() ? QString() : messageOf(st.error());
}

StatusOutcome renameSessionAt(const QString& root, const QString& id, const QString& title) {
    auto store = strata::SessionStore::open(toPath(root));
    if (!store.ok()) return messageOf(store.error());
    const strata::Status st = (*store)->renameSession(id.toStdString(), title.toStdString());
    return st.ok() ? QString() : messageOf(st.error());
}

QString roleHeading(strata::TurnRole role) {
    switch (role) {
    case strata::TurnRole::System: return SessionBrowser::tr("System");
    case strata::TurnRole::User: return SessionBrowser::tr("You");
    case strata::TurnRole::Assistant: return SessionBrowser::tr("Assistant");
    }
    return {};
}

// A file name from the title that every file system accepts.
QString suggestedFileName(const QString& title, const QString& id, bool json) {
    QString base;
    for (const QChar c : title.left(60)) base += (c.isLetterOrNumber() || c == QLatin1Char('-')) ? c : QLatin1Char('_');
    while (base.contains(QStringLiteral("__"))) base.replace(QStringLiteral("__"), QStringLiteral("_"));
    if (base.isEmpty() || base == QStringLiteral("_")) base = QStringLiteral("session-") + id;
    return base + (json ? QStringLiteral(".json") : QStringLiteral(".md"));
}

}  // namespace

SessionBrowser::SessionBrowser(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("sessionBrowser"));
    storeRoot_ = QString::fromStdString(strata::sessionsDir().string());
    createWidgets();
    createActions();
    clearReview();
}

SessionBrowser::~SessionBrowser() = default;

void SessionBrowser::createWidgets() {
    model_ = new SessionListModel(this);
    sorted_ = new QSortFilterProxyModel(this);
    sorted_->setSourceModel(model_);
    sorted_->setSortRole(SessionListModel::SortRole);

    search_ = new QLineEdit(this);
    search_->setObjectName(QStringLiteral("sessionSearch"));
    search_->setPlaceholderText(tr("Search titles and turns"));
    search_->setClearButtonEnabled(true);
    search_->setToolTip(tr("Shows the sessions whose title or any turn contains this text (Ctrl+F)"));

    searchDebounce_ = new QTimer(this);
    searchDebounce_->setSingleShot(true);
    searchDebounce_->setInterval(kSearchDebounceMs);
    // Typing a word should cost one query, not one per key.
    connect(search_, &QLineEdit::textChanged, searchDebounce_, qOverload<>(&QTimer::start));
    connect(searchDebounce_, &QTimer::timeout, this, &SessionBrowser::refresh);

    table_ = new QTableView(this);
    table_->setObjectName(QStringLiteral("sessionTable"));
    table_->setModel(sorted_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSortingEnabled(true);
    table_->sortByColumn(SessionListModel::UpdatedColumn, Qt::DescendingOrder);
    table_->verticalHeader()->hide();
    // The title takes what the other columns, each as wide as its content, leave; one line per
    // session, a long title elided (its tooltip has it whole).
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(SessionListModel::TitleColumn, QHeaderView::Stretch);
    table_->horizontalHeader()->setMinimumSectionSize(48);
    table_->setWordWrap(false);
    table_->setAlternatingRowColors(true);
    table_->setToolTip(tr("Saved sessions; click a header to sort, Enter to continue the selected one"));
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &SessionBrowser::onSelectionChanged);
    connect(table_, &QAbstractItemView::activated, this, [this] { activateReviewed(); });

    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("sessionStatus"));
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    status_->setWordWrap(true);

    auto* listPane = new QWidget(this);
    auto* listLayout = new QVBoxLayout(listPane);
    listLayout->setContentsMargins(0, 0, 0, 0);
    listLayout->addWidget(search_);
    listLayout->addWidget(table_, 1);
    listLayout->addWidget(status_);

    auto* reviewPane = new QWidget(this);
    reviewPane->setObjectName(QStringLiteral("sessionReview"));
    reviewTitle_ = new QLabel(reviewPane);
    reviewTitle_->setObjectName(QStringLiteral("reviewTitle"));
    reviewTitle_->setTextFormat(Qt::PlainText);
    reviewTitle_->setWordWrap(true);
    QFont titleFont = reviewTitle_->font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.25);
    reviewTitle_->setFont(titleFont);

    reviewDetails_ = new QLabel(reviewPane);
    reviewDetails_->setObjectName(QStringLiteral("reviewDetails"));
    reviewDetails_->setTextFormat(Qt::PlainText);
    reviewDetails_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    reviewDetails_->setWordWrap(true);

    attachments_ = new QTreeWidget(reviewPane);
    attachments_->setObjectName(QStringLiteral("reviewAttachments"));
    attachments_->setHeaderLabels({tr("Attachment"), tr("Kind"), tr("Tokens"), tr("SHA-256")});
    attachments_->setRootIsDecorated(false);
    attachments_->setToolTip(tr("Files given to the model in this session, as they were when added"));
    attachments_->setMaximumHeight(120);

    transcript_ = new QTextBrowser(reviewPane);
    transcript_->setObjectName(QStringLiteral("reviewTranscript"));
    transcript_->setOpenExternalLinks(true);
    transcript_->setToolTip(tr("The session's turns in order"));

    continueButton_ = new QPushButton(tr("&Continue"), reviewPane);
    continueButton_->setObjectName(QStringLiteral("continueButton"));
    continueButton_->setToolTip(tr("Open this session in the window and ask a follow-up (Enter)"));
    connect(continueButton_, &QPushButton::clicked, this, [this] {
        if (!reviewedId_.isEmpty() && reviewedState_ == strata::SessionState::Ready) emit continueRequested(reviewedId_);
    });

    resumeButton_ = new QPushButton(tr("&Resume"), reviewPane);
    resumeButton_->setObjectName(QStringLiteral("resumeButton"));
    resumeButton_->setToolTip(tr("Resume the paused prompt reading from its last checkpoint"));
    connect(resumeButton_, &QPushButton::clicked, this, [this] {
        if (!reviewedId_.isEmpty() && reviewedState_ == strata::SessionState::Paused) emit resumeRequested(reviewedId_);
    });

    exportButton_ = new QPushButton(tr("&Export…"), reviewPane);
    exportButton_->setObjectName(QStringLiteral("exportButton"));
    exportButton_->setToolTip(tr("Save this session as a Markdown document or a JSON file"));

    renameButton_ = new QPushButton(tr("Re&name…"), reviewPane);
    renameButton_->setObjectName(QStringLiteral("renameButton"));
    renameButton_->setToolTip(tr("Give this session a new title (F2)"));
    connect(renameButton_, &QPushButton::clicked, this, &SessionBrowser::askRename);

    deleteButton_ = new QPushButton(tr("&Delete…"), reviewPane);
    deleteButton_->setObjectName(QStringLiteral("deleteButton"));
    deleteButton_->setToolTip(tr("Delete this session, its transcript and its saved cache (Delete)"));
    connect(deleteButton_, &QPushButton::clicked, this, [this] {
        if (!reviewedId_.isEmpty()) deleteSession(reviewedId_, true);
    });

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(continueButton_);
    buttons->addWidget(resumeButton_);
    buttons->addStretch(1);
    buttons->addWidget(exportButton_);
    buttons->addWidget(renameButton_);
    buttons->addWidget(deleteButton_);

    auto* reviewLayout = new QVBoxLayout(reviewPane);
    reviewLayout->setContentsMargins(0, 0, 0, 0);
    reviewLayout->addWidget(reviewTitle_);
    reviewLayout->addWidget(reviewDetails_);
    reviewLayout->addWidget(attachments_);
    reviewLayout->addWidget(transcript_, 1);
    reviewLayout->addLayout(buttons);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setObjectName(QStringLiteral("sessionSplitter"));
    splitter->addWidget(listPane);
    splitter->addWidget(reviewPane);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    // Room for a readable title beside the fitted columns.
    splitter->setSizes({560, 800});

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
}

void SessionBrowser::createActions() {
    auto* exportMenu = new QMenu(exportButton_);
    exportMarkdownAction_ = exportMenu->addAction(tr("As &Markdown…"));
    exportMarkdownAction_->setObjectName(QStringLiteral("exportMarkdownAction"));
    exportMarkdownAction_->setToolTip(tr("A document to read or share"));
    connect(exportMarkdownAction_, &QAction::triggered, this, [this] { askExport(false); });
    exportJsonAction_ = exportMenu->addAction(tr("As &JSON…"));
    exportJsonAction_->setObjectName(QStringLiteral("exportJsonAction"));
    exportJsonAction_->setToolTip(tr("Every field, for other programs (format \"strata-session\")"));
    connect(exportJsonAction_, &QAction::triggered, this, [this] { askExport(true); });
    exportButton_->setMenu(exportMenu);

    // Shortcuts act only while the browser has focus, so they do not steal keys from the rest
    // of the window.
    auto addShortcut = [this](const QString& name, const QKeySequence& keys, auto slot) {
        auto* action = new QAction(this);
        action->setObjectName(name);
        action->setShortcut(keys);
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        connect(action, &QAction::triggered, this, slot);
        addAction(action);
    };
    addShortcut(QStringLiteral("focusSearchAction"), QKeySequence::Find, [this] {
        search_->setFocus();
        search_->selectAll();
    });
    addShortcut(QStringLiteral("refreshSessionsAction"), QKeySequence::Refresh, [this] { refresh(); });
    addShortcut(QStringLiteral("renameSessionAction"), QKeySequence(Qt::Key_F2), [this] { askRename(); });
    auto* deleteAction = new QAction(this);
    deleteAction->setObjectName(QStringLiteral("deleteSessionAction"));
    deleteAction->setShortcut(QKeySequence::Delete);
    deleteAction->setShortcutContext(Qt::WidgetShortcut);  // Delete in the search box edits text
    connect(deleteAction, &QAction::triggered, this, [this] {
        if (!reviewedId_.isEmpty()) deleteSession(reviewedId_, true);
    });
    table_->addAction(deleteAction);
}

void SessionBrowser::setStoreRoot(const QString& dir) {
    storeRoot_ = dir;
    clearReview();
    model_->setSessions({});
    refresh();
}

QString SessionBrowser::selectedId() const {
    const QModelIndexList rows = table_->selectionModel()->selectedRows();
    if (rows.isEmpty()) return {};
    return rows.first().data(SessionListModel::IdRole).toString();
}

void SessionBrowser::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (!everRefreshed_) refresh();
}

void SessionBrowser::showLiveState(const QString& id, const QString& state, const QString& detail) {
    endedJobs_.removeAll(id);
    model_->setLiveState(id, state, detail);
}

void SessionBrowser::showStoredState(const QString& id) {
    if (!endedJobs_.contains(id)) endedJobs_ << id;
    refresh();
}

void SessionBrowser::refresh() {
    everRefreshed_ = true;
    searchDebounce_->stop();
    const uint64_t generation = ++listGeneration_;
    showStatus(tr("Loading sessions…"));
    runOffUiThread(
        this, [root = storeRoot_, search = search_->text()] { return listSessionsAt(root, search); },
        [this, generation](ListOutcome outcome) {
            if (generation != listGeneration_) return;  // a newer search or root replaced this one
            // Asked for after the jobs ended, this list has their stored states.
            for (const QString& id : std::as_const(endedJobs_)) model_->setLiveState(id, QString());
            endedJobs_.clear();
            if (!outcome.error.isEmpty()) {
                reportError(tr("Could not list the sessions in %1: %2").arg(storeRoot_, outcome.error));
                return;
            }
            applyList(std::move(outcome.sessions));
        });
}

void SessionBrowser::applyList(std::vector<strata::SessionInfo> sessions) {
    // A reset drops the selection; keep the user's place across the reload.
    QString keep = pendingSelection_.isEmpty() ? selectedId() : pendingSelection_;
    if (keep.isEmpty()) keep = reviewedId_;
    const int count = static_cast<int>(sessions.size());
    model_->setSessions(std::move(sessions));

    if (count == 0)
        showStatus(search_->text().isEmpty() ? tr("No saved sessions in %1").arg(storeRoot_)
                                             : tr("No session matches “%1”").arg(search_->text()));
    else
        showStatus(count == 1 ? tr("1 session") : tr("%1 sessions").arg(count));

    const int row = keep.isEmpty() ? -1 : model_->rowOf(keep);
    if (row >= 0) {
        pendingSelection_.clear();
        const QModelIndex proxyIndex = sorted_->mapFromSource(model_->index(row, 0));
        table_->selectionModel()->select(proxyIndex, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        table_->setCurrentIndex(proxyIndex);
        table_->scrollTo(proxyIndex);
        // The same session may have changed (a rename, a new turn): show it afresh.
        loadReview(keep);
    } else if (!reviewedId_.isEmpty()) {
        clearReview();
    }
    emit loaded();
}

void SessionBrowser::selectSession(const QString& id) {
    const int row = model_->rowOf(id);
    if (row < 0) {
        // The list may still be loading; applyList picks it up.
        pendingSelection_ = id;
        return;
    }
    pendingSelection_.clear();
    const QModelIndex proxyIndex = sorted_->mapFromSource(model_->index(row, 0));
    table_->selectionModel()->select(proxyIndex, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    table_->setCurrentIndex(proxyIndex);
    table_->scrollTo(proxyIndex);
}

void SessionBrowser::onSelectionChanged() {
    const QString id = selectedId();
    if (id.isEmpty()) return;  // keep showing the last session until another is picked
    if (id != reviewedId_) loadReview(id);
}

void SessionBrowser::loadReview(const QString& id) {
    const uint64_t generation = ++reviewGeneration_;
    runOffUiThread(
        this, [root = storeRoot_, id] { return readSessionAt(root, id); },
        [this, generation, id](ReviewOutcome outcome) {
            if (generation != reviewGeneration_) return;  // the user picked another session meanwhile
            if (!outcome.error.isEmpty()) {
                reportError(tr("Could not read session %1: %2").arg(id, outcome.error));
                return;
            }
            showReview(outcome.info, outcome.turns, outcome.attachments, outcome.prefillDone, outcome.prefillTotal);
            emit reviewLoaded(id);
        });
}

void SessionBrowser::showReview(const strata::SessionInfo& info, const std::vector<strata::Turn>& turns,
                                const std::vector<strata::Attachment>& attachments, int64_t prefillDone,
                                int64_t prefillTotal) {
    reviewedId_ = fromStd(info.id);
    reviewedState_ = info.state;
    reviewedTitle_ = fromStd(info.title);

    reviewTitle_->setText(reviewedTitle_.isEmpty() ? tr("(untitled)") : reviewedTitle_);
    QStringList details;
    details << tr("Model: %1").arg(fromStd(info.modelPath));
    details << tr("Created: %1    Updated: %2")
                   .arg(SessionListModel::formatLocalTime(info.createdAt), SessionListModel::formatLocalTime(info.updatedAt));
    QString state = tr("State: %1").arg(QString::fromLatin1(strata::toString(info.state)));
    if (info.state == strata::SessionState::Paused && prefillTotal > 0)
        state += tr(" (prompt read to token %1 of %2)").arg(prefillDone).arg(prefillTotal);
    details << state + tr("    Context: %1 tokens    Turns: %2").arg(info.contextTokens).arg(turns.size());
    details << tr("Id: %1").arg(reviewedId_);
    reviewDetails_->setText(details.join(QLatin1Char('\n')));

    attachments_->clear();
    for (const strata::Attachment& a : attachments) {
        const QString hash = fromStd(a.sha256);
        auto* item = new QTreeWidgetItem(attachments_, {QString::fromStdString(a.path.filename().string()),
                                                        fromStd(a.kind), QString::number(a.tokenCount),
                                                        hash.left(kShaPrefixLength)});
        item->setToolTip(0, QString::fromStdString(a.path.string()));
        item->setToolTip(3, hash);
        item->setTextAlignment(2, Qt::AlignRight | Qt::AlignVCenter);
    }
    attachments_->setVisible(!attachments.empty());
    for (int c = 0; c < attachments_->columnCount(); ++c) attachments_->resizeColumnToContents(c);

    // What the user typed is shown as typed; the model's answers are Markdown.
    transcript_->clear();
    QTextCursor cursor(transcript_->document());
    QTextCharFormat headingFormat;
    headingFormat.setFontWeight(QFont::Bold);
    bool first = true;
    for (const strata::Turn& t : turns) {
        if (!first) cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        first = false;
        cursor.insertText(roleHeading(t.role), headingFormat);
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        if (t.role == strata::TurnRole::Assistant)
            cursor.insertMarkdown(fromStd(t.text));
        else
            cursor.insertText(fromStd(t.text), QTextCharFormat());
    }
    if (turns.empty()) cursor.insertText(tr("This session has no turns yet."));
    transcript_->moveCursor(QTextCursor::Start);
    updateButtons();
}

void SessionBrowser::clearReview() {
    ++reviewGeneration_;
    reviewedId_.clear();
    reviewedTitle_.clear();
    reviewTitle_->setText(tr("No session selected"));
    reviewDetails_->clear();
    attachments_->clear();
    attachments_->hide();
    transcript_->clear();
    updateButtons();
}

void SessionBrowser::updateButtons() {
    const bool has = !reviewedId_.isEmpty();
    const bool ready = has && reviewedState_ == strata::SessionState::Ready;
    const bool paused = has && reviewedState_ == strata::SessionState::Paused;
    continueButton_->setEnabled(ready);
    continueButton_->setToolTip(ready || !has ? tr("Open this session in the window and ask a follow-up (Enter)")
                                              : tr("Only a ready session can take a follow-up; this one is %1")
                                                    .arg(QString::fromLatin1(strata::toString(reviewedState_))));
    resumeButton_->setVisible(paused);
    resumeButton_->setEnabled(paused);
    exportButton_->setEnabled(has);
    renameButton_->setEnabled(has);
    deleteButton_->setEnabled(has);
}

void SessionBrowser::activateReviewed() {
    if (reviewedId_.isEmpty() || reviewedId_ != selectedId()) return;
    if (reviewedState_ == strata::SessionState::Ready) emit continueRequested(reviewedId_);
    else if (reviewedState_ == strata::SessionState::Paused) emit resumeRequested(reviewedId_);
}

void SessionBrowser::showStatus(const QString& text) {
    status_->setStyleSheet(QString());
    status_->setText(text);
}

void SessionBrowser::reportError(const QString& message) {
    status_->setStyleSheet(QStringLiteral("color: #b00020;"));
    status_->setText(message);
    emit errorOccurred(message);
}

strata::Status SessionBrowser::writeExport(const QString& storeRoot, const QString& id, const QString& file, bool json) {
    auto store = strata::SessionStore::open(toPath(storeRoot));
    if (!store.ok()) return store.error();
    const std::string sid = id.toStdString();
    auto text = json ? strata::exportJson(**store, sid) : strata::exportMarkdown(**store, sid);
    if (!text.ok()) return text.error();
    return strata::writeFileAtomically(toPath(file), *text);
}

void SessionBrowser::exportTo(const QString& id, const QString& file, bool json) {
    showStatus(tr("Exporting to %1…").arg(file));
    runOffUiThread(
        this,
        [root = storeRoot_, id, file, json]() -> StatusOutcome {
            const strata::Status st = writeExport(root, id, file, json);
            return st.ok() ? QString() : messageOf(st.error());
        },
        [this, file](StatusOutcome error) {
            if (!error.isEmpty()) {
                reportError(tr("Could not export to %1: %2").arg(file, error));
                return;
            }
            showStatus(tr("Exported to %1").arg(file));
            emit exportFinished(file);
        });
}

void SessionBrowser::askExport(bool json) {
    if (reviewedId_.isEmpty()) return;
    QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    if (dir.isEmpty()) dir = QDir::homePath();
    const QString suggested = dir + QLatin1Char('/') + suggestedFileName(reviewedTitle_, reviewedId_, json);
    const QString filter = json ? tr("JSON (*.json)") : tr("Markdown (*.md)");
    const QString file = QFileDialog::getSaveFileName(this, tr("Export session"), suggested, filter);
    if (!file.isEmpty()) exportTo(reviewedId_, file, json);
}

void SessionBrowser::deleteSession(const QString& id, bool confirm) {
    if (id.isEmpty()) return;
    if (confirm) {
        const int row = model_->rowOf(id);
        const QString title = row >= 0 ? fromStd(model_->sessionAt(row).title) : id;
        const auto answer = QMessageBox::question(
            this, tr("Delete session"),
            tr("Delete “%1”?\n\nIts transcript, attachment records and saved cache are removed. "
               "This cannot be undone.").arg(title),
            QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes) return;
    }
    showStatus(tr("Deleting…"));
    runOffUiThread(
        this, [root = storeRoot_, id] { return deleteSessionAt(root, id); },
        [this, id](StatusOutcome error) {
            if (!error.isEmpty()) {
                reportError(tr("Could not delete session %1: %2").arg(id, error));
                return;
            }
            if (reviewedId_ == id) clearReview();
            if (pendingSelection_ == id) pendingSelection_.clear();
            emit sessionsChanged();
            refresh();
        });
}

void SessionBrowser::askRename() {
    if (reviewedId_.isEmpty()) return;
    bool ok = false;
    const QString title = QInputDialog::getText(this, tr("Rename session"), tr("Title:"), QLineEdit::Normal,
                                                reviewedTitle_, &ok);
    if (ok && !title.trimmed().isEmpty() && title != reviewedTitle_) renameSession(reviewedId_, title.trimmed());
}

void SessionBrowser::renameSession(const QString& id, const QString& title) {
    runOffUiThread(
        this, [root = storeRoot_, id, title] { return renameSessionAt(root, id, title); },
        [this, id](StatusOutcome error) {
            if (!error.isEmpty()) {
                reportError(tr("Could not rename session %1: %2").arg(id, error));
                return;
            }
            emit sessionsChanged();
            refresh();
        });
}

}  // namespace strata::ui
