#pragma once
// The files attached to a request: dropped or added, each read off the UI thread into a
// PromptPart and weighed against the chosen model's context. A bad file shows its error and the
// others go on; a part the model cannot take (an image for a text model) is listed with the
// reason rather than dropped.
#include <QStringList>
#include <QWidget>

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "PromptParts.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QStandardItemModel;
class QTimer;
class QTreeView;

namespace strata::ui {

class DocumentTray : public QWidget {
    Q_OBJECT

public:
    // Columns of the list, in order.
    enum Column { NameColumn, TypeColumn, SizeColumn, ContentsColumn, TokensColumn, StatusColumn, ColumnCount };
    // Item data roles: TokensRole on the Tokens column holds the count as qlonglong (absent
    // until counted); PathRole on the Name column holds the full path.
    static constexpr int TokensRole = Qt::UserRole + 1;
    static constexpr int PathRole = Qt::UserRole + 2;

    explicit DocumentTray(QWidget* parent = nullptr);
    ~DocumentTray() override;

    // Adds files; a folder adds the files directly inside it. Paths already listed are skipped.
    void addFiles(const QStringList& paths);
    void removeSelectedFiles();
    void clear();
    // Reads a locked PDF again with its password (also asked for on double-clicking its row).
    void setPassword(const QString& path, const QString& password);

    // The chosen model's counter and context. countTokens runs on worker threads; the caller
    // keeps what it refers to alive while the tray uses it. Every listed file is counted again.
    void setModelInputs(strata::ModelInputs inputs);
    bool hasModel() const { return hasModel_; }
    // The model being loaded (its file or folder name), until setModelInputs gives its counter;
    // empty when none is loading (it failed, or none was chosen).
    void setModelLoading(const QString& name);
    QString modelLoading() const { return loadingModel_; }
    // Tokens kept free for the question, the chat format and the answer.
    void setReservedTokens(qint64 tokens);
    qint64 reservedTokens() const { return reservedTokens_; }

    // The read parts the model can take, in list order (errors, unusable parts and files still
    // being read are left out).
    std::vector<strata::PromptPart> parts() const;
    // All read parts (the unusable ones with 0 tokens) against the context plus the reserve.
    strata::PromptBudget budget() const;
    bool busy() const;
    int fileCount() const { return int(rows_.size()); }
    QStringList files() const;
    // One line per part the model would get without (some of) its text: PDF pages that yield
    // none, and text files with none at all. Empty when every part has its text.
    QStringList missingText() const;

signals:
    void changed();
    void busyChanged(bool busy);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    enum class RowState { Queued, Reading, Ready, Failed };
    struct Row {
        quint64 id = 0;
        QString path;
        qint64 sizeBytes = -1;
        RowState state = RowState::Queued;
        std::optional<strata::PartKind> kind;
        QString format;  // what the file's bytes say it is, also when it could not be read
        std::optional<strata::PromptPart> part;
        QString error;
        QString password;  // for a locked PDF
        quint64 jobId = 0;  // the read in flight for this row, 0 when none
        // Set when the read's result is no longer wanted, so that the worker stops counting
        // (and stops calling into the model's tokenizer) as soon as it can.
        std::shared_ptr<std::atomic<bool>> abandoned;
        // Per mille of the file read, written by the worker and shown a few times a second;
        // -1 while the reader has not said.
        std::shared_ptr<std::atomic<int>> permille;
        int shownPermille = -1;
    };

    // What a worker hands back: the part, or the error that names the file.
    struct ReadOutcome {
        strata::PartKind kind = strata::PartKind::Text;
        QString format;
        std::optional<strata::PromptPart> part;
        QString error;
    };

    static ReadOutcome readFile(QString path, QString password, strata::ModelInputs inputs,
                                std::shared_ptr<std::atomic<bool>> abandoned,
                                std::shared_ptr<std::atomic<int>> permille);

    void chooseFiles();
    void startQueuedReads();
    void finishRead(quint64 rowId, quint64 jobId, ReadOutcome outcome);
    void abandonRead(Row& row);
    void showRow(int index);
    static QString failureReason(const Row& row);  // the read's error without the file's path
    void showProblems();
    void fitColumns();
    void fillStatusColumn();  // the width the other columns leave
    void refreshBudget();
    void updateBusy();
    void showReadProgress();
    int indexOfRow(quint64 rowId) const;
    strata::ModelInputs inputsForReading() const;

    QTreeView* view_ = nullptr;
    QStandardItemModel* model_ = nullptr;
    QPushButton* addButton_ = nullptr;
    QPushButton* removeButton_ = nullptr;
    QPushButton* clearButton_ = nullptr;
    QProgressBar* contextBar_ = nullptr;
    QLabel* budgetLabel_ = nullptr;
    QLabel* problemsLabel_ = nullptr;
    QTimer* progressTimer_ = nullptr;
    QTimer* fitTimer_ = nullptr;

    std::vector<Row> rows_;  // in list order, one per model row
    std::set<quint64> liveJobs_;
    quint64 nextRowId_ = 1;
    quint64 nextJobId_ = 1;
    strata::ModelInputs inputs_;
    bool hasModel_ = false;
    QString loadingModel_;
    qint64 reservedTokens_ = 0;
    bool wasBusy_ = false;
    QString lastFolder_;
};

}  // namespace strata::ui
