#include "EngineWorker.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QThread>

#include <algorithm>
#include <chrono>

#include "MediaTurn.h"
#include "PromptParts.h"
#include "core/ModelLocations.h"
#include "session/SessionTurn.h"

namespace strata::app {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// Progress reaches the window at most this often per phase, besides its first and last report.
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

bool isMedia(const JobAttachment& a) {
    return a.kind == QLatin1String(partKindName(PartKind::Image)) ||
           a.kind == QLatin1String(partKindName(PartKind::Audio));
}

}  // namespace

EngineWorker::EngineWorker(std::shared_ptr<std::atomic<qint64>> cancel, std::shared_ptr<std::atomic<qint64>> pause,
                           std::shared_ptr<std::atomic<qint64>> dropUpTo)
    : cancel_(std::move(cancel)), pause_(std::move(pause)), dropUpTo_(std::move(dropUpTo)) {}

EngineWorker::~EngineWorker() {
    // The model uses the backend: release it first.
    encoders_.reset();
    model_.reset();
    ops_.reset();
}

bool EngineWorker::onEngineThread() {
    if (QThread::currentThread() != QCoreApplication::instance()->thread()) return true;
    ++callsOnUiThread_;
    qCritical("strata: an engine call reached the UI thread and was refused");
    return false;
}

void EngineWorker::load(const ModelChoice& choice) {
    if (!onEngineThread()) return;
    emit modelLoading(choice.path);
    encoders_.reset();
    model_.reset();
    ops_.reset();
    tokenizer_.reset();
    modelPath_.clear();
    ModelOptions options;
    options.ramBudget = choice.ramBudget;
    options.vramBudget = choice.vramBudget;
    options.contextTokens = choice.contextTokens;
    options.kvBudget = choice.kvBudget;
    auto loaded = loadModel(choice.path.toStdString(), options, choice.threads);
    if (!loaded.ok()) {
        emit modelFailed(qs(loaded.error().message));
        return;
    }
    // Only the encoders' configuration is read now; their weights wait for the first image or recording.
    auto encoders = MediaEncoders::load(loaded->path, *loaded->ops);
    if (!encoders.ok()) {
        emit modelFailed(qs(encoders.error().message));
        return;
    }
    encoders_ = std::move(encoders.value());
    ops_ = std::move(loaded->ops);
    model_ = std::move(loaded->model);
    tokenizer_ = std::move(loaded->tokenizer);
    modelPath_ = loaded->path;
    ModelSummary summary;
    summary.path = choice.path;
    summary.name = QFileInfo(choice.path).fileName();
    summary.modelType = qs(model_->config().modelType);
    summary.contextTokens = model_->config().maxPositions;
    summary.layers = model_->config().numLayers;
    summary.backend = choice.vramBudget > 0 ? qs(backendDescription()) : QStringLiteral("CPU backend");
    summary.loadSeconds = loaded->loadSeconds;
    const ModelInputs inputs = modelInputsFor(model_->config(), *tokenizer_, encoders_.get());
    summary.tokensPerImage = inputs.tokensPerImage;
    summary.imageSize = inputs.tokensPerImage > 0 ? inputs.imageSize : 0;
    summary.tokensPerAudioChunk = inputs.tokensPerAudioChunk;
    emit modelReady(summary, tokenizer_);
}

Result<SessionStore*> EngineWorker::storeAt(const QString& root) {
    auto& store = stores_[root];
    if (!store) {
        auto opened = SessionStore::open(root.isEmpty() ? sessionsDir() : std::filesystem::path(root.toStdString()));
        STRATA_TRY(opened);
        store = std::move(opened.value());
    }
    return store.get();
}

Result<SessionTurnResult> EngineWorker::runTurn(const JobRequest& request, const SessionTurnCallbacks& callbacks) {
    if (!model_) return badInput("no model is loaded: choose one first");
    SessionStore* store = nullptr;
    STRATA_ASSIGN(store, storeAt(request.storeRoot));
    // A saved KV cache belongs to the weights that wrote it.
    const QString continued = !request.resumeSessionId.isEmpty() ? request.resumeSessionId : request.sessionId;
    if (!continued.isEmpty()) {
        auto info = store->session(continued.toStdString());
        STRATA_TRY(info);
        const std::string loaded = std::filesystem::absolute(modelPath_).string();
        if (info->modelPath != loaded)
            return badInput("session " + info->id + " was made with " + info->modelPath + ", not with the loaded " +
                            loaded + ": load that model to continue it");
    }
    KvCacheOptions kv;
    kv.blockTokens = kSessionKvBlockTokens;
    kv.residentBytes = request.kvBudget;
    kv.hostBytes = request.kvRamBudget;
    const int64_t checkpoint =
        (std::max<int64_t>(request.checkpointTokens, 1) + kv.blockTokens - 1) / kv.blockTokens * kv.blockTokens;
    if (!request.resumeSessionId.isEmpty()) {
        // An answer paused part-way shows as far as it went, then goes on.
        auto paused = pausedAnswer(*store, request.resumeSessionId.toStdString());
        STRATA_TRY(paused);
        if (paused.value() && callbacks.onReasoning && !paused.value()->reasoning.empty())
            callbacks.onReasoning(paused.value()->reasoning);
        if (paused.value() && callbacks.generation.onText) callbacks.generation.onText(paused.value()->text);
        return resumeSessionTurn(*store, *model_, *tokenizer_, request.resumeSessionId.toStdString(), kv, checkpoint,
                                 callbacks);
    }

    const bool withMedia = std::any_of(request.attachments.begin(), request.attachments.end(), isMedia);
    if (withMedia && !request.sessionId.isEmpty())
        return badInput("images and recordings go into a new session's first question: start a new conversation "
                        "to ask about them");

    const ModelConfig& config = model_->config();
    const std::string question = request.question.toStdString();
    const std::string message =
        request.documentText.isEmpty() ? question : request.documentText.toStdString() + "\n" + question;
    SessionTurnRequest turn;
    turn.userText = question;
    turn.kv = kv;
    turn.checkpointTokens = checkpoint;
    if (!request.sessionId.isEmpty()) {
        turn.sessionId = request.sessionId.toStdString();
        auto previous = readSavedJob(store->sessionDir(turn.sessionId));
        STRATA_TRY(previous);
        turn.job.chat = previous->chat;
        turn.job.enableThinking = previous->enableThinking;
        STRATA_ASSIGN(turn.job.promptIds, followUpIds(config.modelType, *tokenizer_, previous.value(), message));
    } else {
        turn.title = sessionTitleOf(question);
        turn.modelPath = std::filesystem::absolute(modelPath_).string();
        PromptFormat format;
        format.chat = tokenizer_->declaresChatTemplate();
        if (withMedia) {
            STRATA_ASSIGN(turn.job, mediaJob(request, message, format));
        } else {
            turn.job.chat = format.chat;
            STRATA_ASSIGN(turn.job.promptIds, firstTurnIds(config, *tokenizer_, message, format));
        }
    }
    turn.job.maxNewTokens = request.maxNewTokens;
    turn.job.stopTokenIds = stopTokens(config, *tokenizer_);
    for (const JobAttachment& a : request.attachments)
        turn.attachments.push_back({a.path.toStdString(), a.kind.toStdString(), a.tokens});
    return runSessionTurn(*store, *model_, *tokenizer_, std::move(turn), callbacks);
}

Result<SavedJob> EngineWorker::mediaJob(const JobRequest& request, const std::string& message,
                                        const PromptFormat& format) {
    const ModelInputs inputs = modelInputsFor(model_->config(), *tokenizer_, encoders_.get());
    std::vector<PromptPart> parts;
    for (const JobAttachment& a : request.attachments) {
        if (!isMedia(a)) continue;
        const std::filesystem::path file(a.path.toStdString());
        auto part = ingestFile(file, inputs);
        STRATA_TRY(part);
        // A model without encoders keeps refusing them here as in the tray.
        if (!part->unusable.empty()) return badInput(file.filename().string() + ": " + part->unusable);
        parts.push_back(std::move(part.value()));
    }
    return mediaTurnJob(model_->config(), *tokenizer_, *encoders_, parts, message, format);
}

void EngineWorker::run(qint64 jobId, const JobRequest& request) {
    if (!onEngineThread()) return;
    if (jobId <= dropUpTo_->load()) {
        emit jobSkipped(jobId);
        return;
    }
    emit jobStarted(jobId);

    JobOutcome outcome;
    outcome.jobId = jobId;
    SessionTurnCallbacks callbacks;
    auto lastReport = std::chrono::steady_clock::time_point{};
    bool lastPrefill = true;
    callbacks.generation.onText = [&](std::string_view piece) {
        emit textStreamed(jobId, QString::fromUtf8(piece.data(), qsizetype(piece.size())));
    };
    callbacks.onReasoning = [&](std::string_view piece) {
        emit reasoningStreamed(jobId, QString::fromUtf8(piece.data(), qsizetype(piece.size())));
    };
    callbacks.generation.onProgress = [&](const GenerationProgress& p) {
        const bool prefill = p.phase == GenerationPhase::Prefill;
        const auto now = std::chrono::steady_clock::now();
        if (prefill == lastPrefill && p.done != 0 && p.done != p.total && now - lastReport < kProgressInterval) return;
        lastReport = now;
        lastPrefill = prefill;
        emit progressed({jobId, outcome.sessionId, prefill, p.done, p.total, p.tokensPerSecond, p.etaSeconds});
    };
    callbacks.generation.cancelRequested = [this, jobId] { return cancel_->load() == jobId; };
    callbacks.generation.pauseRequested = [this, jobId] { return pause_->load() == jobId; };
    callbacks.onSessionSaved = [&](const std::string& id, int64_t, int64_t) {
        outcome.sessionId = qs(id);
        emit sessionSaved(jobId, outcome.sessionId);
    };

    auto result = runTurn(request, callbacks);
    if (result.ok()) {
        const GenerationResult& g = result->generation;
        outcome.ok = true;
        outcome.sessionId = qs(result->sessionId);
        outcome.cancelled = g.stopReason == "cancelled";
        outcome.stopReason = qs(g.stopReason);
        outcome.answer = qs(result->answer.text);
        outcome.reasoning = qs(result->answer.reasoning);
        outcome.answerMissing = qs(result->answer.missing);
        outcome.promptTokens = g.promptTokens;
        outcome.generatedTokens = g.generatedTokens;
        outcome.prefillSeconds = g.prefillSeconds;
        outcome.decodeSeconds = g.decodeSeconds;
    } else {
        outcome.cancelled = result.error().kind == ErrorKind::Cancelled;
        outcome.diskFull = result.error().kind == ErrorKind::DiskFull;
        outcome.error = qs(result.error().message);
    }
    emit jobFinished(outcome);
}

}  // namespace strata::app
