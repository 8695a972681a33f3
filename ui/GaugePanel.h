#pragma once
// The gauges beside a running job: GPU memory against its budget, RAM, disk traffic and wear on the
// drives that hold the model and the session, drive temperature, token rates and job progress. It
// only shows plain values handed to it; sampling happens elsewhere, so nothing here can block.
#include <QString>
#include <QWidget>

#include <cstdint>

#include "telemetry/SystemTelemetry.h"

class QLabel;
class QProgressBar;

namespace strata::ui {

class GaugePanel : public QWidget {
    Q_OBJECT

public:
    explicit GaugePanel(QWidget* parent = nullptr);

    // Human units shared with the history chart's tooltips: "512 KiB", "3.2 GiB", "12.5 MB/s", "1:02:03".
    static QString formatBytes(uint64_t bytes);
    static QString formatBytesPerSecond(double bytesPerSecond);
    static QString formatDuration(double seconds);

public slots:
    void showTelemetry(const strata::TelemetrySnapshot& snapshot);
    // The GPU memory Strata may use; 0 means no budget, and the gauge then measures against the
    // whole device.
    void setVramBudget(uint64_t bytes);
    // phase names the stage ("prefill", "decode", ...); a phase containing "prefill" or "decode"
    // also updates that token-rate gauge. etaSeconds < 0: unknown.
    void showProgress(const QString& phase, qint64 done, qint64 total, double tokensPerSecond, double etaSeconds);
    void showTokenRate(bool prefill, double tokensPerSecond);
    void clearProgress();

private:
    void showVram();

    QProgressBar* vramGauge_ = nullptr;
    QLabel* vramLabel_ = nullptr;
    QProgressBar* ramGauge_ = nullptr;
    QLabel* ramLabel_ = nullptr;
    QLabel* rssLabel_ = nullptr;
    QLabel* diskReadLabel_ = nullptr;
    QLabel* diskWriteLabel_ = nullptr;
    QLabel* wearLabel_ = nullptr;
    QLabel* temperatureLabel_ = nullptr;
    QLabel* prefillRateLabel_ = nullptr;
    QLabel* decodeRateLabel_ = nullptr;
    QProgressBar* jobProgress_ = nullptr;
    QLabel* etaLabel_ = nullptr;

    strata::TelemetrySnapshot last_;
    bool haveSnapshot_ = false;
    uint64_t vramBudget_ = 0;
};

}  // namespace strata::ui
