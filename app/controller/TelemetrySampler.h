#pragma once
// Samples the machine (RAM, VRAM, the disks under the model and the sessions, drive temperature)
// a few times a second on a thread of its own, so that the gauges move even while the engine
// thread is deep in a prefill, and hands each snapshot to the window as a queued signal.
#include <QObject>
#include <QStringList>
#include <QThread>

#include "telemetry/SystemTelemetry.h"

Q_DECLARE_METATYPE(strata::TelemetrySnapshot)

namespace strata::app {

class TelemetrySampler : public QObject {
    Q_OBJECT

public:
    explicit TelemetrySampler(int intervalMs = 500, QObject* parent = nullptr);
    ~TelemetrySampler() override;

    // The disks to follow: those holding these paths (the model, the session folder).
    void watch(const QStringList& paths);
    // A sample now, besides the regular ones (say, as a job starts).
    void sampleNow();

signals:
    void sampled(const strata::TelemetrySnapshot& snapshot);

private:
    QThread* thread_ = nullptr;
    QObject* worker_ = nullptr;  // lives on thread_: owns the SystemTelemetry and the timer
};

}  // namespace strata::app
