#pragma once
// The window's only way to the engine. The engine runs on a thread of its own (EngineWorker):
// loading a model and answering questions never happen on the UI thread, and what comes back
// reaches the widgets as queued signals carrying plain values (EngineTypes.h).
//
// Jobs run one at a time in the order submitted; later ones wait in the engine thread's queue.
// Cancelling the running job is prompt: the engine polls a flag between prefill pieces and before
// every decoded token, so a stopped prefill keeps its last checkpoint and can be resumed.
#include <QObject>
#include <QThread>

#include <atomic>
#include <memory>

#include "EngineTypes.h"
#include "PromptParts.h"
#include "tokenizer/Tokenizer.h"

namespace strata::app {

class EngineWorker;

class EngineController : public QObject {
    Q_OBJECT

public:
    explicit EngineController(QObject* parent = nullptr);
    ~EngineController() override;  // cancels the running job and waits for the engine thread

    void loadModel(const ModelChoice& choice);
    // Queues the job; returns its id (also in jobQueued).
    qint64 submit(const JobRequest& request);
    // The job stops at its next check: while it runs, or as soon as it starts when still queued.
    void cancel(qint64 jobId);
    void cancelCurrent() { cancel(runningJob_); }
    void cancelQueued();  // jobs not yet started are dropped
    // The running job stops at its next check with everything saved and its session paused, to be
    // resumed later (an answer goes on where it stopped): the window closed with the job left
    // for later, a logout, SIGTERM.
    void pauseCurrent();

    bool busy() const { return runningJob_ != 0; }
    qint64 runningJob() const { return runningJob_; }
    int queuedJobs() const { return queued_; }
    bool modelLoaded() const { return !model_.path.isEmpty(); }
    const ModelSummary& model() const { return model_; }
    // The loaded model's token counter and context, for weighing documents (safe on any thread).
    ModelInputs modelInputs() const;

    QThread* engineThread() const { return thread_; }
    // Engine calls made on the UI thread; the worker counts them, and they should never happen.
    int engineCallsOnUiThread() const;

signals:
    void modelLoading(const QString& path);
    void modelReady(const strata::app::ModelSummary& summary);
    void modelFailed(const QString& message);
    void jobQueued(qint64 jobId, int queuedJobs);
    void jobStarted(qint64 jobId);
    void sessionSaved(qint64 jobId, const QString& sessionId);
    void textStreamed(qint64 jobId, const QString& text);  // the answer (a gpt-oss model's final channel)
    void reasoningStreamed(qint64 jobId, const QString& text);  // a gpt-oss model's analysis channel
    void progressed(const strata::app::JobProgress& progress);
    void jobFinished(const strata::app::JobOutcome& outcome);
    void busyChanged(bool busy);

private:
    QThread* thread_ = nullptr;
    EngineWorker* worker_ = nullptr;  // lives on thread_
    std::shared_ptr<std::atomic<qint64>> cancel_;  // the id of the job to stop
    std::shared_ptr<std::atomic<qint64>> pause_;   // the id of the job to pause
    std::shared_ptr<std::atomic<qint64>> dropUpTo_;  // queued jobs with ids up to this are skipped
    qint64 nextJob_ = 1;
    qint64 runningJob_ = 0;
    int queued_ = 0;
    ModelSummary model_;
    std::shared_ptr<const Tokenizer> tokenizer_;
};

}  // namespace strata::app
