#include "HistoryChart.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QPen>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace strata::ui {

namespace {
constexpr int redrawIntervalMs = 1000;
constexpr double bytesPerGiB = double(uint64_t(1) << 30);

// The elapsed-time axis in seconds for short runs, minutes for an afternoon, hours overnight.
struct TimeUnit {
    double seconds;
    const char* name;
};
TimeUnit timeUnitFor(double lastSeconds) {
    if (lastSeconds <= 180) return {1, "s"};
    if (lastSeconds <= 3 * 3600) return {60, "min"};
    return {3600, "h"};
}
// 1, 2 or 5 times a power of ten, at least rough.
double niceStep(double rough) {
    if (!(rough > 0)) return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    for (double m : {1.0, 2.0, 5.0})
        if (m * magnitude >= rough) return m * magnitude;
    return 10 * magnitude;
}
}  // namespace

HistoryChart::HistoryChart(QWidget* parent, size_t maxPointsPerSeries) : QWidget(parent) {
    setObjectName(QStringLiteral("historyChart"));
    auto addSeries = [&](const QString& id, const QString& title, const QString& unit) {
        indexOf_.insert(id, int(series_.size()));
        series_.append(Series{id, title, unit, MetricHistory(maxPointsPerSeries)});
    };
    addSeries(ramSeries, tr("RAM used"), tr("GiB"));
    addSeries(vramSeries, tr("VRAM used"), tr("GiB"));
    addSeries(diskReadSeries, tr("Disk read"), tr("MB/s"));
    addSeries(diskWriteSeries, tr("Disk write"), tr("MB/s"));
    addSeries(prefillSeries, tr("Prefill"), tr("tok/s"));
    addSeries(decodeSeries, tr("Decode"), tr("tok/s"));

    selector_ = new QComboBox(this);
    selector_->setObjectName(QStringLiteral("seriesSelector"));
    selector_->setToolTip(tr("Which measurement the chart shows"));
    for (const Series& s : series_) selector_->addItem(QStringLiteral("%1 (%2)").arg(s.title, s.unit), s.id);
    auto* selectorLabel = new QLabel(tr("&Show:"), this);
    selectorLabel->setBuddy(selector_);

    chart_ = new QChart();
    chart_->legend()->hide();
    chart_->setMargins(QMargins(4, 4, 4, 4));
    mean_ = new QLineSeries(this);
    mean_->setName(tr("mean"));
    upper_ = new QLineSeries(this);
    lower_ = new QLineSeries(this);
    band_ = new QAreaSeries(upper_, lower_);
    band_->setName(tr("min to max"));
    QColor bandColor = palette().color(QPalette::Highlight);
    bandColor.setAlpha(60);
    band_->setBrush(bandColor);
    band_->setPen(Qt::NoPen);
    QPen meanPen(palette().color(QPalette::Highlight));
    meanPen.setWidthF(1.5);
    mean_->setPen(meanPen);
    chart_->addSeries(band_);
    chart_->addSeries(mean_);
    xAxis_ = new QValueAxis();
    yAxis_ = new QValueAxis();
    xAxis_->setLabelFormat(QStringLiteral("%g"));
    yAxis_->setLabelFormat(QStringLiteral("%g"));
    xAxis_->setTickType(QValueAxis::TicksDynamic);
    xAxis_->setTickAnchor(0);
    chart_->addAxis(xAxis_, Qt::AlignBottom);
    chart_->addAxis(yAxis_, Qt::AlignLeft);
    for (QAbstractSeries* s : {static_cast<QAbstractSeries*>(band_), static_cast<QAbstractSeries*>(mean_)}) {
        s->attachAxis(xAxis_);
        s->attachAxis(yAxis_);
    }

    view_ = new QChartView(chart_, this);  // the view owns the chart
    view_->setObjectName(QStringLiteral("historyChartView"));
    view_->setRenderHint(QPainter::Antialiasing);
    view_->setToolTip(tr("Line: mean over each interval; band: lowest to highest"));
    view_->setMinimumHeight(160);

    auto* top = new QHBoxLayout();
    top->addWidget(selectorLabel);
    top->addWidget(selector_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(view_, 1);

    // Single-shot and started on the first new value: at most one redraw a second while data
    // arrives, and nothing at all while idle.
    redrawTimer_ = new QTimer(this);
    redrawTimer_->setSingleShot(true);
    redrawTimer_->setInterval(redrawIntervalMs);
    connect(redrawTimer_, &QTimer::timeout, this, &HistoryChart::refresh);
    connect(selector_, &QComboBox::currentIndexChanged, this, [this] {
        dirty_ = true;
        refresh();
    });

    dirty_ = true;
    refresh();
}

QStringList HistoryChart::seriesIds() const {
    QStringList ids;
    for (const Series& s : series_) ids << s.id;
    return ids;
}

QString HistoryChart::selectedSeries() const { return selector_->currentData().toString(); }

int HistoryChart::pointCount(const QString& series) const {
    const auto it = indexOf_.constFind(series);
    return it == indexOf_.constEnd() ? -1 : int(series_[*it].history.size());
}

int HistoryChart::drawnPointCount() const { return int(mean_->count()); }

void HistoryChart::add(const QString& id, double seconds, double value) {
    if (!std::isfinite(seconds) || !std::isfinite(value)) return;
    series_[indexOf_.value(id)].history.add(seconds, value);
    if (id == selectedSeries()) scheduleRedraw();
}

void HistoryChart::addTelemetry(const strata::TelemetrySnapshot& s) {
    const uint64_t ramUsed = s.ramTotal > s.ramAvailable ? s.ramTotal - s.ramAvailable : 0;
    if (s.ramTotal > 0) add(ramSeries, s.seconds, double(ramUsed) / bytesPerGiB);
    if (s.gpuPresent) add(vramSeries, s.seconds, double(s.vramUsed) / bytesPerGiB);
    add(diskReadSeries, s.seconds, s.diskReadBytesPerSecond / 1e6);
    add(diskWriteSeries, s.seconds, s.diskWriteBytesPerSecond / 1e6);
}

void HistoryChart::addTokenRate(bool prefill, double seconds, double tokensPerSecond) {
    add(prefill ? prefillSeries : decodeSeries, seconds, tokensPerSecond);
}

void HistoryChart::selectSeries(const QString& series) {
    const int index = selector_->findData(series);
    if (index >= 0) selector_->setCurrentIndex(index);
}

void HistoryChart::clear() {
    for (Series& s : series_) s.history.clear();
    dirty_ = true;
    refresh();
}

void HistoryChart::scheduleRedraw() {
    dirty_ = true;
    if (!redrawTimer_->isActive()) redrawTimer_->start();
}

void HistoryChart::refresh() {
    redrawTimer_->stop();
    if (!dirty_) return;
    dirty_ = false;

    const Series& s = series_[std::max(0, int(indexOf_.value(selectedSeries())))];
    const std::vector<MetricPoint> points = s.history.points();
    chart_->setTitle(points.empty() ? tr("%1: no data yet").arg(s.title) : s.title);
    yAxis_->setTitleText(s.unit);

    const TimeUnit unit = timeUnitFor(points.empty() ? 0 : points.back().seconds);
    xAxis_->setTitleText(tr("Elapsed (%1)").arg(QLatin1String(unit.name)));

    QList<QPointF> means, highs, lows;
    means.reserve(qsizetype(points.size()));
    highs.reserve(qsizetype(points.size()));
    lows.reserve(qsizetype(points.size()));
    double lo = 0, hi = 0;  // every series here is non-negative, so the y axis starts at zero
    for (const MetricPoint& p : points) {
        const double x = p.seconds / unit.seconds;
        means.append(QPointF(x, p.mean));
        highs.append(QPointF(x, p.max));
        lows.append(QPointF(x, p.min));
        lo = std::min(lo, p.min);
        hi = std::max(hi, p.max);
    }
    mean_->replace(means);
    upper_->replace(highs);
    lower_->replace(lows);

    const double x0 = 0;  // the start of the job
    double x1 = points.empty() ? 1 : points.back().seconds / unit.seconds;
    if (x1 <= x0) x1 = x0 + 1;
    xAxis_->setRange(x0, x1);
    if (hi <= lo) hi = lo + 1;
    yAxis_->setRange(lo, hi + (hi - lo) * 0.05);
    // Round tick values ("0, 50, 100") read at a glance; the odd ones of the raw range do not.
    // The time axis keeps its exact range, so the newest point stays at the right edge.
    xAxis_->setTickInterval(niceStep((x1 - x0) / 5));
    yAxis_->applyNiceNumbers();
}

}  // namespace strata::ui
