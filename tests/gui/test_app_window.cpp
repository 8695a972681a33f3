// The window running real jobs on a random Llama (offscreen): documents dropped on the tray with
// real drag-and-drop events are counted, a question streams its answer into the transcript while
// the gauges and the progress bar move and the UI thread keeps processing events, no engine call
// runs on the UI thread, cancel stops a job, the session appears in the browser and reopens with
// its transcript, export writes the file, and closing during a job asks first and, when the job is
// left for later, keeps the session resumable. An image in the tray is counted and answered about
// by a tiny Gemma 3 vision model (through its encoders on the engine thread), refused for a
// follow-up, and refused by the text model.
#include <QDir>
#include <QDragEnterEvent>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTreeView>
#include <QtTest>

#include <csignal>

#include "DocumentTray.h"
#include "EngineController.h"
#include "MainWindow.h"
#include "TelemetrySampler.h"
#include "TranscriptView.h"
#include "SessionBrowser.h"
#include "SessionListModel.h"
#include "session/SessionStore.h"
#include "support/HandWrittenPdf.h"
#include "support/RandomLlama.h"
#include "../support/TestPaths.h"
#include "support/TinyMultimodalModels.h"

using namespace strata;
using namespace strata::ui;

class TestAppWindow : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    QString modelDir() const { return dir_.filePath("model"); }
    QString storeDir() const { return dir_.filePath("sessions"); }

    static QString longQuestion(int pairs) {
        QString text;
        for (int i = 0; i < pairs; ++i) text += QStringLiteral("alpha beta ");
        return text + QStringLiteral("?");
    }

    // A window with the model loaded.
    static bool ready(MainWindow& w, const QString& model) {
        QSignalSpy loaded(w.controller(), &app::EngineController::modelReady);
        w.loadModel(model);
        return loaded.wait(60000);
    }

    static void ask(MainWindow& w, const QString& question) {
        w.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->setPlainText(question);
        QTest::mouseClick(w.findChild<QPushButton*>(QStringLiteral("runButton")), Qt::LeftButton);
    }

    static app::JobOutcome finished(QSignalSpy& spy, int count) {
        while (spy.count() < count)
            if (!spy.wait(120000)) return {};
        return spy.at(count - 1).at(0).value<app::JobOutcome>();
    }

    static void drop(QWidget* target, const QList<QUrl>& urls) {
        QMimeData mime;
        mime.setUrls(urls);
        const QPoint at = target->rect().center();
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(target, &enter);
        QVERIFY(enter.isAccepted());
        QDragMoveEvent move(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(target, &move);
        QDropEvent dropEvent(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(target, &dropEvent);
        QVERIFY(dropEvent.isAccepted());
    }

    QString writeTestFile(const QString& name, const QByteArray& bytes) {
        QFile file(dir_.filePath(name));
        if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size()) return {};
        return file.fileName();
    }

    // The State cell of session id as the browser's table shows it.
    static QString shownState(MainWindow& w, const QString& id) {
        const QAbstractItemModel* table = w.findChild<QTableView*>(QStringLiteral("sessionTable"))->model();
        for (int r = 0; r < table->rowCount(); ++r)
            if (table->index(r, 0).data(SessionListModel::IdRole).toString() == id)
                return table->index(r, SessionListModel::StateColumn).data().toString();
        return {};
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("StrataTest"));
        QCoreApplication::setApplicationName(QStringLiteral("test_app_window"));
        QSettings settings;
        settings.clear();
        settings.setValue(QStringLiteral("sessions/folder"), storeDir());
        settings.setValue(QStringLiteral("jobs/checkpointTokens"), 256);
        settings.setValue(QStringLiteral("answers/maxTokens"), 12);
        settings.sync();
        QVERIFY(testsupport::writeRandomLlama(modelDir().toStdString(), testsupport::jobSizedLlama()));
    }

    void droppedDocumentsAreAskedAboutAndSaved() {
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* run = w.findChild<QPushButton*>(QStringLiteral("runButton"));
        QVERIFY(!run->isEnabled());  // no model yet
        QVERIFY(ready(w, modelDir()));
        QVERIFY(!run->isEnabled());  // no question yet

        QFile log(dir_.filePath("plant.log"));
        QVERIFY(log.open(QIODevice::WriteOnly));
        log.write("09:14 pump 7 pressure lost\r\n09:15 failover to pump 8\r\n11:02 sensor replaced\r\n");
        log.close();
        auto* tray = w.findChild<DocumentTray*>();
        drop(tray, {QUrl::fromLocalFile(log.fileName())});
        if (QTest::currentTestFailed()) return;
        QTRY_VERIFY_WITH_TIMEOUT(tray->fileCount() == 1 && !tray->busy(), 30000);
        QVERIFY(tray->budget().partTokens > 10);

        int ticks = 0;
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&] { ++ticks; });
        timer.start(5);
        auto* progress = w.findChild<QProgressBar*>(QStringLiteral("jobProgress"));
        auto* ram = w.findChild<QLabel*>(QStringLiteral("ramLabel"));
        QVERIFY(progress && ram);
        QTRY_VERIFY_WITH_TIMEOUT(!ram->text().isEmpty() && ram->text() != QStringLiteral("—"), 5000);
        QSet<int> progressValues;
        connect(w.controller(), &app::EngineController::progressed, this,
                [&] { progressValues << progress->value(); });
        QSignalSpy streamed(w.controller(), &app::EngineController::textStreamed);
        // The gauges keep being fed while the engine works.
        int samplesDuringJob = 0;
        connect(w.findChild<app::TelemetrySampler*>(), &app::TelemetrySampler::sampled, this, [&] {
            if (w.controller()->busy()) ++samplesDuringJob;
        });
        QSignalSpy done(w.controller(), &app::EngineController::jobFinished);
        ask(w, longQuestion(150) + QStringLiteral(" When was the sensor replaced?"));
        const app::JobOutcome outcome = finished(done, 1);
        timer.stop();
        QVERIFY2(outcome.ok, qPrintable(outcome.error));
        QVERIFY(progressValues.size() >= 2);
        QVERIFY2(ticks >= 5, qPrintable(QString::number(ticks)));
        QCOMPARE(w.controller()->engineCallsOnUiThread(), 0);
        auto* transcript = w.findChild<QTextBrowser*>(QStringLiteral("transcript"));
        QVERIFY(transcript->toPlainText().contains(QStringLiteral("When was the sensor replaced?")));
        // The random model's greedy answer is the same every run: it streamed, and the transcript shows it.
        QVERIFY2(!outcome.answer.trimmed().isEmpty(), "the fixture model answered nothing");
        QVERIFY(streamed.count() > 0);
        QString streamedText;
        for (const QList<QVariant>& args : streamed) streamedText += args.at(1).toString();
        QCOMPARE(streamedText, outcome.answer);
        QVERIFY(transcript->toPlainText().simplified().contains(outcome.answer.simplified().left(12)));
        QVERIFY2(samplesDuringJob >= 1, qPrintable(QString::number(samplesDuringJob)));
        QCOMPARE(w.currentSession(), outcome.sessionId);

        // The session is in the browser; it reopens with its transcript; export writes it.
        auto* browser = w.findChild<SessionBrowser*>();
        QTRY_VERIFY_WITH_TIMEOUT(browser->sessionModel()->rowCount() == 1, 10000);
        QCOMPARE(browser->sessionModel()->idAt(0), outcome.sessionId);
        w.findChild<QAction*>(QStringLiteral("actionNewConversation"))->trigger();
        QVERIFY(!transcript->toPlainText().contains(QStringLiteral("sensor replaced?")));
        w.openSession(outcome.sessionId);
        QTRY_VERIFY_WITH_TIMEOUT(transcript->toPlainText().contains(QStringLiteral("When was the sensor replaced?")), 10000);
        const QString exported = dir_.filePath("session.md");
        QVERIFY(SessionBrowser::writeExport(storeDir(), outcome.sessionId, exported, false).ok());
        QFile md(exported);
        QVERIFY(md.open(QIODevice::ReadOnly));
        const QByteArray text = md.readAll();
        QVERIFY(text.contains("When was the sensor replaced?"));
        QVERIFY(text.contains("plant.log"));
    }

    void aBadFilesErrorIsReadableAtTheDefaultSize() {
        const QString core = writeTestFile(QStringLiteral("core.dump.log"),
                                           QByteArray("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0core dump\0\0\x03\0", 27));
        const QString notes = writeTestFile(QStringLiteral("shift-notes.txt"), "Pump 7 was replaced at 11:02.\n");
        QVERIFY(!core.isEmpty() && !notes.isEmpty());
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        const QSize defaultSize = w.size();
        auto* tray = w.findChild<DocumentTray*>();
        drop(tray, {QUrl::fromLocalFile(notes), QUrl::fromLocalFile(core)});
        if (QTest::currentTestFailed()) return;
        QTRY_VERIFY_WITH_TIMEOUT(tray->fileCount() == 2 && !tray->busy(), 30000);

        const QAbstractItemModel* rows = w.findChild<QTreeView*>(QStringLiteral("trayView"))->model();
        const int bad = rows->index(0, DocumentTray::NameColumn).data().toString() == QStringLiteral("core.dump.log") ? 0 : 1;
        const QString reason = rows->index(bad, DocumentTray::StatusColumn).data().toString();
        QVERIFY2(reason.contains(QStringLiteral("binary")), qPrintable(reason));
        QVERIFY(rows->index(bad, DocumentTray::NameColumn).data(Qt::ToolTipRole).toString().contains(reason));

        // Some widget the user sees without scrolling says it: shown, inside the window, unclipped.
        QCOMPARE(w.size(), defaultSize);
        QWidget* sayer = nullptr;
        for (QLabel* label : w.findChildren<QLabel*>())
            if (label->isVisible() && label->text().contains(QStringLiteral("core.dump.log")) && label->text().contains(reason))
                sayer = label;
        QVERIFY2(sayer, "no visible label names the bad file and its error");
        const QRect inWindow(sayer->mapTo(&w, QPoint(0, 0)), sayer->size());
        QVERIFY2(w.rect().contains(inWindow), qPrintable(QStringLiteral("%1,%2 %3x%4").arg(inWindow.x()).arg(inWindow.y())
                                                             .arg(inWindow.width()).arg(inWindow.height())));
        QCOMPARE(sayer->visibleRegion().boundingRect(), sayer->rect());
    }

    void runAndQueueNeedAQuestion() {
        MainWindow w;
        w.show();
        auto* run = w.findChild<QPushButton*>(QStringLiteral("runButton"));
        auto* queue = w.findChild<QPushButton*>(QStringLiteral("queueButton"));
        auto* prompt = w.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"));
        // While the model loads, the tray says so rather than that none is chosen.
        w.loadModel(modelDir());
        auto* bar = w.findChild<QProgressBar*>(QStringLiteral("contextBar"));
        QVERIFY2(bar->text().startsWith(QStringLiteral("Loading model")), qPrintable(bar->text()));
        QVERIFY(!bar->text().contains(QStringLiteral("No model chosen")));
        QTRY_VERIFY_WITH_TIMEOUT(w.controller()->modelLoaded(), 60000);

        QVERIFY(prompt->toPlainText().isEmpty());
        QVERIFY(!run->isEnabled());
        QVERIFY(!queue->isEnabled());
        QVERIFY2(run->toolTip().contains(QStringLiteral("question")), qPrintable(run->toolTip()));
        QVERIFY2(queue->toolTip().contains(QStringLiteral("question")), qPrintable(queue->toolTip()));
        prompt->setPlainText(QStringLiteral("  \n\t \n"));
        QVERIFY(!run->isEnabled());
        QVERIFY(!queue->isEnabled());
        QVERIFY(!w.findChild<QAction*>(QStringLiteral("actionRun"))->isEnabled());
        prompt->setPlainText(QStringLiteral("What failed?"));
        QVERIFY(run->isEnabled());
        QVERIFY(queue->isEnabled());
        QVERIFY(w.findChild<QAction*>(QStringLiteral("actionRun"))->isEnabled());
        QVERIFY(!run->toolTip().contains(QStringLiteral("Type a question")));
        prompt->clear();
        QVERIFY(!run->isEnabled());
    }

    void theSessionListSaysWhatTheJobDoes() {
        MainWindow w;
        w.show();
        QVERIFY(ready(w, modelDir()));
        w.findChild<QAction*>(QStringLiteral("actionNewConversation"))->trigger();
        QSignalSpy done(w.controller(), &app::EngineController::jobFinished);
        ask(w, QStringLiteral("Which pump failed?"));
        const app::JobOutcome first = finished(done, 1);
        QVERIFY2(first.ok, qPrintable(first.error));
        QTRY_COMPARE_WITH_TIMEOUT(shownState(w, first.sessionId), QStringLiteral("ready"), 10000);

        // A follow-up on the listed session: its row says what the job does while it runs.
        QStringList whilePrefilling, whileDecoding;
        connect(w.controller(), &app::EngineController::progressed, this, [&](const app::JobProgress& p) {
            (p.prefill ? whilePrefilling : whileDecoding) << shownState(w, first.sessionId);
        });
        ask(w, longQuestion(100) + QStringLiteral(" And then?"));
        const app::JobOutcome second = finished(done, 2);
        QVERIFY2(second.ok, qPrintable(second.error));
        QCOMPARE(second.sessionId, first.sessionId);
        QVERIFY(!whilePrefilling.isEmpty());
        for (const QString& state : whilePrefilling)
            QVERIFY2(state.startsWith(QStringLiteral("prefilling")), qPrintable(state));
        QVERIFY(!whileDecoding.isEmpty());
        for (const QString& state : whileDecoding) QCOMPARE(state, QStringLiteral("answering"));
        // The stored state once the job is over.
        QTRY_COMPARE_WITH_TIMEOUT(shownState(w, first.sessionId), QStringLiteral("ready"), 10000);
        disconnect(w.controller(), &app::EngineController::progressed, this, nullptr);
    }

    void pagesWithoutTextAreSaidBeforeTheJob() {
        // Pages 2 and 4 have no content at all: blank even to OCR.
        const std::string pdf = testsupport::makePdf({{"Cover page."}, {}, {"Middle."}, {}});
        const QString scan = writeTestFile(QStringLiteral("scan.pdf"), QByteArray::fromStdString(pdf));
        QVERIFY(!scan.isEmpty());
        MainWindow w;
        w.show();
        QVERIFY(ready(w, modelDir()));
        w.findChild<QAction*>(QStringLiteral("actionNewConversation"))->trigger();
        auto* tray = w.findChild<DocumentTray*>();
        drop(tray, {QUrl::fromLocalFile(scan)});
        if (QTest::currentTestFailed()) return;
        QTRY_VERIFY_WITH_TIMEOUT(tray->fileCount() == 1 && !tray->busy(), 30000);
        QCOMPARE(tray->parts().size(), size_t(1));

        QStringList asked;
        auto answer = MainWindow::MissingTextChoice::Cancel;
        w.setMissingTextQuestion([&](const QString& message) {
            asked << message;
            return answer;
        });
        QSignalSpy queued(w.controller(), &app::EngineController::jobQueued);
        QSignalSpy done(w.controller(), &app::EngineController::jobFinished);
        ask(w, QStringLiteral("What is on the cover?"));
        QCOMPARE(asked, QStringList{QStringLiteral("scan.pdf: pages 2, 4 yield no text even with OCR; the model will "
                                                   "not see them.")});
        QCOMPARE(queued.count(), 0);  // cancelled: nothing runs, and the question stays to edit
        QCOMPARE(w.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->toPlainText(),
                 QStringLiteral("What is on the cover?"));

        answer = MainWindow::MissingTextChoice::RunAnyway;
        QTest::mouseClick(w.findChild<QPushButton*>(QStringLiteral("runButton")), Qt::LeftButton);
        QCOMPARE(asked.size(), 2);
        QCOMPARE(queued.count(), 1);
        const app::JobOutcome outcome = finished(done, 1);
        QVERIFY2(outcome.ok, qPrintable(outcome.error));

        // The transcript knows the job's document has four pages: a fifth is not a place to open.
        auto* transcript = w.findChild<TranscriptView*>();
        transcript->appendAnswer(QStringLiteral(" See [scan.pdf, page 5] and [scan.pdf, page 3]."));
        transcript->finishAnswer(QString());
        QVERIFY2(transcript->toPlainText().contains(QStringLiteral("[scan.pdf, page 5] (no such page)")),
                 qPrintable(transcript->toPlainText()));
        QVERIFY(transcript->toHtml().contains(QStringLiteral("strata-source:")));  // page 3 is a link
    }

    void cancelStopsTheJobAndTheSessionResumes() {
        MainWindow w;
        w.show();
        QVERIFY(ready(w, modelDir()));
        QSignalSpy done(w.controller(), &app::EngineController::jobFinished);
        connect(w.controller(), &app::EngineController::jobStarted, this, [&] {
            QTest::mouseClick(w.findChild<QPushButton*>(QStringLiteral("cancelButton")), Qt::LeftButton);
        });
        ask(w, longQuestion(400));
        const app::JobOutcome stopped = finished(done, 1);
        QVERIFY(stopped.cancelled);
        QVERIFY2(stopped.error.contains(QStringLiteral("paused")), qPrintable(stopped.error));
        auto store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        auto info = (*store)->session(stopped.sessionId.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Paused));

        disconnect(w.controller(), &app::EngineController::jobStarted, this, nullptr);
        w.resumeSession(stopped.sessionId);
        const app::JobOutcome resumed = finished(done, 2);
        QVERIFY2(resumed.ok, qPrintable(resumed.error));
        info = (*store)->session(stopped.sessionId.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Ready));
    }

    void closingDuringAJobAsksAndLeavesItResumable() {
        auto* w = new MainWindow;
        w->show();
        QVERIFY(ready(*w, modelDir()));
        int asked = 0;
        w->setCloseQuestion([&] {
            ++asked;
            return asked == 1 ? MainWindow::CloseChoice::KeepWorking : MainWindow::CloseChoice::LeaveForLater;
        });
        QSignalSpy started(w->controller(), &app::EngineController::jobStarted);
        QSignalSpy saved(w->controller(), &app::EngineController::sessionSaved);
        QSignalSpy done(w->controller(), &app::EngineController::jobFinished);
        ask(*w, longQuestion(400));
        QVERIFY(started.wait(30000));
        QVERIFY(!w->close());  // "keep working": the window stays
        QCOMPARE(asked, 1);
        QVERIFY(w->isVisible());
        QVERIFY(w->close());   // "leave it for later": the job stops and saves, then the window closes
        QCOMPARE(asked, 2);
        QVERIFY(!w->isVisible());
        QCOMPARE(done.count(), 1);
        const app::JobOutcome outcome = done.at(0).at(0).value<app::JobOutcome>();
        QVERIFY(outcome.cancelled);
        QVERIFY(!outcome.sessionId.isEmpty());
        delete w;

        auto store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        auto info = (*store)->session(outcome.sessionId.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Paused));
        auto progress = (*store)->prefillProgress(outcome.sessionId.toStdString());
        QVERIFY(progress.ok() && progress.value());
        QVERIFY(progress.value()->tokensDone >= 256);
    }

    // SIGTERM during decode (a logout, a service manager stopping the session): the window closes
    // as if its job were left for later, the answer so far is saved with the session paused, and
    // resuming it in a new window ends with the answer an uninterrupted run gives.
    void sigtermDuringDecodeSavesTheAnswerAndResumes() {
        // Answers that run to a limit of 100 tokens: long enough to be stopped part-way.
        QSettings().setValue(QStringLiteral("answers/maxTokens"), 100);
        const auto restore = qScopeGuard([] { QSettings().setValue(QStringLiteral("answers/maxTokens"), 12); });
        const QString model = dir_.filePath("model-long-answers");
        testsupport::RandomLlamaShape shape = testsupport::jobSizedLlama();
        shape.eosNeverWins = true;
        QVERIFY(testsupport::writeRandomLlama(model.toStdString(), shape));
        const QString question = longQuestion(20);
        QString reference;
        {
            MainWindow w;
            w.show();
            QVERIFY(ready(w, model));
            QSignalSpy done(w.controller(), &app::EngineController::jobFinished);
            ask(w, question);
            const app::JobOutcome whole = finished(done, 1);
            QVERIFY2(whole.ok, qPrintable(whole.error));
            QVERIFY2(whole.generatedTokens == 100, "the answer ended too soon to be stopped part-way");
            reference = whole.answer;
        }

        auto* w = new MainWindow;
        w->show();
        QVERIFY(ready(*w, model));
        w->closeOnStopSignals();
        QSignalSpy done(w->controller(), &app::EngineController::jobFinished);
        // Raised as the answer's first text streams (progress is reported at most every 100 ms,
        // which a short answer may finish within): the job pauses a token or two later.
        bool signalled = false;
        connect(w->controller(), &app::EngineController::textStreamed, this, [&] {
            if (signalled) return;
            signalled = true;
            ::raise(SIGTERM);
        });
        ask(*w, question);
        QTRY_VERIFY_WITH_TIMEOUT(signalled && !w->isVisible(), 120000);
        QCOMPARE(done.count(), 1);
        const app::JobOutcome stopped = done.at(0).at(0).value<app::JobOutcome>();
        QVERIFY(stopped.cancelled);
        QVERIFY2(stopped.error.contains(QStringLiteral("paused after")), qPrintable(stopped.error));
        delete w;

        auto store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        const std::string id = stopped.sessionId.toStdString();
        auto info = (*store)->session(id);
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Paused));
        auto turns = (*store)->turns(id);
        QVERIFY(turns.ok());
        QCOMPARE(turns->size(), size_t(2));
        const QString partial = QString::fromStdString(turns->back().text);
        QVERIFY2(!partial.isEmpty() && partial.size() < reference.size() && reference.startsWith(partial),
                 qPrintable(partial));
        QVERIFY(info->contextTokens > turns->front().tokenCount);  // the prompt and the answer so far
        store.value().reset();

        MainWindow again;
        again.show();
        QVERIFY(ready(again, model));
        QSignalSpy resumedDone(again.controller(), &app::EngineController::jobFinished);
        again.resumeSession(stopped.sessionId);
        const app::JobOutcome resumed = finished(resumedDone, 1);
        QVERIFY2(resumed.ok, qPrintable(resumed.error));
        QCOMPARE(resumed.answer, reference);
        store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        turns = (*store)->turns(id);
        QCOMPARE(turns->size(), size_t(2));
        QCOMPARE(QString::fromStdString(turns->back().text), reference);
        QCOMPARE(int((*store)->session(id)->state), int(SessionState::Ready));
    }

    void imagesInTheTrayGoThroughTheVisionModel() {
        const QString vision = dir_.filePath("vision");
        QVERIFY(QDir().mkpath(vision));
        QVERIFY(testsupport::writeTinyGemma3Vision(vision.toStdString()));
        const QString png = dir_.filePath("checker.png");
        QVERIFY(QFile::copy(strata::testsupport::testDataPath("images/checker.png"), png));

        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.findChild<QAction*>(QStringLiteral("actionNewConversation"))->trigger();
        QVERIFY(ready(w, vision));
        auto* tray = w.findChild<DocumentTray*>();
        drop(tray, {QUrl::fromLocalFile(png)});
        if (QTest::currentTestFailed()) return;
        QTRY_VERIFY_WITH_TIMEOUT(tray->fileCount() == 1 && !tray->busy(), 30000);
        // 16 soft tokens with the image's markers and line breaks.
        QCOMPARE(tray->budget().partTokens, int64_t(20));
        QVERIFY(tray->budget().unusable.empty());
        QCOMPARE(tray->parts().size(), size_t(1));

        QSignalSpy queued(w.controller(), &app::EngineController::jobQueued);
        QSignalSpy done(w.controller(), &app::EngineController::jobFinished);
        ask(w, QStringLiteral("What is in the picture?"));
        const app::JobOutcome outcome = finished(done, 1);
        QVERIFY2(outcome.ok, qPrintable(outcome.error));
        QVERIFY(!outcome.sessionId.isEmpty());
        QVERIFY(outcome.promptTokens > 20);
        QVERIFY(outcome.generatedTokens > 0);
        QCOMPARE(w.currentSession(), outcome.sessionId);
        QCOMPARE(w.controller()->engineCallsOnUiThread(), 0);
        auto store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        auto info = (*store)->session(outcome.sessionId.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Ready));
        auto attachments = (*store)->attachments(outcome.sessionId.toStdString());
        QVERIFY(attachments.ok());
        QCOMPARE(attachments->size(), size_t(1));
        QCOMPARE(QString::fromStdString(attachments->front().kind), QStringLiteral("image"));

        // A follow-up with the image still in the tray is refused with a message, and nothing runs.
        QString refusal;
        std::function<void()> closeBox = [&] {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
                refusal = box->text();
                box->close();
            } else {
                QTimer::singleShot(20, closeBox);
            }
        };
        QTimer::singleShot(20, closeBox);
        ask(w, QStringLiteral("And the corners?"));
        QVERIFY2(refusal.contains(QStringLiteral("new conversation")), qPrintable(refusal));
        QCOMPARE(queued.count(), 1);
        QCOMPARE(w.currentSession(), outcome.sessionId);

        // The text model cannot take the image: listed, not sent.
        QVERIFY(ready(w, modelDir()));
        QTRY_VERIFY_WITH_TIMEOUT(!tray->busy() && tray->budget().unusable.size() == 1, 30000);
        QVERIFY2(tray->budget().unusable.front().find("takes no images") != std::string::npos,
                 tray->budget().unusable.front().c_str());
        QVERIFY(tray->parts().empty());
        QCOMPARE(w.controller()->engineCallsOnUiThread(), 0);
    }
};

QTEST_MAIN(TestAppWindow)
#include "test_app_window.moc"
