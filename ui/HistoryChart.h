#pragma once
// History of the gauges over a whole job, one series at a time (their units differ): RAM and VRAM
// in GiB, disk read and write in MB/s, prefill and decode in tokens per second. Each series is a
// MetricHistory, so an overnight job costs a fixed amount of memory, and the chart is redrawn at
// most about once a second from the downsampled points: the mean as a line, min to max as a band
// so that short peaks stay visible.
#include <QHash>
#include <QString>
#include <QStringList>
#include <QWidget>

#include "telemetry/MetricHistory.h"
#include "telemetry/SystemTelemetry.h"

class QAreaSeries;
class QChart;
class QChartView;
class QComboBox;
class QLineSeries;
class QTimer;
class QValueAxis;

namespace strata::ui {

class HistoryChart : public QWidget {
    Q_OBJECT

public:
    // Series ids, as pointCount() and selectSeries() take them.
    static inline const QString ramSeries = QStringLiteral("ram");
    static inline const QString vramSeries = QStringLiteral("vram");
    static inline const QString diskReadSeries = QStringLiteral("diskRead");
    static inline const QString diskWriteSeries = QStringLiteral("diskWrite");
    static inline const QString prefillSeries = QStringLiteral("prefill");
    static inline const QString decodeSeries = QStringLiteral("decode");

    explicit HistoryChart(QWidget* parent = nullptr, size_t maxPointsPerSeries = 512);

    QStringList seriesIds() const;
    QString selectedSeries() const;
    // Points held for a series (bounded by maxPointsPerSeries); -1 for an unknown id.
    int pointCount(const QString& series) const;
    // Points in the line now drawn.
    int drawnPointCount() const;

public slots:
    void addTelemetry(const strata::TelemetrySnapshot& snapshot);
    void addTokenRate(bool prefill, double seconds, double tokensPerSecond);
    void selectSeries(const QString& series);
    void clear();
    // Redraws now rather than at the next tick of the redraw timer.
    void refresh();

private:
    struct Series {
        QString id, title, unit;
        MetricHistory history;
    };
    void add(const QString& id, double seconds, double value);
    void scheduleRedraw();

    QList<Series> series_;
    QHash<QString, int> indexOf_;
    QComboBox* selector_ = nullptr;
    QChartView* view_ = nullptr;
    QChart* chart_ = nullptr;
    QLineSeries* mean_ = nullptr;
    QLineSeries* upper_ = nullptr;
    QLineSeries* lower_ = nullptr;
    QAreaSeries* band_ = nullptr;
    QValueAxis* xAxis_ = nullptr;
    QValueAxis* yAxis_ = nullptr;
    QTimer* redrawTimer_ = nullptr;
    bool dirty_ = false;
};

}  // namespace strata::ui
