#pragma once
// The browser of saved sessions: a search box, a sortable table of the sessions and a review pane
// with the selected session's details, attachments and transcript, plus the actions on it
// (continue or resume in the window, export, rename, delete).
//
// Every store access runs on a worker thread that opens its own SessionStore for the call, and
// comes back as plain values, so a large or locked database never freezes the window. Results
// that arrive after a newer request was made are dropped.
#include <QString>
#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <vector>

#include "core/Result.h"
#include "session/SessionStore.h"

class QAction;
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class QTextBrowser;
class QTimer;
class QTreeWidget;

namespace strata::ui {

class SessionListModel;

class SessionBrowser : public QWidget {
    Q_OBJECT

public:
    // Starts on the default sessions folder (sessionsDir()); the list loads when first shown,
    // or on setStoreRoot / refresh.
    explicit SessionBrowser(QWidget* parent = nullptr);
    ~SessionBrowser() override;

    // Points the browser at another store root and reloads the list.
    void setStoreRoot(const QString& dir);
    QString storeRoot() const { return storeRoot_; }

    // The id of the selected session; empty when none is selected.
    QString selectedId() const;
    // The id of the session the review pane shows; empty when it shows none.
    QString reviewedId() const { return reviewedId_; }

    SessionListModel* sessionModel() const { return model_; }

    // While a job works on session id, its row says what the job is doing (see
    // SessionListModel::setLiveState).
    void showLiveState(const QString& id, const QString& state, const QString& detail);
    // The job on session id ended: the list is read again, and the row shows the stored state
    // once the new list has it (before, the stored state is the one from before the job ended).
    void showStoredState(const QString& id);

    // Writes the session as Markdown or JSON to file, atomically. Blocking: the browser calls it
    // on a worker thread; it opens its own store, so any thread may call it.
    static strata::Status writeExport(const QString& storeRoot, const QString& id, const QString& file, bool json);

public slots:
    // Reloads the list with the current search text.
    void refresh();
    // Selects the session (once the list has it, if it is still loading) and reviews it.
    void selectSession(const QString& id);
    // Exports on a worker thread; exportFinished or errorOccurred tells how it went.
    void exportTo(const QString& id, const QString& file, bool json);
    // Asks first when confirm is true; then deletes on a worker thread, emits sessionsChanged
    // and reloads the list.
    void deleteSession(const QString& id, bool confirm = true);
    void renameSession(const QString& id, const QString& title);

signals:
    void continueRequested(const QString& id);  // the user wants a follow-up in a ready session
    void resumeRequested(const QString& id);    // the user wants a paused prefill resumed
    void sessionsChanged();                     // the browser deleted or renamed a session
    void errorOccurred(const QString& message);
    void loaded();                              // a list refresh has landed in the model
    void reviewLoaded(const QString& id);       // the review pane shows this session
    void exportFinished(const QString& file);   // an export was written in full

protected:
    void showEvent(QShowEvent* event) override;

private:
    void createWidgets();
    void createActions();
    void applyList(std::vector<strata::SessionInfo> sessions);
    void onSelectionChanged();
    void loadReview(const QString& id);
    void showReview(const strata::SessionInfo& info, const std::vector<strata::Turn>& turns,
                    const std::vector<strata::Attachment>& attachments, int64_t prefillDone,
                    int64_t prefillTotal);
    void clearReview();
    void updateButtons();
    void showStatus(const QString& text);
    void reportError(const QString& message);
    void askExport(bool json);
    void askRename();
    void activateReviewed();

    QString storeRoot_;
    bool everRefreshed_ = false;
    uint64_t listGeneration_ = 0;
    uint64_t reviewGeneration_ = 0;
    QString pendingSelection_;
    QStringList endedJobs_;  // sessions whose live state goes when the next list lands
    QString reviewedId_;
    strata::SessionState reviewedState_ = strata::SessionState::Ready;
    QString reviewedTitle_;

    SessionListModel* model_ = nullptr;
    QSortFilterProxyModel* sorted_ = nullptr;
    QTimer* searchDebounce_ = nullptr;

    QLineEdit* search_ = nullptr;
    QTableView* table_ = nullptr;
    QLabel* status_ = nullptr;
    QLabel* reviewTitle_ = nullptr;
    QLabel* reviewDetails_ = nullptr;
    QTreeWidget* attachments_ = nullptr;
    QTextBrowser* transcript_ = nullptr;
    QPushButton* continueButton_ = nullptr;
    QPushButton* resumeButton_ = nullptr;
    QPushButton* exportButton_ = nullptr;
    QPushButton* renameButton_ = nullptr;
    QPushButton* deleteButton_ = nullptr;
    QAction* exportMarkdownAction_ = nullptr;
    QAction* exportJsonAction_ = nullptr;
};

}  // namespace strata::ui
