#include "MainWindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDesktopServices>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTextBrowser>
#include <QTimer>
#include <QToolBar>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <algorithm>

#include "DocumentTray.h"
#include "EngineController.h"
#include "GaugePanel.h"
#include "HistoryChart.h"
#include "ModelCatalog.h"
#include "ModelRuntime.h"
#include "SessionBrowser.h"
#include "SessionListModel.h"
#include "SettingsDialog.h"
#include "StopSignalNotifier.h"
#include "TelemetrySampler.h"
#include "TranscriptView.h"
#include "core/ModelLocations.h"
#include "session/SessionStore.h"

// Resources live in a static library, whose registration object the linker would drop unless
// something refers to it; Q_INIT_RESOURCE must be used outside any namespace.
static void initStrataResources() { Q_INIT_RESOURCE(strata); }

namespace strata::ui {

namespace {

constexpr int kModelPathRole = Qt::UserRole + 1;

QString seconds(double s) { return QString::number(s, 'f', s < 10 ? 2 : 1) + QStringLiteral(" s"); }

// How far each attached document goes, by the name answers cite it by.
QList<SourceExtent> sourceExtentsOf(const QList<app::JobAttachment>& attachments) {
    QList<SourceExtent> out;
    for (const app::JobAttachment& a : attachments)
        if (a.pages > 0 || a.lines > 0) out.push_back({QFileInfo(a.path).fileName(), a.pages, a.lines});
    return out;
}

struct SavedConversation {
    QString modelPath;
    std::vector<TranscriptTurn> turns;
};

// The model and turns of a saved session, read on a worker thread.
SavedConversation readConversation(const QString& root, const QString& id) {
    SavedConversation out;
    auto store = SessionStore::open(root.toStdString());
    if (!store.ok()) return out;
    auto info = (*store)->session(id.toStdString());
    auto turns = (*store)->turns(id.toStdString());
    if (!info.ok() || !turns.ok()) return out;
    out.modelPath = QString::fromStdString(info->modelPath);
    for (const Turn& t : *turns) {
        if (t.role == TurnRole::System) continue;
        TranscriptTurn turn;
        turn.user = t.role == TurnRole::User;
        turn.text = QString::fromStdString(t.text);
        turn.reasoning = QString::fromStdString(t.reasoning);
        out.turns.push_back(turn);
    }
    return out;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), settings_(AppSettings::load()) {
    setWindowTitle(QStringLiteral("Strata"));
    setWindowIcon(appIcon());
    controller_ = new app::EngineController(this);
    telemetry_ = new app::TelemetrySampler(500, this);
    jobClockStartMs_ = QDateTime::currentMSecsSinceEpoch();

    createCentralArea();
    createDocks();
    createActions();
    connectController();

    backendLabel_ = new QLabel(backendDescription(), this);
    backendLabel_->setObjectName(QStringLiteral("backendLabel"));
    statusBar()->addPermanentWidget(backendLabel_);
    statusBar()->showMessage(tr("Ready"));
    gauges_->setVramBudget(quint64(settings_.vramBudgetMiB) << 20);
    telemetry_->watch({storeRoot()});
    refreshModelList();
    updateButtons();
    resize(1360, 860);
}

MainWindow::~MainWindow() = default;

QIcon MainWindow::appIcon() {
    initStrataResources();
    QIcon icon;
    for (int size : {32, 64, 128, 256})
        icon.addFile(QStringLiteral(":/icons/strata-%1.png").arg(size), QSize(size, size));
    icon.addFile(QStringLiteral(":/strata.svg"));
    return icon;
}

QString MainWindow::backendDescription() { return QString::fromStdString(strata::backendDescription()); }

QString MainWindow::storeRoot() const {
    return settings_.sessionsFolder.isEmpty() ? QString::fromStdString(sessionsDir().string()) : settings_.sessionsFolder;
}

void MainWindow::createActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* add = file->addAction(tr("&Add Documents…"), this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(
            this, tr("Add documents"), QString(),
            tr("Documents (*.pdf *.txt *.log *.md *.csv *.json *.png *.jpg *.jpeg *.bmp *.gif *.wav *.flac *.ogg *.mp3);;"
               "All files (*)"));
        tray_->addFiles(files);
    });
    add->setObjectName(QStringLiteral("actionAddDocuments"));
    add->setShortcut(QKeySequence::Open);
    QAction* chooseModel = file->addAction(tr("Choose &Model File…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Choose a model"), QString(),
                                                          tr("GGUF models (*.gguf);;Hugging Face config (config.json)"));
        if (!path.isEmpty())
            loadModel(QFileInfo(path).fileName() == QLatin1String("config.json") ? QFileInfo(path).path() : path);
    });
    chooseModel->setObjectName(QStringLiteral("actionChooseModel"));
    chooseModel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    QAction* newConversation = file->addAction(tr("&New Conversation"), this, [this] {
        currentSession_.clear();
        transcript_->clearTranscript();
        statusBar()->showMessage(tr("New conversation: the next question starts a new session"), 5000);
    });
    newConversation->setObjectName(QStringLiteral("actionNewConversation"));
    newConversation->setShortcut(QKeySequence::New);
    QAction* settings = file->addAction(tr("&Settings…"), this, &MainWindow::editSettings);
    settings->setObjectName(QStringLiteral("actionSettings"));
    settings->setShortcut(QKeySequence::Preferences);
    settings->setMenuRole(QAction::PreferencesRole);
    file->addSeparator();
    quitAction_ = file->addAction(tr("&Quit"));
    quitAction_->setObjectName(QStringLiteral("actionQuit"));
    quitAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quitAction_->setMenuRole(QAction::QuitRole);
    connect(quitAction_, &QAction::triggered, this, &QWidget::close);

    QMenu* job = menuBar()->addMenu(tr("&Job"));
    runAction_ = job->addAction(tr("&Run"), this, &MainWindow::submitQuestion);
    runAction_->setObjectName(QStringLiteral("actionRun"));
    runAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    queueAction_ = job->addAction(tr("&Queue"), this, &MainWindow::submitQuestion);
    queueAction_->setObjectName(QStringLiteral("actionQueue"));
    queueAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Return));
    cancelAction_ = job->addAction(tr("&Cancel"), this, &MainWindow::cancelJob);
    cancelAction_->setObjectName(QStringLiteral("actionCancel"));
    cancelAction_->setShortcut(QKeySequence(Qt::Key_Escape));
    QAction* dropQueue = job->addAction(tr("Cancel &Queued Jobs"), this, [this] {
        controller_->cancelQueued();
        queueList_->clear();
        queueList_->hide();
    });
    dropQueue->setObjectName(QStringLiteral("actionCancelQueued"));

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    aboutAction_ = help->addAction(tr("&About Strata"));
    aboutAction_->setObjectName(QStringLiteral("actionAbout"));
    aboutAction_->setMenuRole(QAction::AboutRole);
    connect(aboutAction_, &QAction::triggered, this, &MainWindow::showAbout);

    QToolBar* bar = addToolBar(tr("Model"));
    bar->setObjectName(QStringLiteral("modelToolBar"));
    bar->setMovable(false);
    bar->addWidget(new QLabel(tr(" Model: ")));
    modelPicker_ = new QComboBox;
    modelPicker_->setObjectName(QStringLiteral("modelPicker"));
    modelPicker_->setMinimumContentsLength(36);
    modelPicker_->setToolTip(tr("GGUF files and Hugging Face folders in Strata's models folder, your model folders "
                                "(Settings) and the Hugging Face cache"));
    bar->addWidget(modelPicker_);
    connect(modelPicker_, &QComboBox::activated, this, [this](int index) {
        const QString path = modelPicker_->itemData(index, kModelPathRole).toString();
        if (!path.isEmpty() && path != controller_->model().path) loadModel(path);
    });
    modelLabel_ = new QLabel(tr("No model loaded"));
    modelLabel_->setObjectName(QStringLiteral("modelLabel"));
    bar->addWidget(new QLabel(QStringLiteral("  ")));
    bar->addWidget(modelLabel_);
}

void MainWindow::createCentralArea() {
    tray_ = new DocumentTray;
    transcript_ = new TranscriptView;
    connect(transcript_, &TranscriptView::sourceRequested, this, &MainWindow::openSource);

    prompt_ = new QPlainTextEdit;
    prompt_->setObjectName(QStringLiteral("promptEdit"));
    prompt_->setPlaceholderText(tr("Ask a question about your documents… (Ctrl+Enter runs it)"));
    prompt_->setTabChangesFocus(true);
    connect(prompt_, &QPlainTextEdit::textChanged, this, [this] {
        tray_->setReservedTokens(settings_.maxAnswerTokens + prompt_->toPlainText().size() / 3 + 64);
        updateButtons();
    });

    runButton_ = new QPushButton(tr("&Run"));
    runButton_->setObjectName(QStringLiteral("runButton"));
    connect(runButton_, &QPushButton::clicked, this, &MainWindow::submitQuestion);
    queueButton_ = new QPushButton(tr("&Queue"));
    queueButton_->setObjectName(QStringLiteral("queueButton"));
    connect(queueButton_, &QPushButton::clicked, this, &MainWindow::submitQuestion);
    cancelButton_ = new QPushButton(tr("&Cancel"));
    cancelButton_->setObjectName(QStringLiteral("cancelButton"));
    cancelButton_->setToolTip(tr("Stop the running job (Esc). A stopped prefill keeps its checkpoint and can be "
                                 "resumed from the session browser."));
    connect(cancelButton_, &QPushButton::clicked, this, &MainWindow::cancelJob);
    queueList_ = new QListWidget;
    queueList_->setObjectName(QStringLiteral("queueList"));
    queueList_->setToolTip(tr("Questions waiting for the running job"));
    queueList_->setMaximumHeight(70);
    queueList_->hide();  // shown while questions wait

    auto* buttons = new QVBoxLayout;
    buttons->addWidget(runButton_);
    buttons->addWidget(queueButton_);
    buttons->addWidget(cancelButton_);
    buttons->addStretch();
    auto* promptArea = new QWidget;
    auto* promptLayout = new QGridLayout(promptArea);
    promptLayout->setContentsMargins(0, 0, 0, 0);
    promptLayout->addWidget(prompt_, 0, 0);
    promptLayout->addLayout(buttons, 0, 1, 2, 1);
    promptLayout->addWidget(queueList_, 1, 0);

    auto* conversation = new QSplitter(Qt::Vertical);
    conversation->setChildrenCollapsible(false);
    conversation->addWidget(transcript_);
    conversation->addWidget(promptArea);
    conversation->setStretchFactor(0, 4);
    conversation->setStretchFactor(1, 1);

    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(tray_);
    split->addWidget(conversation);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    // The tray wide enough for its fitted columns beside an answer of comfortable line length.
    split->setSizes({560, 440});
    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 0);
    layout->addWidget(split);
    setCentralWidget(central);
    prompt_->setFocus();
}

void MainWindow::createDocks() {
    gauges_ = new GaugePanel;
    history_ = new HistoryChart;
    auto* machine = new QWidget;
    auto* machineLayout = new QVBoxLayout(machine);
    machineLayout->setContentsMargins(4, 4, 4, 4);
    machineLayout->addWidget(gauges_);
    machineLayout->addWidget(history_, 1);
    auto* machineDock = new QDockWidget(tr("Machine"), this);
    machineDock->setObjectName(QStringLiteral("machineDock"));
    machineDock->setWidget(machine);
    addDockWidget(Qt::RightDockWidgetArea, machineDock);

    sessions_ = new SessionBrowser;
    sessions_->setStoreRoot(storeRoot());
    auto* sessionsDock = new QDockWidget(tr("Sessions"), this);
    sessionsDock->setObjectName(QStringLiteral("sessionsDock"));
    sessionsDock->setWidget(sessions_);
    addDockWidget(Qt::BottomDockWidgetArea, sessionsDock);
    connect(sessions_, &SessionBrowser::continueRequested, this, &MainWindow::openSession);
    connect(sessions_, &SessionBrowser::resumeRequested, this, &MainWindow::resumeSession);
    connect(sessions_, &SessionBrowser::errorOccurred, this,
            [this](const QString& message) { statusBar()->showMessage(message, 8000); });
    connect(telemetry_, &app::TelemetrySampler::sampled, this, [this](const TelemetrySnapshot& s) {
        gauges_->showTelemetry(s);
        history_->addTelemetry(s);
    });
}

void MainWindow::connectController() {
    using app::EngineController;
    connect(controller_, &EngineController::modelLoading, this, [this](const QString& path) {
        modelLabel_->setText(tr("Loading %1…").arg(QFileInfo(path).fileName()));
        tray_->setModelLoading(QFileInfo(path).fileName());
        updateButtons();
    });
    connect(controller_, &EngineController::modelReady, this, [this](const app::ModelSummary& m) {
        modelLabel_->setText(tr("%1 · %2 · %3 layers · %L4-token context · loaded in %5")
                                 .arg(m.name, m.modelType)
                                 .arg(m.layers)
                                 .arg(m.contextTokens)
                                 .arg(seconds(m.loadSeconds)));
        tray_->setModelInputs(controller_->modelInputs());
        telemetry_->watch({m.path, storeRoot()});
        for (int i = 0; i < modelPicker_->count(); ++i)
            if (modelPicker_->itemData(i, kModelPathRole).toString() == m.path) modelPicker_->setCurrentIndex(i);
        updateButtons();
    });
    connect(controller_, &EngineController::modelFailed, this, [this](const QString& message) {
        modelLabel_->setText(tr("No model loaded"));
        tray_->setModelLoading(QString());
        QMessageBox::warning(this, tr("The model could not be loaded"), message);
        updateButtons();
    });
    connect(controller_, &EngineController::jobStarted, this, [this](qint64 id) {
        const JobInfo& job = jobs_[id];
        if (queueList_->count() > 0) delete queueList_->takeItem(0);
        queueList_->setVisible(queueList_->count() > 0);
        if (job.resume) transcript_->addQuestion(tr("(resuming the saved job)"));
        else transcript_->addQuestion(job.question, job.parts.empty() ? QString() : tr("about %n document(s)", "", int(job.parts.size())));
        transcript_->addSourceExtents(sourceExtentsOf(job.attachments));
        transcript_->beginAnswer();
        gauges_->clearProgress();
        telemetry_->sampleNow();
        updateButtons();
    });
    connect(controller_, &EngineController::sessionSaved, this, [this](qint64 jobId, const QString& id) {
        currentSession_ = id;
        // Said at once: the first progress report may be a while coming on a long prompt.
        showJobState({jobId, id, true, 0, 0, 0, -1});
        sessions_->refresh();
        statusBar()->showMessage(tr("Session %1 saved; it can be resumed if the job is stopped").arg(id), 5000);
    });
    connect(controller_, &EngineController::textStreamed, this,
            [this](qint64, const QString& text) { transcript_->appendAnswer(text); });
    connect(controller_, &EngineController::reasoningStreamed, this,
            [this](qint64, const QString& text) { transcript_->appendReasoning(text); });
    connect(controller_, &EngineController::progressed, this, [this](const app::JobProgress& p) {
        showJobState(p);
        gauges_->showProgress(p.prefill ? tr("prefill") : tr("decode"), p.done, p.total, p.tokensPerSecond, p.etaSeconds);
        history_->addTokenRate(p.prefill, double(QDateTime::currentMSecsSinceEpoch() - jobClockStartMs_) / 1000.0,
                               p.tokensPerSecond);
    });
    connect(controller_, &EngineController::jobFinished, this, [this](const app::JobOutcome& o) {
        QString note;
        if (o.ok) {
            note = tr("%1 prompt tokens in %2, %3 tokens in %4 (%5)")
                       .arg(o.promptTokens)
                       .arg(seconds(o.prefillSeconds))
                       .arg(o.generatedTokens)
                       .arg(seconds(o.decodeSeconds))
                       .arg(o.stopReason);
            // A gpt-oss model that wrote reasoning but no answer: said, not left as an empty answer.
            if (!o.answerMissing.isEmpty()) note = tr("No answer: %1. %2").arg(o.answerMissing, note);
            currentSession_ = o.sessionId;
        } else {
            note = o.cancelled ? tr("Stopped: %1").arg(o.error) : tr("Failed: %1").arg(o.error);
        }
        transcript_->finishAnswer(note);
        // The stored state (ready, paused, failed) again.
        if (!o.sessionId.isEmpty()) sessions_->showStoredState(o.sessionId);
        else sessions_->refresh();
        updateButtons();
        if (!closing_) notify(o.ok ? tr("Strata: answer ready") : tr("Strata: job stopped"), note);
    });
    connect(controller_, &EngineController::busyChanged, this, &MainWindow::updateButtons);
    connect(tray_, &DocumentTray::busyChanged, this, &MainWindow::updateButtons);
}

void MainWindow::refreshModelList() {
    std::vector<std::filesystem::path> folders{modelsDir()};
    for (const QString& f : settings_.modelFolders) folders.emplace_back(f.toStdString());
    auto* watcher = new QFutureWatcher<std::vector<ModelEntry>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher] {
        const QString current = controller_->model().path;
        modelPicker_->clear();
        for (const ModelEntry& e : watcher->result()) {
            const QString path = QString::fromStdString(e.path.string());
            modelPicker_->addItem(QString::fromStdString(e.label), path);
            modelPicker_->setItemData(modelPicker_->count() - 1, path, kModelPathRole);
            modelPicker_->setItemData(modelPicker_->count() - 1, path, Qt::ToolTipRole);
            if (path == current) modelPicker_->setCurrentIndex(modelPicker_->count() - 1);
        }
        if (modelPicker_->count() == 0) modelPicker_->addItem(tr("No models found: File ▸ Choose Model File…"));
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run([folders] { return findModels(folders); }));
}

void MainWindow::loadInitialModel() {
    QString path = settings_.modelPath;
    if (path.isEmpty() || !QFileInfo::exists(path)) path = QString::fromStdString(defaultModelPath().string());
    if (QFileInfo::exists(path)) loadModel(path);
    else statusBar()->showMessage(tr("No model installed: choose one with File ▸ Choose Model File…"));
}

void MainWindow::loadModel(const QString& path) {
    app::ModelChoice choice;
    choice.path = path;
    choice.ramBudget = quint64(settings_.ramBudgetMiB) << 20;
    choice.vramBudget = quint64(settings_.vramBudgetMiB) << 20;
    choice.kvBudget = quint64(settings_.kvBudgetMiB) << 20;
    // Said now rather than when the engine thread starts on it, so the tray never says that no
    // model is chosen in between.
    if (!controller_->modelLoaded()) tray_->setModelLoading(QFileInfo(path).fileName());
    controller_->loadModel(choice);
    settings_.modelPath = path;
    settings_.save();
}

void MainWindow::updateButtons() {
    const bool model = controller_->modelLoaded();
    const bool busy = controller_->busy();
    const bool reading = tray_->busy();
    // Blank lines and spaces ask nothing.
    const bool question = !prompt_->toPlainText().trimmed().isEmpty();
    runButton_->setEnabled(model && !busy && !reading && question);
    runAction_->setEnabled(runButton_->isEnabled());
    queueButton_->setEnabled(model && !reading && question);
    queueAction_->setEnabled(queueButton_->isEnabled());
    cancelButton_->setEnabled(busy);
    cancelAction_->setEnabled(busy);
    const QString noModel = tr("No model loaded: choose one in the toolbar");
    const QString stillReading = tr("Documents are still being read");
    runButton_->setToolTip(!model      ? noModel
                           : reading   ? stillReading
                           : !question ? tr("Type a question first: Run asks it about the documents in the tray")
                           : busy      ? tr("A job is running: queue this question or cancel the job")
                                       : tr("Ask the question about the documents in the tray (Ctrl+Enter)"));
    queueButton_->setToolTip(!model      ? noModel
                             : reading   ? stillReading
                             : !question ? tr("Type a question first: Queue runs it after the jobs before it")
                                         : tr("Run this question after the jobs before it (Ctrl+Shift+Enter): queue "
                                              "questions for an overnight run"));
}

app::JobRequest MainWindow::baseRequest() const {
    app::JobRequest r;
    r.storeRoot = storeRoot();
    r.maxNewTokens = settings_.maxAnswerTokens;
    r.kvBudget = quint64(settings_.kvBudgetMiB) << 20;
    r.checkpointTokens = settings_.checkpointTokens;
    return r;
}

void MainWindow::submitQuestion() {
    const QString question = prompt_->toPlainText().trimmed();
    if (question.isEmpty()) {
        statusBar()->showMessage(tr("Type a question first"), 4000);
        return;
    }
    if (!controller_->modelLoaded() || tray_->busy()) return;
    JobInfo job;
    job.question = question;
    job.parts = tray_->parts();
    app::JobRequest request = baseRequest();
    if (tray_->fileCount() > 0) {
        const PromptBudget budget = tray_->budget();
        if (!budget.fits) {
            QMessageBox::warning(this, tr("The documents do not fit"), QString::fromStdString(budget.summary));
            return;
        }
        const bool media = std::any_of(job.parts.begin(), job.parts.end(),
                                       [](const PromptPart& p) { return isMediaPart(p.kind); });
        // The model reads images and recordings in a conversation's first question only (as
        // strata-cli): a follow-up cannot take them, and leaving them out would mislead.
        if (media && !currentSession_.isEmpty()) {
            QMessageBox::warning(this, tr("Images and recordings start a new conversation"),
                                 tr("Images and recordings go into a new conversation's first question. Start a new "
                                    "conversation (File ▸ New Conversation) to ask about them, or take them out of "
                                    "the tray to continue this one."));
            return;
        }
        // Pages that yield no text are left out of the prompt: the user hears of it before the job.
        const QStringList missing = tray_->missingText();
        if (!missing.isEmpty() && askAboutMissingText(missing) == MissingTextChoice::Cancel) return;
        request.documentText = QString::fromStdString(renderTextParts(job.parts));
        for (PromptPart& p : job.parts) {
            request.attachments.push_back({QString::fromStdString(p.file.string()), partKindName(p.kind), p.tokens,
                                           p.pages, qint64(p.lines)});
            // The engine thread reads images and recordings again for the model's encoders; the
            // window keeps only what opening a cited source needs.
            p.pixelValues = {};
            p.audio.logMel = {};
        }
    }
    request.question = question;
    request.sessionId = currentSession_;
    job.attachments = request.attachments;
    const qint64 id = controller_->submit(request);
    jobs_.insert(id, std::move(job));
    if (controller_->busy()) {
        queueList_->addItem(question.left(120));
        queueList_->show();
    }
    prompt_->clear();
    updateButtons();
}

void MainWindow::openSession(const QString& id) {
    currentSession_ = id;
    auto* watcher = new QFutureWatcher<SavedConversation>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, id] {
        SavedConversation saved = watcher->result();
        watcher->deleteLater();
        if (currentSession_ != id) return;
        transcript_->setTurns(std::move(saved.turns));
        statusBar()->showMessage(tr("Session %1: questions now continue it").arg(id), 5000);
        // Its KV cache belongs to the model that wrote it.
        const QString loaded = QFileInfo(controller_->model().path).absoluteFilePath();
        if (!saved.modelPath.isEmpty() && saved.modelPath != loaded && QFileInfo::exists(saved.modelPath))
            loadModel(saved.modelPath);
    });
    watcher->setFuture(QtConcurrent::run(readConversation, storeRoot(), id));
}

void MainWindow::resumeSession(const QString& id) {
    if (!controller_->modelLoaded()) {
        statusBar()->showMessage(tr("Load the session's model first"), 5000);
        return;
    }
    app::JobRequest request = baseRequest();
    request.resumeSessionId = id;
    JobInfo job;
    job.resume = true;
    jobs_.insert(controller_->submit(request), job);
    currentSession_ = id;
}

void MainWindow::cancelJob() {
    if (controller_->busy()) {
        controller_->cancelCurrent();
        statusBar()->showMessage(tr("Stopping the job at its next checkpoint…"), 5000);
    }
}

void MainWindow::openSource(const SourceLink& source) {
    // The cited span, from the documents of the jobs asked in this window.
    for (const JobInfo& job : jobs_) {
        for (const PromptPart& part : job.parts) {
            if (QString::fromStdString(part.file.filename().string()) != source.fileName) continue;
            for (const TextSpan& span : part.spans) {
                const SourceAnchor& a = span.anchor;
                const bool match = source.page > 0 ? a.page == source.page
                                                   : a.firstLine <= source.lastLine && a.lastLine >= source.firstLine;
                if (!match) continue;
                QDialog dialog(this);
                dialog.setObjectName(QStringLiteral("sourceViewer"));
                dialog.setWindowTitle(QString::fromStdString(describe(a)));
                auto* text = new QTextBrowser;
                text->setObjectName(QStringLiteral("sourceText"));
                text->setPlainText(QString::fromStdString(span.text));
                auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
                QPushButton* open = buttons->addButton(tr("Open the File"), QDialogButtonBox::ActionRole);
                const QString path = QString::fromStdString(part.file.string());
                connect(open, &QPushButton::clicked, &dialog, [path] { QDesktopServices::openUrl(QUrl::fromLocalFile(path)); });
                connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
                auto* layout = new QVBoxLayout(&dialog);
                layout->addWidget(text);
                layout->addWidget(buttons);
                dialog.resize(720, 520);
                dialog.exec();
                return;
            }
        }
    }
    statusBar()->showMessage(tr("%1 is not among this window's documents").arg(source.fileName), 5000);
}

MainWindow::MissingTextChoice MainWindow::askAboutMissingText(const QStringList& lines) {
    const QString message = lines.join(QLatin1Char('\n'));
    if (missingTextQuestion_) return missingTextQuestion_(message);
    QMessageBox box(QMessageBox::Warning, tr("Some of the documents yield no text"), message, QMessageBox::NoButton, this);
    box.setObjectName(QStringLiteral("missingTextQuestion"));
    box.setTextFormat(Qt::PlainText);  // file names are not markup
    box.setInformativeText(tr("Ask anyway about what the model can read, or cancel and take those files out of the "
                              "tray."));
    QPushButton* go = box.addButton(controller_->busy() ? tr("Queue Anyway") : tr("Run Anyway"), QMessageBox::AcceptRole);
    box.addButton(QMessageBox::Cancel);
    box.setDefaultButton(go);
    box.exec();
    return box.clickedButton() == go ? MissingTextChoice::RunAnyway : MissingTextChoice::Cancel;
}

void MainWindow::showJobState(const app::JobProgress& p) {
    if (p.sessionId.isEmpty()) return;
    QString state, detail;
    if (!p.prefill) {
        // The prompt's last checkpoint is saved once the answer starts: the list reads the
        // session's saved context again.
        if (sessions_->sessionModel()->liveState(p.sessionId) != tr("answering")) sessions_->refresh();
        state = tr("answering");
        detail = tr("The job is writing its answer: %L1 tokens so far").arg(p.done);
    } else if (p.total > 0) {
        state = tr("prefilling %1%").arg(p.done * 100 / p.total);
        detail = tr("The job is reading the prompt: %L1 of %L2 tokens, saved at each checkpoint").arg(p.done).arg(p.total);
    } else {
        state = tr("prefilling");
        detail = tr("The job is reading the prompt");
    }
    sessions_->showLiveState(p.sessionId, state, detail);
}

void MainWindow::notify(const QString& title, const QString& text) {
    if (!isActiveWindow() && QSystemTrayIcon::isSystemTrayAvailable()) {
        static QSystemTrayIcon* icon = nullptr;
        if (!icon) {
            icon = new QSystemTrayIcon(appIcon(), qApp);
            icon->show();
        }
        icon->showMessage(title, text, QSystemTrayIcon::Information, 10000);
    } else {
        QApplication::alert(this);
    }
    statusBar()->showMessage(title + QStringLiteral(": ") + text, 10000);
    emit notified(title, text);
}

void MainWindow::editSettings() {
    SettingsDialog dialog(settings_, this);
    if (dialog.exec() != QDialog::Accepted) return;
    const AppSettings before = settings_;
    settings_ = dialog.settings();
    settings_.save();
    gauges_->setVramBudget(quint64(settings_.vramBudgetMiB) << 20);
    if (settings_.sessionsFolder != before.sessionsFolder) sessions_->setStoreRoot(storeRoot());
    refreshModelList();
    // The plan depends on all three: the KV budget sets the device memory it leaves to the weights.
    if ((settings_.ramBudgetMiB != before.ramBudgetMiB || settings_.vramBudgetMiB != before.vramBudgetMiB ||
         (settings_.kvBudgetMiB != before.kvBudgetMiB && settings_.vramBudgetMiB > 0)) &&
        controller_->modelLoaded())
        loadModel(controller_->model().path);
}

void MainWindow::closeOnStopSignals() {
    auto* notifier = new app::StopSignalNotifier(this);
    connect(notifier, &app::StopSignalNotifier::stopRequested, this, [this](int) {
        closeQuestion_ = [] { return CloseChoice::LeaveForLater; };
        close();
    });
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!controller_->busy() && controller_->queuedJobs() == 0) {
        event->accept();
        return;
    }
    CloseChoice choice = CloseChoice::KeepWorking;
    if (closeQuestion_) {
        choice = closeQuestion_();
    } else {
        QMessageBox box(QMessageBox::Question, tr("A job is running"),
                        tr("Strata is still working on a question. Leave it for later? The session keeps what is "
                           "done so far and can be resumed from the session browser."),
                        QMessageBox::NoButton, this);
        QPushButton* leave = box.addButton(tr("Leave It for Later and Quit"), QMessageBox::AcceptRole);
        box.addButton(tr("Keep Working"), QMessageBox::RejectRole);
        box.exec();
        if (box.clickedButton() == leave) choice = CloseChoice::LeaveForLater;
    }
    if (choice == CloseChoice::KeepWorking) {
        event->ignore();
        return;
    }
    // The job pauses at its next check, which saves the session (an answer as far as it went):
    // wait for that, then close.
    closing_ = true;
    controller_->cancelQueued();
    controller_->pauseCurrent();
    if (controller_->busy()) {
        QEventLoop wait;
        connect(controller_, &app::EngineController::jobFinished, &wait, &QEventLoop::quit);
        QTimer::singleShot(60000, &wait, &QEventLoop::quit);
        wait.exec();
    }
    event->accept();
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About Strata"),
                       tr("<h3>Strata %1</h3>"
                          "<p>Local long-context analysis with large language models.</p>"
                          "<p>Compute: %2<br>Built with Qt %3.</p>")
                           .arg(QStringLiteral(STRATA_VERSION), backendDescription().toHtmlEscaped(),
                                QString::fromLatin1(QT_VERSION_STR)));
}

}  // namespace strata::ui
