#pragma once
// The engine side of EngineController: lives on the engine thread and does the slow work there —
// loading the model, running session turns — reporting through signals that Qt queues to the
// window's thread. Every entry point checks that it runs on the engine thread.
#include <QObject>

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "EngineTypes.h"
#include "ModelRuntime.h"
#include "multimodal/MediaEncoders.h"
#include "session/SessionStore.h"
#include "session/SessionTurn.h"

namespace strata::app {

class EngineWorker : public QObject {
    Q_OBJECT

public:
    EngineWorker(std::shared_ptr<std::atomic<qint64>> cancel, std::shared_ptr<std::atomic<qint64>> pause,
                 std::shared_ptr<std::atomic<qint64>> dropUpTo);
    ~EngineWorker() override;

    void load(const ModelChoice& choice);
    void run(qint64 jobId, const JobRequest& request);

    // Calls that arrived on the UI thread (counted, refused); read from any thread.
    int callsOnUiThread() const { return callsOnUiThread_.load(); }

signals:
    void modelLoading(const QString& path);
    void modelReady(const strata::app::ModelSummary& summary, std::shared_ptr<const strata::Tokenizer> tokenizer);
    void modelFailed(const QString& message);
    void jobStarted(qint64 jobId);
    void jobSkipped(qint64 jobId);
    void sessionSaved(qint64 jobId, const QString& sessionId);
    void textStreamed(qint64 jobId, const QString& text);
    void reasoningStreamed(qint64 jobId, const QString& text);
    void progressed(const strata::app::JobProgress& progress);
    void jobFinished(const strata::app::JobOutcome& outcome);

private:
    bool onEngineThread();
    Result<SessionStore*> storeAt(const QString& root);
    Result<SessionTurnResult> runTurn(const JobRequest& request, const SessionTurnCallbacks& callbacks);
    // A new session's first turn about the request's images and recordings: the files read again
    // for the loaded model and run through its encoders, with message (the documents' text and
    // the question) after them.
    Result<SavedJob> mediaJob(const JobRequest& request, const std::string& message, const PromptFormat& format);

    std::shared_ptr<std::atomic<qint64>> cancel_;  // the id of the job to stop
    std::shared_ptr<std::atomic<qint64>> pause_;   // the id of the job to pause, to be resumed later
    std::shared_ptr<std::atomic<qint64>> dropUpTo_;
    std::atomic<int> callsOnUiThread_{0};
    std::unique_ptr<Ops> ops_;
    std::unique_ptr<TransformerModel> model_;
    std::shared_ptr<const Tokenizer> tokenizer_;
    std::unique_ptr<MediaEncoders> encoders_;  // the model's image and audio encoders (each loaded when first used)
    std::string modelPath_;
    std::map<QString, std::unique_ptr<SessionStore>> stores_;
};

}  // namespace strata::app

Q_DECLARE_METATYPE(std::shared_ptr<const strata::Tokenizer>)
