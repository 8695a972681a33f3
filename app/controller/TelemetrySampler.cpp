#include "TelemetrySampler.h"

#include <QElapsedTimer>
#include <QTimer>

#include "ModelRuntime.h"

#include <memory>

namespace strata::app {

namespace {

class SamplingWorker : public QObject {
public:
    SamplingWorker(TelemetrySampler* owner, int intervalMs) : owner_(owner), timer_(this) {
        clock_.start();
        timer_.setInterval(intervalMs);
        connect(&timer_, &QTimer::timeout, this, &SamplingWorker::sampleNow);
    }
    void watch(const QStringList& paths) {
        std::vector<std::filesystem::path> watched;
        for (const QString& p : paths)
            if (!p.isEmpty()) watched.emplace_back(p.toStdString());
        telemetry_ = std::make_unique<SystemTelemetry>(std::move(watched), makeGpuMemoryProbe());
        if (!timer_.isActive()) timer_.start();
        emit owner_->sampled(sample());
    }

    void sampleNow() {
        if (telemetry_) emit owner_->sampled(sample());
    }

private:
    // One clock for the whole window, whichever disks are followed: the history stays in order.
    TelemetrySnapshot sample() { return telemetry_->sampleAt(double(clock_.elapsed()) / 1000.0); }

    QElapsedTimer clock_;
    TelemetrySampler* owner_;
    QTimer timer_;
    std::unique_ptr<SystemTelemetry> telemetry_;
};

}  // namespace

TelemetrySampler::TelemetrySampler(int intervalMs, QObject* parent) : QObject(parent) {
    qRegisterMetaType<strata::TelemetrySnapshot>();
    thread_ = new QThread(this);
    thread_->setObjectName(QStringLiteral("strata-telemetry"));
    worker_ = new SamplingWorker(this, intervalMs);
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    thread_->start();
}

TelemetrySampler::~TelemetrySampler() {
    thread_->quit();
    thread_->wait();
}

void TelemetrySampler::watch(const QStringList& paths) {
    auto* worker = static_cast<SamplingWorker*>(worker_);
    QMetaObject::invokeMethod(worker_, [worker, paths] { worker->watch(paths); }, Qt::QueuedConnection);
}

}  // namespace strata::app

namespace strata::app {

void TelemetrySampler::sampleNow() {
    auto* worker = static_cast<SamplingWorker*>(worker_);
    QMetaObject::invokeMethod(worker_, [worker] { worker->sampleNow(); }, Qt::QueuedConnection);
}

}  // namespace strata::app
