// The device pool's bookkeeping over a made-up address range: nothing is dereferenced, so no
// device is needed.
#include <QtTest>

#include <algorithm>
#include <random>
#include <vector>

#include "runtime/PoolAllocator.h"

using namespace strata;

namespace {
constexpr uintptr_t kBase = uintptr_t(1) << 40;  // aligned, far from any real host pointer
constexpr uint64_t kA = PoolAllocator::kAlignment;

QString text(const Error& e) { return QString::fromStdString(e.message); }
}  // namespace

class TestPoolAllocator : public QObject {
    Q_OBJECT

private slots:
    void alignsAndRounds() {
        PoolAllocator pool(kBase, 64 * kA);
        QCOMPARE(pool.capacity(), 64 * kA);
        for (uint64_t bytes : {uint64_t(1), uint64_t(255), uint64_t(256), uint64_t(257), uint64_t(1000), uint64_t(0)}) {
            auto p = pool.allocate(bytes);
            QVERIFY2(p.ok(), qPrintable(p.ok() ? QString() : text(p.error())));
            QCOMPARE(*p % kA, uint64_t(0));
            QVERIFY(pool.contains(*p));
        }
        // 1, 255, 256 take one unit each; 257 two; 1000 four; 0 one.
        QCOMPARE(pool.usedBytes(), 10 * kA);
        QCOMPARE(pool.allocationCount(), size_t(6));
        QCOMPARE(PoolAllocator::roundedSize(0), kA);
        QCOMPARE(PoolAllocator::roundedSize(257), 2 * kA);
    }

    void misalignedBaseLosesItsHead() {
        PoolAllocator pool(kBase + 8, 10 * kA);
        QCOMPARE(pool.base(), kBase + kA);
        QCOMPARE(pool.capacity(), 9 * kA);
        auto p = pool.allocate(9 * kA);
        QVERIFY(p.ok());
        QCOMPARE(*p, kBase + kA);
        QVERIFY(!pool.allocate(1).ok());

        PoolAllocator tiny(kBase + 8, 100);
        QCOMPARE(tiny.capacity(), uint64_t(0));
        QVERIFY(!tiny.allocate(1).ok());
    }

    void firstFitAndReuse() {
        PoolAllocator pool(kBase, 16 * kA);
        auto a = pool.allocate(4 * kA), b = pool.allocate(4 * kA), c = pool.allocate(4 * kA);
        QVERIFY(a.ok() && b.ok() && c.ok());
        QCOMPARE(*a, kBase);
        QCOMPARE(*b, kBase + 4 * kA);
        QCOMPARE(*c, kBase + 8 * kA);
        QVERIFY(pool.release(*b).ok());
        // A smaller request lands in the hole that b left, the first one that fits.
        auto d = pool.allocate(2 * kA);
        QVERIFY(d.ok());
        QCOMPARE(*d, *b);
        auto e = pool.allocate(2 * kA);
        QVERIFY(e.ok());
        QCOMPARE(*e, *b + 2 * kA);
        auto f = pool.allocate(4 * kA);
        QVERIFY(f.ok());
        QCOMPARE(*f, kBase + 12 * kA);
        QCOMPARE(pool.freeBytes(), uint64_t(0));
    }

    void releaseMergesNeighbours() {
        PoolAllocator pool(kBase, 12 * kA);
        std::vector<uintptr_t> p;
        for (int i = 0; i < 3; ++i) {
            auto a = pool.allocate(4 * kA);
            QVERIFY(a.ok());
            p.push_back(*a);
        }
        // Free the ends, then the middle: the three must become one block again.
        QVERIFY(pool.release(p[0]).ok());
        QVERIFY(pool.release(p[2]).ok());
        QCOMPARE(pool.largestFreeBlock(), 4 * kA);
        QVERIFY(pool.release(p[1]).ok());
        QCOMPARE(pool.largestFreeBlock(), 12 * kA);
        QCOMPARE(pool.usedBytes(), uint64_t(0));
        QCOMPARE(pool.allocationCount(), size_t(0));
        auto all = pool.allocate(12 * kA);
        QVERIFY(all.ok());
        QCOMPARE(*all, kBase);
    }

    void badReleases() {
        PoolAllocator pool(kBase, 8 * kA);
        auto a = pool.allocate(2 * kA);
        QVERIFY(a.ok());
        Status s = pool.release(0);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().kind, ErrorKind::Internal);
        s = pool.release(*a + kA);  // inside the block, not its start
        QVERIFY(!s.ok());
        QVERIFY2(text(s.error()).contains("not the start of an allocation"), qPrintable(text(s.error())));
        s = pool.release(kBase + 100 * kA);
        QVERIFY(!s.ok());
        QVERIFY(pool.release(*a).ok());
        s = pool.release(*a);
        QVERIFY(!s.ok());
        QVERIFY2(text(s.error()).contains("already free"), qPrintable(text(s.error())));
        QCOMPARE(pool.usedBytes(), uint64_t(0));
        QCOMPARE(pool.largestFreeBlock(), 8 * kA);
    }

    void exhaustionMessage() {
        PoolAllocator pool(kBase, uint64_t(1) << 20);  // 1 MiB
        auto big = pool.allocate((uint64_t(1) << 20) - 4 * kA);
        QVERIFY(big.ok());
        auto r = pool.allocate(5 * kA, "layer 3 weights");
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, ErrorKind::BadInput);
        const QString m = text(r.error());
        QVERIFY2(m.startsWith("the VRAM budget of 1.00 MiB is exhausted: 1280 bytes requested for layer 3 weights, "
                              "1024 free"),
                 qPrintable(m));
        QVERIFY2(m.contains("raise --vram-budget"), qPrintable(m));
        QVERIFY2(!m.contains("fragmented"), qPrintable(m));

        // Requests larger than the whole range and near 2^64 must fail cleanly, not wrap around.
        QVERIFY(!pool.allocate(uint64_t(1) << 21).ok());
        QVERIFY(!pool.allocate(UINT64_MAX).ok());
        QVERIFY(!pool.allocate(UINT64_MAX - 10).ok());

        PoolAllocator custom(kBase, 4 * kA, "pinned RAM", "lower --ram-budget");
        QVERIFY(custom.allocate(4 * kA).ok());
        r = custom.allocate(1);
        QVERIFY(!r.ok());
        QVERIFY2(text(r.error()).startsWith("the pinned RAM budget of 1.00 KiB is exhausted: 1 bytes requested, 0 free"),
                 qPrintable(text(r.error())));
        QVERIFY2(text(r.error()).endsWith("; lower --ram-budget"), qPrintable(text(r.error())));
    }

    void exhaustionByFragmentationSaysSo() {
        PoolAllocator pool(kBase, 8 * kA);
        std::vector<uintptr_t> p;
        for (int i = 0; i < 8; ++i) p.push_back(*pool.allocate(kA));
        for (int i = 0; i < 8; i += 2) QVERIFY(pool.release(p[size_t(i)]).ok());
        QCOMPARE(pool.freeBytes(), 4 * kA);
        auto r = pool.allocate(2 * kA);
        QVERIFY(!r.ok());
        QVERIFY2(text(r.error()).contains("fragmented (largest free block 256 bytes)"), qPrintable(text(r.error())));
    }

    void peakAndReset() {
        PoolAllocator pool(kBase, 32 * kA);
        auto a = pool.allocate(10 * kA), b = pool.allocate(6 * kA);
        QVERIFY(a.ok() && b.ok());
        QCOMPARE(pool.peakBytes(), 16 * kA);
        QVERIFY(pool.release(*a).ok());
        QCOMPARE(pool.usedBytes(), 6 * kA);
        QCOMPARE(pool.peakBytes(), 16 * kA);
        pool.resetPeak();
        QCOMPARE(pool.peakBytes(), 6 * kA);
        pool.reset();
        QCOMPARE(pool.usedBytes(), uint64_t(0));
        QCOMPARE(pool.allocationCount(), size_t(0));
        QCOMPARE(pool.peakBytes(), 6 * kA);
        auto c = pool.allocate(32 * kA);
        QVERIFY(c.ok());
        QCOMPARE(*c, kBase);
        QCOMPARE(pool.peakBytes(), 32 * kA);
    }

    // Random allocate/release against a shadow list: no two live blocks overlap, all stay inside
    // the range, and the counters agree with the shadow.
    void randomWorkloadKeepsInvariants() {
        const uint64_t capacity = 1024 * kA;
        PoolAllocator pool(kBase, capacity);
        std::mt19937 rng(12345);
        struct Live {
            uintptr_t at;
            uint64_t size;
        };
        std::vector<Live> live;
        uint64_t used = 0;
        for (int step = 0; step < 20000; ++step) {
            if (live.empty() || rng() % 3 != 0) {
                const uint64_t bytes = rng() % (40 * kA);
                auto p = pool.allocate(bytes);
                if (!p.ok()) {
                    QVERIFY(pool.largestFreeBlock() < PoolAllocator::roundedSize(bytes));
                    continue;
                }
                const uint64_t size = PoolAllocator::roundedSize(bytes);
                QCOMPARE(*p % kA, uint64_t(0));
                QVERIFY(*p >= kBase && *p + size <= kBase + capacity);
                for (const Live& l : live) QVERIFY(*p + size <= l.at || l.at + l.size <= *p);
                live.push_back({*p, size});
                used += size;
            } else {
                const size_t i = rng() % live.size();
                QVERIFY(pool.release(live[i].at).ok());
                used -= live[i].size;
                live.erase(live.begin() + long(i));
            }
            QCOMPARE(pool.usedBytes(), used);
            QCOMPARE(pool.allocationCount(), live.size());
        }
        for (const Live& l : live) QVERIFY(pool.release(l.at).ok());
        QCOMPARE(pool.largestFreeBlock(), capacity);
    }
};

QTEST_GUILESS_MAIN(TestPoolAllocator)
#include "test_pool_allocator.moc"
