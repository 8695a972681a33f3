#include <QtTest>

#include "runtime/ResidencyPlan.h"

using namespace strata;

namespace {
WeightLayout layoutOf(std::vector<uint64_t> sizes) {
    WeightLayout l;
    for (uint64_t s : sizes) {
        WeightUnit u;
        u.bytes = s;
        l.units.push_back(u);
    }
    return l;
}
}  // namespace

class TestResidencyPlan : public QObject {
    Q_OBJECT
private slots:
    void everythingFits() {
        auto p = planResidency(layoutOf({10, 10, 10, 30}), 60);
        QVERIFY(p.ok());
        QCOMPARE(p->streamSlots, 0);
        QCOMPARE(p->residentBytes, uint64_t(60));
    }
    void noBudgetMeansResident() {
        auto p = planResidency(layoutOf({10, 10, 10, 30}), 0);
        QVERIFY(p.ok());
        QCOMPARE(p->streamedBytesPerPass, uint64_t(0));
    }
    void bigHeadKeptResidentWhenThatStreamsLess() {
        // 4 layers of 10 and a head of 30, budget 55: keeping the head and streaming layers
        // through two slots of 10 (30 + 20 = 50, one more layer does not fit) streams 40; streaming the
        // head instead needs slots of 30 (60 > 55). The plan must pick the first.
        auto p = planResidency(layoutOf({10, 10, 10, 10, 30}), 55);
        QVERIFY(p.ok());
        QCOMPARE(p->units[4], Residency::Ram);
        QCOMPARE(p->slotBytes, uint64_t(10));
        QVERIFY(p->ramBytes() <= 55);
        QCOMPARE(p->streamedBytesPerPass, uint64_t(40));
    }
    void budgetRespected() {
        for (uint64_t budget = 20; budget < 200; budget += 7) {
            auto p = planResidency(layoutOf({12, 12, 12, 12, 12, 40}), budget);
            if (!p.ok()) {
                // Infeasible only when neither the head plus two layer slots nor two head slots fit.
                QVERIFY(budget < 40 + 2 * 12);
                continue;
            }
            QVERIFY(p->ramBytes() <= budget);
        }
    }
    void tooSmall() {
        auto p = planResidency(layoutOf({10, 10, 30}), 15);
        QVERIFY(!p.ok());
        QCOMPARE(p.error().kind, ErrorKind::BadInput);
        QVERIFY(p.error().message.find("too small") != std::string::npos);
    }
    void byteSizes() {
        QCOMPARE(parseByteSize("512MiB").value(), uint64_t(512) << 20);
        QCOMPARE(parseByteSize("2G").value(), uint64_t(2) << 30);
        QCOMPARE(parseByteSize("1.5GiB").value(), uint64_t(3) << 29);
        QCOMPARE(parseByteSize("1000").value(), uint64_t(1000));
        QVERIFY(!parseByteSize("lots").ok());
        QVERIFY(!parseByteSize("5 parsecs").ok());
        QVERIFY(!parseByteSize("").ok());
    }
};

QTEST_GUILESS_MAIN(TestResidencyPlan)
#include "test_residency_plan.moc"
