// EngineController on a random Llama: the model loads and jobs run on the engine thread while the
// UI thread keeps processing events; tokens, progress and the saved session come back as queued
// signals; cancelling a prefill leaves the session resumable and the resume finishes it; queued
// jobs can be dropped. A tiny Gemma 3 vision model counts an image and answers about it, and a tiny
// Voxtral a recording, through their encoders on the engine thread; a text model refuses images.
#include <QDir>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include "EngineController.h"
#include "PromptParts.h"
#include "session/SessionStore.h"
#include "support/RandomLlama.h"
#include "support/DefaultModel.h"
#include "../support/TestPaths.h"
#include "support/TinyMultimodalModels.h"

using namespace strata;
using namespace strata::app;

class TestEngineController : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    QString modelDir() const { return dir_.filePath("model"); }
    QString storeDir() const { return dir_.filePath("sessions"); }

    JobRequest longQuestion(qint64 words) const {
        JobRequest r;
        QString text;
        for (qint64 i = 0; i < words; ++i) text += QStringLiteral("alpha beta ");
        r.question = text + QStringLiteral("?");
        r.maxNewTokens = 6;
        r.storeRoot = storeDir();
        r.checkpointTokens = 256;
        return r;
    }

    static bool load(EngineController& c, const QString& path) {
        QSignalSpy ready(&c, &EngineController::modelReady);
        c.loadModel({path, 0, 0, 0, 8192});
        return ready.wait(60000);
    }

    static JobOutcome waitFinished(QSignalSpy& finished, int count) {
        while (finished.count() < count)
            if (!finished.wait(120000)) return {};
        return finished.at(count - 1).at(0).value<JobOutcome>();
    }

private slots:
    void initTestCase() {
        QVERIFY(testsupport::writeRandomLlama(modelDir().toStdString(), testsupport::jobSizedLlama()));
    }

    void jobRunsOnTheEngineThreadAndStreamsBack() {
        EngineController c;
        QVERIFY(c.engineThread() != QThread::currentThread());
        QVERIFY2(load(c, modelDir()), "the model did not load");
        QCOMPARE(c.model().modelType, QStringLiteral("llama"));
        QVERIFY(c.modelInputs().countTokens);
        QVERIFY(c.modelInputs().countTokens("alpha beta") > 0);

        int ticks = 0;
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&] { ++ticks; });
        timer.start(5);
        QSignalSpy started(&c, &EngineController::jobStarted);
        QSignalSpy saved(&c, &EngineController::sessionSaved);
        QSignalSpy progress(&c, &EngineController::progressed);
        QSignalSpy finished(&c, &EngineController::jobFinished);
        QList<QThread*> deliveredOn;
        connect(&c, &EngineController::progressed, this, [&] { deliveredOn << QThread::currentThread(); });

        QFile log(dir_.filePath("ops.log"));
        QVERIFY(log.open(QIODevice::WriteOnly));
        log.write("boot ok\nfan failed\n");
        log.close();
        JobRequest request = longQuestion(200);
        request.checkpointTokens = 4096;
        request.documentText = QStringLiteral("[ops.log, lines 1-2]\nboot ok\nfan failed\n");
        request.attachments = {{dir_.filePath("ops.log"), QStringLiteral("text"), 12}};
        const qint64 id = c.submit(request);
        QVERIFY(c.queuedJobs() == 1 || c.busy());
        const JobOutcome outcome = waitFinished(finished, 1);
        timer.stop();
        QVERIFY2(outcome.ok, qPrintable(outcome.error));
        QCOMPARE(outcome.jobId, id);
        QCOMPARE(started.count(), 1);
        QCOMPARE(saved.count(), 1);
        QVERIFY(progress.count() >= 2);
        // Each report names the session the job writes, so the window can show it working.
        bool decoded = false;
        for (const QList<QVariant>& args : progress) {
            const JobProgress p = args.at(0).value<JobProgress>();
            QCOMPARE(p.sessionId, outcome.sessionId);
            decoded |= !p.prefill;
        }
        QVERIFY(decoded);
        QVERIFY(outcome.promptTokens > 1000);
        QVERIFY(outcome.generatedTokens > 0);
        // The window's thread ran its timer all along and received every signal itself.
        QVERIFY2(ticks >= 5, qPrintable(QString::number(ticks)));
        for (QThread* t : deliveredOn) QCOMPARE(t, QThread::currentThread());
        QCOMPARE(c.engineCallsOnUiThread(), 0);
        QVERIFY(!c.busy());
        QCOMPARE(c.queuedJobs(), 0);

        auto store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        auto attachments = (*store)->attachments(outcome.sessionId.toStdString());
        QVERIFY(attachments.ok());
        QCOMPARE(attachments->size(), size_t(1));
        auto turns = (*store)->turns(outcome.sessionId.toStdString());
        QVERIFY(turns.ok());
        QCOMPARE(turns->size(), size_t(2));
        QCOMPARE(QString::fromStdString(turns->front().text), request.question);

        // A follow-up on the saved session.
        JobRequest followUp;
        followUp.question = QStringLiteral("and then?");
        followUp.sessionId = outcome.sessionId;
        followUp.storeRoot = storeDir();
        followUp.maxNewTokens = 3;
        c.submit(followUp);
        const JobOutcome second = waitFinished(finished, 2);
        QVERIFY2(second.ok, qPrintable(second.error));
        QCOMPARE(second.sessionId, outcome.sessionId);
        QVERIFY(second.promptTokens < 20);
    }

    void cancelledPrefillResumes() {
        EngineController c;
        QVERIFY(load(c, modelDir()));
        QSignalSpy finished(&c, &EngineController::jobFinished);
        // Stopped before it starts: it stops at its first check, after the first checkpoint.
        c.cancel(c.submit(longQuestion(150)));
        const JobOutcome stopped = waitFinished(finished, 1);
        QVERIFY(!stopped.ok);
        QVERIFY(stopped.cancelled);
        QVERIFY2(stopped.error.contains("paused"), qPrintable(stopped.error));
        auto store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        auto info = (*store)->session(stopped.sessionId.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Paused));

        auto progress = (*store)->prefillProgress(stopped.sessionId.toStdString());
        QVERIFY(progress.ok() && progress.value());
        QCOMPARE(progress.value()->tokensDone, int64_t(256));
        JobRequest resume;
        resume.resumeSessionId = stopped.sessionId;
        resume.storeRoot = storeDir();
        resume.checkpointTokens = 4096;
        c.submit(resume);
        const JobOutcome resumed = waitFinished(finished, 2);
        QVERIFY2(resumed.ok, qPrintable(resumed.error));
        info = (*store)->session(stopped.sessionId.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Ready));
    }

    void queuedJobsCanBeDropped() {
        EngineController c;
        QVERIFY(load(c, modelDir()));
        QSignalSpy started(&c, &EngineController::jobStarted);
        QSignalSpy finished(&c, &EngineController::jobFinished);
        // Hold the engine thread so that the jobs below wait in its queue.
        QSemaphore hold;
        auto* blocker = new QObject;
        blocker->moveToThread(c.engineThread());
        QMetaObject::invokeMethod(
            blocker, [&hold, blocker] { hold.acquire(); blocker->deleteLater(); }, Qt::QueuedConnection);
        c.submit(longQuestion(10));
        c.submit(longQuestion(10));
        QCOMPARE(c.queuedJobs(), 2);
        c.cancelQueued();
        const qint64 kept = c.submit(longQuestion(10));
        hold.release();
        const JobOutcome outcome = waitFinished(finished, 1);
        QCOMPARE(outcome.jobId, kept);
        QVERIFY2(outcome.ok, qPrintable(outcome.error));
        QTRY_COMPARE(c.queuedJobs(), 0);
        QCOMPARE(started.count(), 1);
        QCOMPARE(finished.count(), 1);
        QVERIFY(!c.busy());
    }

    void sessionOfAnotherModelIsRefused() {
        EngineController c;
        QVERIFY(load(c, modelDir()));
        QSignalSpy finished(&c, &EngineController::jobFinished);
        c.submit(longQuestion(5));
        const JobOutcome first = waitFinished(finished, 1);
        QVERIFY2(first.ok, qPrintable(first.error));

        testsupport::RandomLlamaShape other;
        other.seed = 99;
        QVERIFY(testsupport::writeRandomLlama(dir_.filePath("other").toStdString(), other));
        QVERIFY(load(c, dir_.filePath("other")));
        JobRequest followUp = longQuestion(2);
        followUp.sessionId = first.sessionId;
        c.submit(followUp);
        const JobOutcome refused = waitFinished(finished, 2);
        QVERIFY(!refused.ok);
        QVERIFY2(refused.error.contains(QStringLiteral("was made with")), qPrintable(refused.error));
        QVERIFY(refused.error.contains(QStringLiteral("load that model")));
    }

    void imagesGoThroughTheModelsEncoders() {
        const QString vision = dir_.filePath("vision");
        QVERIFY(QDir().mkpath(vision));
        QVERIFY(testsupport::writeTinyGemma3Vision(vision.toStdString()));
        const QString png = strata::testsupport::testDataPath("images/checker.png");

        EngineController c;
        QVERIFY2(load(c, vision), "the vision model did not load");
        // 16 soft tokens per 32-pixel image, with its begin and end markers and line breaks.
        QCOMPARE(c.model().tokensPerImage, qint64(20));
        QCOMPARE(c.model().imageSize, 32);
        QCOMPARE(c.modelInputs().tokensPerImage, int64_t(20));
        QCOMPARE(c.modelInputs().imageSize, 32);
        QCOMPARE(c.modelInputs().tokensPerAudioChunk, int64_t(0));
        auto part = ingestFile(png.toStdString(), c.modelInputs());
        QVERIFY(part.ok());
        QVERIFY2(part->unusable.empty(), part->unusable.c_str());
        QCOMPARE(part->tokens, int64_t(20));
        QCOMPARE(part->pixelValues.size(), size_t(3 * 32 * 32));

        QFile notes(dir_.filePath("notes.txt"));
        QVERIFY(notes.open(QIODevice::WriteOnly));
        notes.write("a checkerboard test card\n");
        notes.close();
        QSignalSpy finished(&c, &EngineController::jobFinished);
        JobRequest request;
        request.question = QStringLiteral("What is in the picture?");
        request.documentText = QStringLiteral("[notes.txt, lines 1-1]\na checkerboard test card\n");
        request.attachments = {{png, QStringLiteral("image"), part->tokens},
                               {dir_.filePath("notes.txt"), QStringLiteral("text"), 9}};
        request.maxNewTokens = 4;
        request.storeRoot = storeDir();
        request.checkpointTokens = 32;
        c.submit(request);
        const JobOutcome outcome = waitFinished(finished, 1);
        QVERIFY2(outcome.ok, qPrintable(outcome.error));
        QVERIFY(!outcome.sessionId.isEmpty());
        QVERIFY(outcome.promptTokens > 20);
        QVERIFY(outcome.generatedTokens > 0);
        QCOMPARE(c.engineCallsOnUiThread(), 0);
        auto store = SessionStore::open(storeDir().toStdString());
        QVERIFY(store.ok());
        auto info = (*store)->session(outcome.sessionId.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(int(info->state), int(SessionState::Ready));
        auto attachments = (*store)->attachments(outcome.sessionId.toStdString());
        QVERIFY(attachments.ok());
        QCOMPARE(attachments->size(), size_t(2));

        // A follow-up cannot take images: refused, not answered without them.
        JobRequest again;
        again.question = QStringLiteral("And this one?");
        again.attachments = {{png, QStringLiteral("image"), part->tokens}};
        again.sessionId = outcome.sessionId;
        again.storeRoot = storeDir();
        again.maxNewTokens = 2;
        c.submit(again);
        const JobOutcome refused = waitFinished(finished, 2);
        QVERIFY(!refused.ok);
        QVERIFY2(refused.error.contains(QStringLiteral("new session's first question")), qPrintable(refused.error));
        // A follow-up in words goes on.
        again.attachments.clear();
        c.submit(again);
        const JobOutcome followed = waitFinished(finished, 3);
        QVERIFY2(followed.ok, qPrintable(followed.error));
        QCOMPARE(followed.sessionId, outcome.sessionId);

        // A file that is no longer readable is the job's error.
        JobRequest missing = request;
        missing.attachments = {{dir_.filePath("gone.png"), QStringLiteral("image"), 20}};
        c.submit(missing);
        const JobOutcome gone = waitFinished(finished, 4);
        QVERIFY(!gone.ok);
        QVERIFY2(gone.error.contains(QStringLiteral("gone.png")), qPrintable(gone.error));
        QCOMPARE(c.engineCallsOnUiThread(), 0);
    }

    void audioGoesThroughTheModelsEncoder() {
        const QString voxtral = dir_.filePath("voxtral");
        QVERIFY(QDir().mkpath(voxtral));
        if (!testsupport::writeTinyVoxtral(voxtral.toStdString()))
            STRATA_MISSING_MODEL("Voxtral's vocabulary (tekken_240911.json) is not installed; run packaging/install-models.sh");
        const QString flac = strata::testsupport::testDataPath("audio/chirp_16k_mono.flac");

        EngineController c;
        QVERIFY2(load(c, voxtral), "the Voxtral model did not load");
        QCOMPARE(c.model().tokensPerAudioChunk, qint64(375));
        QCOMPARE(c.model().tokensPerImage, qint64(0));
        auto part = ingestFile(flac.toStdString(), c.modelInputs());
        QVERIFY(part.ok());
        QVERIFY2(part->unusable.empty(), part->unusable.c_str());
        QCOMPARE(part->tokens, int64_t(375));

        QSignalSpy finished(&c, &EngineController::jobFinished);
        JobRequest request;
        request.question = QStringLiteral("What do you hear?");
        request.attachments = {{flac, QStringLiteral("audio"), part->tokens}};
        request.maxNewTokens = 3;
        request.storeRoot = storeDir();
        request.checkpointTokens = 64;
        c.submit(request);
        const JobOutcome outcome = waitFinished(finished, 1);
        QVERIFY2(outcome.ok, qPrintable(outcome.error));
        QVERIFY(outcome.promptTokens > 375);
        QVERIFY(outcome.generatedTokens > 0);
        QCOMPARE(c.engineCallsOnUiThread(), 0);
    }

    void textModelRefusesImages() {
        const QString png = strata::testsupport::testDataPath("images/checker.png");
        EngineController c;
        QVERIFY(load(c, modelDir()));
        QCOMPARE(c.model().tokensPerImage, qint64(0));
        QCOMPARE(c.modelInputs().tokensPerImage, int64_t(0));
        auto part = ingestFile(png.toStdString(), c.modelInputs());
        QVERIFY(part.ok());
        QVERIFY2(part->unusable.find("takes no images") != std::string::npos, part->unusable.c_str());
        QCOMPARE(part->tokens, int64_t(0));

        QSignalSpy finished(&c, &EngineController::jobFinished);
        JobRequest request = longQuestion(3);
        request.attachments = {{png, QStringLiteral("image"), 0}};
        c.submit(request);
        const JobOutcome refused = waitFinished(finished, 1);
        QVERIFY(!refused.ok);
        QVERIFY2(refused.error.contains(QStringLiteral("takes no images")), qPrintable(refused.error));
        QCOMPARE(c.engineCallsOnUiThread(), 0);
    }

    void noModelIsAClearError() {
        EngineController c;
        QSignalSpy finished(&c, &EngineController::jobFinished);
        c.submit(longQuestion(2));
        const JobOutcome outcome = waitFinished(finished, 1);
        QVERIFY(!outcome.ok);
        QVERIFY2(outcome.error.contains("no model"), qPrintable(outcome.error));

        QSignalSpy failed(&c, &EngineController::modelFailed);
        c.loadModel({dir_.filePath("missing"), 0, 0, 0, 8192});
        QVERIFY(failed.wait(30000));
        QVERIFY(failed.at(0).at(0).toString().contains("missing"));
    }
};

QTEST_GUILESS_MAIN(TestEngineController)
#include "test_engine_controller.moc"
