#include "EngineController.h"

#include "EngineWorker.h"

namespace strata::app {

namespace {

void registerTypes() {
    qRegisterMetaType<ModelChoice>();
    qRegisterMetaType<ModelSummary>();
    qRegisterMetaType<JobRequest>();
    qRegisterMetaType<JobProgress>();
    qRegisterMetaType<JobOutcome>();
    qRegisterMetaType<std::shared_ptr<const strata::Tokenizer>>();
}

}  // namespace

EngineController::EngineController(QObject* parent)
    : QObject(parent),
      cancel_(std::make_shared<std::atomic<qint64>>(0)),
      pause_(std::make_shared<std::atomic<qint64>>(0)),
      dropUpTo_(std::make_shared<std::atomic<qint64>>(0)) {
    registerTypes();
    thread_ = new QThread(this);
    thread_->setObjectName(QStringLiteral("strata-engine"));
    worker_ = new EngineWorker(cancel_, pause_, dropUpTo_);
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);

    connect(worker_, &EngineWorker::modelLoading, this, &EngineController::modelLoading);
    connect(worker_, &EngineWorker::modelReady, this,
            [this](const ModelSummary& summary, std::shared_ptr<const Tokenizer> tokenizer) {
                model_ = summary;
                tokenizer_ = std::move(tokenizer);
                emit modelReady(summary);
            });
    connect(worker_, &EngineWorker::modelFailed, this, [this](const QString& message) {
        model_ = {};
        tokenizer_.reset();
        emit modelFailed(message);
    });
    connect(worker_, &EngineWorker::jobStarted, this, [this](qint64 id) {
        runningJob_ = id;
        --queued_;
        emit jobStarted(id);
        emit busyChanged(true);
    });
    connect(worker_, &EngineWorker::jobSkipped, this, [this](qint64) { --queued_; });
    connect(worker_, &EngineWorker::sessionSaved, this, &EngineController::sessionSaved);
    connect(worker_, &EngineWorker::textStreamed, this, &EngineController::textStreamed);
    connect(worker_, &EngineWorker::reasoningStreamed, this, &EngineController::reasoningStreamed);
    connect(worker_, &EngineWorker::progressed, this, &EngineController::progressed);
    connect(worker_, &EngineWorker::jobFinished, this, [this](const JobOutcome& outcome) {
        runningJob_ = 0;
        emit jobFinished(outcome);
        if (queued_ == 0) emit busyChanged(false);
    });
    thread_->start();
}

EngineController::~EngineController() {
    cancelQueued();
    cancelCurrent();
    thread_->quit();
    thread_->wait();
}

void EngineController::loadModel(const ModelChoice& choice) {
    QMetaObject::invokeMethod(worker_, [w = worker_, choice] { w->load(choice); }, Qt::QueuedConnection);
}

qint64 EngineController::submit(const JobRequest& request) {
    const qint64 id = nextJob_++;
    ++queued_;
    QMetaObject::invokeMethod(worker_, [w = worker_, id, request] { w->run(id, request); }, Qt::QueuedConnection);
    emit jobQueued(id, queued_);
    return id;
}

void EngineController::cancel(qint64 jobId) {
    if (jobId > 0) cancel_->store(jobId);
}

void EngineController::cancelQueued() { dropUpTo_->store(nextJob_ - 1); }

void EngineController::pauseCurrent() {
    if (runningJob_ > 0) pause_->store(runningJob_);
}

ModelInputs EngineController::modelInputs() const {
    ModelInputs inputs;
    if (!tokenizer_) return inputs;
    inputs.modelName = model_.modelType.toStdString();
    inputs.contextTokens = model_.contextTokens;
    // The encoders' figures, as the engine thread worked them out when the model loaded.
    inputs.tokensPerImage = model_.tokensPerImage;
    if (model_.imageSize > 0) inputs.imageSize = model_.imageSize;
    inputs.tokensPerAudioChunk = model_.tokensPerAudioChunk;
    inputs.countTokens = [tokenizer = tokenizer_](std::string_view text) {
        return int64_t(tokenizer->encode(text, false).size());
    };
    return inputs;
}

int EngineController::engineCallsOnUiThread() const { return worker_ ? worker_->callsOnUiThread() : 0; }

}  // namespace strata::app
