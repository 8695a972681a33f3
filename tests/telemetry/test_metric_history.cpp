// MetricHistory: bounded for any length of run, the whole time range covered, peaks and means kept.
#include <QtTest>

#include <cmath>

#include "telemetry/MetricHistory.h"

using strata::MetricHistory;
using strata::MetricPoint;

class TestMetricHistory : public QObject {
    Q_OBJECT
private slots:
    void emptyHistoryHasNoPoints() {
        MetricHistory h(8);
        QVERIFY(h.points().empty());
        QVERIFY(h.empty());
    }

    void keepsEverySampleUntilFull() {
        MetricHistory h(8);
        for (int i = 0; i < 8; ++i) h.add(i, i * 10.0);
        const auto pts = h.points();
        QCOMPARE(pts.size(), size_t(8));
        for (int i = 0; i < 8; ++i) {
            QCOMPARE(pts[i].seconds, double(i));
            QCOMPARE(pts[i].mean, i * 10.0);
            QCOMPARE(pts[i].min, i * 10.0);
            QCOMPARE(pts[i].max, i * 10.0);
        }
    }

    void mergesNeighboursPairwiseWhenFull() {
        MetricHistory h(4);
        for (int i = 0; i < 5; ++i) h.add(i, double(i));
        // Four singles merged into two pairs, then the fifth sample starts a third bucket.
        const auto pts = h.points();
        QCOMPARE(pts.size(), size_t(3));
        QCOMPARE(h.samplesPerBucket(), uint64_t(2));
        QCOMPARE(pts[0].mean, 0.5);
        QCOMPARE(pts[0].min, 0.0);
        QCOMPARE(pts[0].max, 1.0);
        QCOMPARE(pts[1].seconds, 2.5);
        QCOMPARE(pts[2].mean, 4.0);
    }

    void oddCapacityStaysBounded() {
        MetricHistory h(5);
        for (int i = 0; i < 10000; ++i) {
            h.add(i, double(i % 7));
            QVERIFY(h.size() <= 5);
        }
        QCOMPARE(h.samplesAdded(), uint64_t(10000));
    }

    void millionSamplesStayBoundedAndKeepShape() {
        const size_t maxPoints = 512;
        MetricHistory h(maxPoints);
        const int n = 1000000;
        // A linear ramp (value = 2t + 1) with one short spike up and one down in the middle.
        const int spikeUp = 654321, spikeDown = 123457;
        for (int i = 0; i < n; ++i) {
            double v = 2.0 * i + 1.0;
            if (i == spikeUp) v = 1e9;
            if (i == spikeDown) v = -1e9;
            h.add(double(i), v);
        }
        const std::vector<MetricPoint> pts = h.points();
        QVERIFY(pts.size() <= maxPoints);
        QVERIFY(pts.size() >= maxPoints / 2);

        // The whole range is covered: the first bucket starts at 0, the last ends at n-1.
        const double width = double(h.samplesPerBucket());
        QVERIFY(pts.front().seconds <= width);
        QVERIFY(pts.back().seconds >= n - 1 - width);
        QCOMPARE(pts.front().min, 1.0);
        QCOMPARE(pts.back().max, 2.0 * (n - 1) + 1.0);

        double globalMin = pts.front().min, globalMax = pts.front().max;
        for (size_t i = 0; i < pts.size(); ++i) {
            globalMin = std::min(globalMin, pts[i].min);
            globalMax = std::max(globalMax, pts[i].max);
            if (i > 0) QVERIFY(pts[i].seconds > pts[i - 1].seconds);
            QVERIFY(pts[i].min <= pts[i].mean && pts[i].mean <= pts[i].max);
        }
        QCOMPARE(globalMin, -1e9);
        QCOMPARE(globalMax, 1e9);

        // Away from the spikes, each bucket's mean is the ramp at the bucket's mean time.
        int checked = 0;
        for (const MetricPoint& p : pts) {
            if (p.max == 1e9 || p.min == -1e9) continue;
            QVERIFY2(std::abs(p.mean - (2.0 * p.seconds + 1.0)) < 1e-6 * std::abs(p.mean) + 1e-9,
                     qPrintable(QStringLiteral("mean %1 at %2").arg(p.mean).arg(p.seconds)));
            ++checked;
        }
        QVERIFY(checked >= int(pts.size()) - 2);
    }

    void clearStartsOver() {
        MetricHistory h(4);
        for (int i = 0; i < 100; ++i) h.add(i, i);
        h.clear();
        QVERIFY(h.empty());
        QCOMPARE(h.samplesPerBucket(), uint64_t(1));
        h.add(1, 5);
        QCOMPARE(h.points().size(), size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestMetricHistory)
#include "test_metric_history.moc"
