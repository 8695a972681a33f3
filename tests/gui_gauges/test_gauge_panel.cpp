// GaugePanel shows what it is given, in human units; HistoryChart stays bounded and draws.
#include <QComboBox>
#include <QLabel>
#include <QProgressBar>
#include <QtTest>

#include <cmath>

#include "GaugePanel.h"
#include "HistoryChart.h"

using strata::TelemetrySnapshot;
using strata::ui::GaugePanel;
using strata::ui::HistoryChart;

namespace {

constexpr uint64_t GiB = uint64_t(1) << 30;
constexpr uint64_t MiB = uint64_t(1) << 20;

TelemetrySnapshot gpuSnapshot() {
    TelemetrySnapshot s;
    s.seconds = 12;
    s.ramTotal = 32 * GiB;
    s.ramAvailable = 20 * GiB;
    s.processRss = 1536 * MiB;
    s.gpuPresent = true;
    s.gpuName = "Test GPU";
    s.vramTotal = 24 * GiB;
    s.vramUsed = 6 * GiB;
    s.diskReadBytesPerSecond = 2.5e9;
    s.diskWriteBytesPerSecond = 125.5e6;
    s.diskBytesWrittenSinceStart = 3 * GiB;
    s.driveTemperatureC = 47.0;
    s.devices = {"nvme0n1", "sda"};
    return s;
}

}  // namespace

class TestGaugePanel : public QObject {
    Q_OBJECT

    template <typename T>
    static T* child(QWidget& parent, const char* name) {
        T* w = parent.findChild<T*>(QString::fromLatin1(name));
        if (!w) qFatal("no child named %s", name);
        return w;
    }
    static QString text(QWidget& parent, const char* name) { return child<QLabel>(parent, name)->text(); }

private slots:
    void formatsHumanUnits() {
        QCOMPARE(GaugePanel::formatBytes(512), QStringLiteral("512 B"));
        QCOMPARE(GaugePanel::formatBytes(300 * MiB), QStringLiteral("300 MiB"));
        QCOMPARE(GaugePanel::formatBytes(3 * GiB + GiB / 2), QStringLiteral("3.5 GiB"));
        QCOMPARE(GaugePanel::formatBytesPerSecond(125.5e6), QStringLiteral("125.5 MB/s"));
        QCOMPARE(GaugePanel::formatDuration(3723), QStringLiteral("1:02:03"));
        QCOMPARE(GaugePanel::formatDuration(59.6), QStringLiteral("0:01:00"));
        QCOMPARE(GaugePanel::formatDuration(-1), QStringLiteral("—"));
    }

    void everyGaugeHasItsName() {
        GaugePanel panel;
        for (const char* name : {"vramGauge", "ramGauge", "jobProgress"}) QVERIFY(panel.findChild<QProgressBar*>(name));
        for (const char* name : {"vramLabel", "ramLabel", "rssLabel", "diskReadLabel", "diskWriteLabel", "wearLabel",
                                 "temperatureLabel", "prefillRateLabel", "decodeRateLabel", "etaLabel"}) {
            QLabel* label = panel.findChild<QLabel*>(name);
            QVERIFY2(label, name);
            QVERIFY2(!label->toolTip().isEmpty(), name);
        }
    }

    void showsTelemetry() {
        GaugePanel panel;
        panel.showTelemetry(gpuSnapshot());

        auto* vram = child<QProgressBar>(panel, "vramGauge");
        QVERIFY(vram->isEnabled());
        QCOMPARE(vram->value(), vram->maximum() / 4);  // 6 of 24 GiB
        QVERIFY(vram->text().contains("6.0 GiB"));
        QVERIFY(text(panel, "vramLabel").contains("Test GPU"));
        QVERIFY(text(panel, "vramLabel").contains("24.0 GiB"));

        auto* ram = child<QProgressBar>(panel, "ramGauge");
        QCOMPARE(ram->value(), ram->maximum() * 12 / 32);
        QVERIFY(ram->text().contains("12.0 GiB"));
        QVERIFY(text(panel, "ramLabel").contains("32.0 GiB"));
        QVERIFY(text(panel, "rssLabel").contains("1.5 GiB"));

        QVERIFY(text(panel, "diskReadLabel").contains("2500.0 MB/s"));
        QVERIFY(text(panel, "diskReadLabel").contains("nvme0n1"));
        QVERIFY(text(panel, "diskWriteLabel").contains("125.5 MB/s"));
        QVERIFY(text(panel, "diskWriteLabel").contains("sda"));
        QVERIFY(text(panel, "wearLabel").contains("3.0 GiB"));
        QVERIFY(text(panel, "temperatureLabel").contains("47"));

        // A budget changes what the VRAM gauge measures against, without a new sample.
        panel.setVramBudget(8 * GiB);
        QCOMPARE(vram->value(), vram->maximum() * 6 / 8);
        QVERIFY(vram->text().contains("8.0 GiB"));
        panel.setVramBudget(4 * GiB);
        QCOMPARE(vram->value(), vram->maximum());
        QVERIFY(text(panel, "vramLabel").contains("over budget"));
        panel.setVramBudget(0);
        QCOMPARE(vram->value(), vram->maximum() / 4);
    }

    void noGpuAndUnknownTemperature() {
        GaugePanel panel;
        TelemetrySnapshot s = gpuSnapshot();
        s.gpuPresent = false;
        s.gpuName.clear();
        s.vramTotal = s.vramUsed = 0;
        s.driveTemperatureC = std::nan("");
        s.devices.clear();
        panel.showTelemetry(s);
        QVERIFY(text(panel, "vramLabel").contains("No GPU: running on the CPU"));
        QVERIFY(!child<QProgressBar>(panel, "vramGauge")->isEnabled());
        QCOMPARE(text(panel, "temperatureLabel"), QStringLiteral("—"));
        QVERIFY(text(panel, "diskReadLabel").contains("no drive watched"));
    }

    void showsProgressAndEta() {
        GaugePanel panel;
        auto* bar = child<QProgressBar>(panel, "jobProgress");
        QVERIFY(!bar->isEnabled());
        QVERIFY(bar->text().contains("No job"));

        panel.showProgress("prefill", 2500, 10000, 812.0, 3723);
        QVERIFY(bar->isEnabled());
        QCOMPARE(bar->value(), bar->maximum() / 4);
        QVERIFY(bar->text().contains("2500"));
        QVERIFY(bar->text().contains("25.0%"));
        QVERIFY(text(panel, "etaLabel").contains("1:02:03"));
        QVERIFY(text(panel, "prefillRateLabel").contains("812"));
        QCOMPARE(text(panel, "decodeRateLabel"), QStringLiteral("—"));

        panel.showProgress("decode", 40, 200, 7.4, -1);
        QVERIFY(text(panel, "decodeRateLabel").contains("7.4 tok/s"));
        QVERIFY(text(panel, "prefillRateLabel").contains("812"));
        QVERIFY(text(panel, "etaLabel").contains("unknown"));
        QCOMPARE(bar->value(), bar->maximum() / 5);

        // Totals beyond an int still give a sensible bar.
        panel.showProgress("prefill", qint64(3) << 40, qint64(4) << 40, 100, 10);
        QCOMPARE(bar->value(), bar->maximum() * 3 / 4);

        panel.clearProgress();
        QCOMPARE(bar->value(), 0);
        QVERIFY(bar->text().contains("No job"));
        QCOMPARE(text(panel, "etaLabel"), QStringLiteral("—"));
    }

    void historyStaysBoundedAndDraws() {
        HistoryChart chart;
        chart.resize(640, 360);
        QCOMPARE(chart.seriesIds().size(), 6);
        const int n = 100000;
        TelemetrySnapshot s = gpuSnapshot();
        for (int i = 0; i < n; ++i) {
            s.seconds = i * 0.25;  // a sample four times a second: almost seven hours
            s.ramAvailable = 20 * GiB - uint64_t(i % 100) * MiB;
            s.vramUsed = 6 * GiB + uint64_t(i % 50) * MiB;
            s.diskReadBytesPerSecond = 1e9 + (i % 1000) * 1e6;
            s.diskWriteBytesPerSecond = (i % 10) * 1e6;
            chart.addTelemetry(s);
            chart.addTokenRate(true, s.seconds, 800 + i % 30);
            chart.addTokenRate(false, s.seconds, 8 + i % 3);
        }
        for (const QString& id : chart.seriesIds()) {
            const int count = chart.pointCount(id);
            QVERIFY2(count > 0 && count <= 512, qPrintable(QStringLiteral("%1: %2").arg(id).arg(count)));
        }
        QCOMPARE(chart.pointCount("no such series"), -1);

        chart.selectSeries(HistoryChart::diskReadSeries);
        QCOMPARE(chart.selectedSeries(), HistoryChart::diskReadSeries);
        chart.refresh();
        QVERIFY(chart.drawnPointCount() > 0);
        QVERIFY(chart.drawnPointCount() <= 512);
        QVERIFY(!chart.grab().isNull());

        // The redraw timer catches up with new values on its own.
        chart.selectSeries(HistoryChart::decodeSeries);
        const int before = chart.drawnPointCount();
        chart.clear();
        QCOMPARE(chart.drawnPointCount(), 0);
        chart.addTokenRate(false, 1, 9);
        chart.addTokenRate(false, 2, 10);
        QTRY_COMPARE_WITH_TIMEOUT(chart.drawnPointCount(), 2, 3000);
        QVERIFY(before > 2);
        QCOMPARE(chart.pointCount(HistoryChart::ramSeries), 0);
    }
};

QTEST_MAIN(TestGaugePanel)
#include "test_gauge_panel.moc"
