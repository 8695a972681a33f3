#pragma once
// The main window: the document tray, the model picker, the transcript with the prompt and the
// Run / Queue / Cancel buttons, the gauges and their history, and the session browser. Every
// engine call goes through the EngineController, whose engine thread does the work.
#include <QHash>
#include <QIcon>
#include <QMainWindow>

#include <functional>
#include <vector>

#include "AppSettings.h"
#include "EngineTypes.h"
#include "PromptParts.h"

class QAction;
class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;

namespace strata::app {
class EngineController;
class TelemetrySampler;
}  // namespace strata::app

namespace strata::ui {

class DocumentTray;
class GaugePanel;
class HistoryChart;
class SessionBrowser;
class TranscriptView;
struct SourceLink;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    static QIcon appIcon();
    // One line saying which compute backend the window uses, as shown in the status bar.
    static QString backendDescription();

    // The model from the settings, else the installed default; nothing when neither exists.
    void loadInitialModel();
    void loadModel(const QString& path);
    // Asks the question in the prompt box about the tray's documents: runs it now, or queues it
    // behind the running job.
    void submitQuestion();
    // A saved session becomes the conversation: its transcript is shown and questions continue it.
    void openSession(const QString& id);
    void resumeSession(const QString& id);
    void cancelJob();

    app::EngineController* controller() const { return controller_; }
    QString currentSession() const { return currentSession_; }

    // What closing during a job does: leave the job to resume later, or keep working.
    enum class CloseChoice { LeaveForLater, KeepWorking };
    // Replaces the question asked on close (tests answer it without a dialog).
    void setCloseQuestion(std::function<CloseChoice()> ask) { closeQuestion_ = std::move(ask); }
    // SIGTERM, SIGINT and SIGHUP (a logout) close the window as leaving the job for later does,
    // without asking: the job pauses with everything saved. A second signal ends the process.
    void closeOnStopSignals();

    // What asking about documents with pages that yield no text does: go on without them, or not.
    enum class MissingTextChoice { RunAnyway, Cancel };
    // Replaces the question asked before such a job (tests answer it without a dialog); message
    // names each file and its pages, one per line.
    void setMissingTextQuestion(std::function<MissingTextChoice(const QString& message)> ask) {
        missingTextQuestion_ = std::move(ask);
    }

signals:
    // A job ended and the user was told (a desktop notification, or the status bar).
    void notified(const QString& title, const QString& text);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    struct JobInfo {
        QString question;
        std::vector<PromptPart> parts;  // for opening cited sources
        QList<app::JobAttachment> attachments;  // for telling cited places that exist
        bool resume = false;
    };

    void createActions();
    void createCentralArea();
    void createDocks();
    void connectController();
    void refreshModelList();
    void updateButtons();
    void showAbout();
    void editSettings();
    void openSource(const SourceLink& source);
    MissingTextChoice askAboutMissingText(const QStringList& lines);
    void showJobState(const app::JobProgress& progress);
    void notify(const QString& title, const QString& text);
    app::JobRequest baseRequest() const;
    QString storeRoot() const;

    AppSettings settings_;
    app::EngineController* controller_ = nullptr;
    app::TelemetrySampler* telemetry_ = nullptr;
    std::function<CloseChoice()> closeQuestion_;
    std::function<MissingTextChoice(const QString&)> missingTextQuestion_;

    DocumentTray* tray_ = nullptr;
    TranscriptView* transcript_ = nullptr;
    QPlainTextEdit* prompt_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QPushButton* queueButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QListWidget* queueList_ = nullptr;
    QComboBox* modelPicker_ = nullptr;
    QLabel* modelLabel_ = nullptr;
    QLabel* backendLabel_ = nullptr;
    GaugePanel* gauges_ = nullptr;
    HistoryChart* history_ = nullptr;
    SessionBrowser* sessions_ = nullptr;

    QAction* quitAction_ = nullptr;
    QAction* aboutAction_ = nullptr;
    QAction* runAction_ = nullptr;
    QAction* queueAction_ = nullptr;
    QAction* cancelAction_ = nullptr;

    QString currentSession_;
    QHash<qint64, JobInfo> jobs_;
    qint64 jobClockStartMs_ = 0;
    bool closing_ = false;
};

}  // namespace strata::ui
