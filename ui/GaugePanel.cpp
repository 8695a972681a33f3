#include "GaugePanel.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QProgressBar>
#include <QStringList>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace strata::ui {

namespace {

// Progress bars hold ints, and byte counts do not fit: every gauge runs in thousandths.
constexpr int gaugeScale = 1000;

int permille(double part, double whole) {
    if (!(whole > 0)) return 0;
    return int(std::clamp(part / whole, 0.0, 1.0) * gaugeScale + 0.5);
}

QString dash() { return QStringLiteral("—"); }

QString formatTokenRate(double tokensPerSecond) {
    if (!(tokensPerSecond > 0) || !std::isfinite(tokensPerSecond)) return dash();
    return QStringLiteral("%1 tok/s").arg(tokensPerSecond, 0, 'f', tokensPerSecond < 100 ? 1 : 0);
}

QLabel* makeLabel(const char* objectName, const QString& toolTip, QWidget* parent) {
    auto* label = new QLabel(dash(), parent);
    label->setObjectName(QString::fromLatin1(objectName));
    label->setToolTip(toolTip);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

QProgressBar* makeGauge(const char* objectName, const QString& toolTip, QWidget* parent) {
    auto* bar = new QProgressBar(parent);
    bar->setObjectName(QString::fromLatin1(objectName));
    bar->setToolTip(toolTip);
    bar->setRange(0, gaugeScale);
    bar->setValue(0);
    bar->setTextVisible(true);
    return bar;
}

}  // namespace

QString GaugePanel::formatBytes(uint64_t bytes) {
    const double b = double(bytes);
    if (bytes < 1024) return QStringLiteral("%1 B").arg(bytes);
    if (bytes < (uint64_t(1) << 20)) return QStringLiteral("%1 KiB").arg(b / 1024.0, 0, 'f', 0);
    if (bytes < (uint64_t(1) << 30)) return QStringLiteral("%1 MiB").arg(b / double(1 << 20), 0, 'f', 0);
    if (bytes < (uint64_t(1) << 40)) return QStringLiteral("%1 GiB").arg(b / double(1 << 30), 0, 'f', 1);
    return QStringLiteral("%1 TiB").arg(b / double(uint64_t(1) << 40), 0, 'f', 2);
}

QString GaugePanel::formatBytesPerSecond(double bytesPerSecond) {
    if (!std::isfinite(bytesPerSecond) || bytesPerSecond < 0) bytesPerSecond = 0;
    const double mb = bytesPerSecond / 1e6;  // drive makers' MB/s, the unit their specifications use
    return QStringLiteral("%1 MB/s").arg(mb, 0, 'f', mb < 10 ? 2 : 1);
}

QString GaugePanel::formatDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return dash();
    const qint64 total = qint64(std::llround(seconds));
    const qint64 h = total / 3600, m = (total / 60) % 60, s = total % 60;
    return QStringLiteral("%1:%2:%3").arg(h).arg(m, 2, 10, QLatin1Char('0')).arg(s, 2, 10, QLatin1Char('0'));
}

GaugePanel::GaugePanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("gaugePanel"));

    auto* memory = new QGroupBox(tr("Memory"), this);
    vramGauge_ = makeGauge("vramGauge", tr("GPU memory in use on the whole device, against Strata's budget"), memory);
    vramLabel_ = makeLabel("vramLabel", tr("The GPU and its memory"), memory);
    ramGauge_ = makeGauge("ramGauge", tr("System RAM in use (total less available)"), memory);
    ramLabel_ = makeLabel("ramLabel", tr("System RAM in use and installed"), memory);
    rssLabel_ = makeLabel("rssLabel", tr("RAM held by Strata itself (resident set)"), memory);
    auto* memoryForm = new QFormLayout(memory);
    memoryForm->addRow(tr("VRAM"), vramGauge_);
    memoryForm->addRow(QString(), vramLabel_);
    memoryForm->addRow(tr("RAM"), ramGauge_);
    memoryForm->addRow(QString(), ramLabel_);
    memoryForm->addRow(tr("Strata"), rssLabel_);

    auto* disk = new QGroupBox(tr("Disk"), this);
    diskReadLabel_ = makeLabel("diskReadLabel", tr("Reads from the drives holding the model and the session"), disk);
    diskWriteLabel_ = makeLabel("diskWriteLabel", tr("Writes to the drives holding the model and the session"), disk);
    wearLabel_ = makeLabel("wearLabel", tr("Bytes written to those drives since Strata started: what wears an SSD"), disk);
    temperatureLabel_ = makeLabel("temperatureLabel", tr("Hottest of those drives, where the drive reports it"), disk);
    auto* diskForm = new QFormLayout(disk);
    diskForm->addRow(tr("Read"), diskReadLabel_);
    diskForm->addRow(tr("Write"), diskWriteLabel_);
    diskForm->addRow(tr("Written"), wearLabel_);
    diskForm->addRow(tr("Temperature"), temperatureLabel_);

    auto* job = new QGroupBox(tr("Job"), this);
    prefillRateLabel_ = makeLabel("prefillRateLabel", tr("Prompt tokens processed per second"), job);
    decodeRateLabel_ = makeLabel("decodeRateLabel", tr("Answer tokens generated per second"), job);
    jobProgress_ = makeGauge("jobProgress", tr("Progress of the running job"), job);
    etaLabel_ = makeLabel("etaLabel", tr("Estimated time until the job finishes (h:mm:ss)"), job);
    auto* jobForm = new QFormLayout(job);
    jobForm->addRow(tr("Prefill"), prefillRateLabel_);
    jobForm->addRow(tr("Decode"), decodeRateLabel_);
    jobForm->addRow(tr("Progress"), jobProgress_);
    jobForm->addRow(tr("Remaining"), etaLabel_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(memory);
    layout->addWidget(disk);
    layout->addWidget(job);
    layout->addStretch(1);

    showVram();
    ramGauge_->setFormat(dash());
    clearProgress();
}

void GaugePanel::showTelemetry(const strata::TelemetrySnapshot& s) {
    last_ = s;
    haveSnapshot_ = true;
    showVram();

    const uint64_t ramUsed = s.ramTotal > s.ramAvailable ? s.ramTotal - s.ramAvailable : 0;
    ramGauge_->setValue(permille(double(ramUsed), double(s.ramTotal)));
    ramGauge_->setFormat(s.ramTotal ? tr("%1 of %2").arg(formatBytes(ramUsed), formatBytes(s.ramTotal)) : dash());
    ramLabel_->setText(s.ramTotal ? tr("%1 used, %2 available of %3")
                                        .arg(formatBytes(ramUsed), formatBytes(s.ramAvailable), formatBytes(s.ramTotal))
                                  : tr("RAM figures unavailable"));
    rssLabel_->setText(s.processRss ? formatBytes(s.processRss) : dash());

    QStringList devices;
    for (const std::string& d : s.devices) devices << QString::fromStdString(d);
    const QString on = devices.isEmpty() ? tr("no drive watched") : devices.join(QStringLiteral(", "));
    diskReadLabel_->setText(tr("%1 · %2").arg(formatBytesPerSecond(s.diskReadBytesPerSecond), on));
    diskWriteLabel_->setText(tr("%1 · %2").arg(formatBytesPerSecond(s.diskWriteBytesPerSecond), on));
    wearLabel_->setText(tr("%1 this session").arg(formatBytes(s.diskBytesWrittenSinceStart)));
    temperatureLabel_->setText(std::isnan(s.driveTemperatureC)
                                   ? dash()
                                   : QStringLiteral("%1 °C").arg(s.driveTemperatureC, 0, 'f', 0));
}

void GaugePanel::setVramBudget(uint64_t bytes) {
    vramBudget_ = bytes;
    showVram();
}

void GaugePanel::showVram() {
    if (!haveSnapshot_ || !last_.gpuPresent) {
        vramGauge_->setEnabled(false);
        vramGauge_->setValue(0);
        vramGauge_->setFormat(tr("No GPU"));
        vramLabel_->setText(haveSnapshot_ ? tr("No GPU: running on the CPU") : dash());
        return;
    }
    vramGauge_->setEnabled(true);
    const QString name = last_.gpuName.empty() ? tr("GPU") : QString::fromStdString(last_.gpuName);
    if (vramBudget_ > 0) {
        vramGauge_->setValue(permille(double(last_.vramUsed), double(vramBudget_)));
        vramGauge_->setFormat(tr("%1 of %2 budget").arg(formatBytes(last_.vramUsed), formatBytes(vramBudget_)));
        QString text = tr("%1: %2 used of %3, budget %4")
                           .arg(name, formatBytes(last_.vramUsed), formatBytes(last_.vramTotal), formatBytes(vramBudget_));
        if (last_.vramUsed > vramBudget_) text += tr(" (over budget)");
        vramLabel_->setText(text);
    } else {
        vramGauge_->setValue(permille(double(last_.vramUsed), double(last_.vramTotal)));
        vramGauge_->setFormat(tr("%1 of %2").arg(formatBytes(last_.vramUsed), formatBytes(last_.vramTotal)));
        vramLabel_->setText(tr("%1: %2 used of %3").arg(name, formatBytes(last_.vramUsed), formatBytes(last_.vramTotal)));
    }
}

void GaugePanel::showProgress(const QString& phase, qint64 done, qint64 total, double tokensPerSecond,
                              double etaSeconds) {
    if (phase.contains(QLatin1String("prefill"), Qt::CaseInsensitive)) showTokenRate(true, tokensPerSecond);
    else if (phase.contains(QLatin1String("decode"), Qt::CaseInsensitive)) showTokenRate(false, tokensPerSecond);

    jobProgress_->setEnabled(true);
    if (total > 0) {
        const qint64 clamped = std::clamp<qint64>(done, 0, total);
        jobProgress_->setRange(0, gaugeScale);
        jobProgress_->setValue(permille(double(clamped), double(total)));
        jobProgress_->setFormat(tr("%1: %2 / %3 (%4%)")
                                    .arg(phase)
                                    .arg(done)
                                    .arg(total)
                                    .arg(100.0 * double(clamped) / double(total), 0, 'f', 1));
    } else {
        // Unknown total: a busy bar rather than a made-up percentage.
        jobProgress_->setRange(0, 0);
        jobProgress_->setFormat(tr("%1: %2").arg(phase).arg(done));
    }
    etaLabel_->setText(etaSeconds < 0 || !std::isfinite(etaSeconds) ? tr("unknown")
                                                                    : tr("%1 left").arg(formatDuration(etaSeconds)));
}

void GaugePanel::showTokenRate(bool prefill, double tokensPerSecond) {
    (prefill ? prefillRateLabel_ : decodeRateLabel_)->setText(formatTokenRate(tokensPerSecond));
}

void GaugePanel::clearProgress() {
    jobProgress_->setRange(0, gaugeScale);
    jobProgress_->setValue(0);
    jobProgress_->setFormat(tr("No job running"));
    jobProgress_->setEnabled(false);
    etaLabel_->setText(dash());
    prefillRateLabel_->setText(dash());
    decodeRateLabel_->setText(dash());
}

}  // namespace strata::ui
