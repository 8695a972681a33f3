#include <QtTest>

#include <memory>

#include "kv/KvCache.h"
#include "model/TransformerModel.h"
#include "runtime/ResidencyPlan.h"
#include "core/ByteSize.h"

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

constexpr uint64_t MiB = uint64_t(1) << 20;
constexpr uint64_t GiB = uint64_t(1) << 30;
constexpr uint64_t kLayer = 218 * MiB;
constexpr uint64_t kRow = 8 * 1024;  // one bf16 row of 4096

// Llama-3.1-8B-like: 32 layers of 218 MiB, a 1 GiB head, a 1 GiB embedding table of bf16 rows of
// 4096 (the head is a separate tensor unless tied).
struct SyntheticModel {
    std::unique_ptr<TensorInfo> embedding = std::make_unique<TensorInfo>();
    std::unique_ptr<TensorInfo> lmHead = std::make_unique<TensorInfo>();
    WeightLayout layout;

    explicit SyntheticModel(bool tied = false) {
        embedding->name = "model.embed_tokens.weight";
        embedding->dtype = DType::BF16;
        embedding->shape = {131072, 4096};
        embedding->nbytes = GiB;
        *lmHead = *embedding;
        lmHead->name = "lm_head.weight";
        for (int i = 0; i < 32; ++i) {
            WeightUnit u;
            u.label = "layer " + std::to_string(i);
            u.bytes = kLayer;
            layout.units.push_back(u);
        }
        WeightUnit head;
        head.label = "head";
        head.bytes = GiB;
        head.tensors.push_back({WeightRole::LmHead, tied ? embedding.get() : lmHead.get(), 0});
        layout.units.push_back(head);
        layout.embedding = embedding.get();
    }
};

ResidencyOptions gpu(uint64_t vram, uint64_t ram, uint64_t reserve = 512 * MiB) {
    ResidencyOptions o;
    o.vramBudget = vram;
    o.ramBudget = ram;
    o.vramReserve = reserve;
    return o;
}

int count(const ResidencyPlan& p, Residency r, int from, int to) {
    int n = 0;
    for (int u = from; u < to; ++u) n += p.units[size_t(u)] == r;
    return n;
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
    // The CPU plan through the options overload matches the old call, and embedding rows are
    // always read from the checkpoint.
    void cpuPlanUnchanged() {
        const WeightLayout l = layoutOf({10, 10, 10, 10, 30});
        ResidencyOptions o;
        o.ramBudget = 55;
        auto a = planResidency(l, 55);
        auto b = planResidency(l, o);
        QVERIFY(a.ok() && b.ok());
        QCOMPARE(a->units, b->units);
        QCOMPARE(b->units, (std::vector<Residency>{Residency::Disk, Residency::Disk, Residency::Disk,
                                                   Residency::Disk, Residency::Ram}));
        QVERIFY(!b->deviceTier);
        QCOMPARE(b->vramBytes(), uint64_t(0));
        QCOMPARE(b->streamSlots, 2);

        SyntheticModel m;
        ResidencyOptions cpu;
        cpu.ramBudget = 4 * GiB;
        auto p = planResidency(m.layout, cpu);
        QVERIFY(p.ok());
        QCOMPARE(p->embedding, Residency::Disk);
        QCOMPARE(p->embeddingRowBytes, kRow);
        // Head resident, two layer slots, then 12 layers: 1024 + 436 + 12 * 218 = 4076 MiB.
        QCOMPARE(p->units[32], Residency::Ram);
        QCOMPARE(count(*p, Residency::Ram, 0, 12), 12);
        QCOMPARE(count(*p, Residency::Ram, 0, 32), 12);
        QCOMPARE(p->ramBytes(), 4076 * MiB);
        const TierBytes t = p->bytesPerToken();
        QCOMPARE(t.fromVram, uint64_t(0));
        QCOMPARE(t.hostToDevice, uint64_t(0));
        QCOMPARE(t.fromRam, GiB + 12 * kLayer);
        QCOMPARE(t.fromDisk, 20 * kLayer + kRow);
        QCOMPARE(p->bytesPerPass(100).fromDisk, 20 * kLayer + 100 * kRow);

        auto unlimited = planResidency(m.layout, ResidencyOptions{});
        QVERIFY(unlimited.ok());
        QCOMPARE(unlimited->bytesPerToken().fromRam, GiB + 32 * kLayer);
        QCOMPARE(unlimited->bytesPerToken().fromDisk, kRow);
        QCOMPARE(unlimited->ramBytes(), GiB + 32 * kLayer);
    }
    void cpuTooSmallNamesTheMinimum() {
        // The cheapest plan keeps the 30 head and streams 10s through two slots: 50.
        auto p = planResidency(layoutOf({10, 10, 30}), 15);
        QVERIFY(!p.ok());
        QVERIFY2(p.error().message.find("--ram-budget") != std::string::npos, p.error().message.c_str());
        QVERIFY2(p.error().message.find("use at least 50 B") != std::string::npos, p.error().message.c_str());
        QVERIFY(planResidency(layoutOf({10, 10, 30}), 50).ok());
        QVERIFY(!planResidency(layoutOf({10, 10, 30}), 49).ok());
    }

    void everythingInVramWhenItFits() {
        SyntheticModel m;
        auto p = planResidency(m.layout, gpu(64 * GiB, 2 * GiB));
        QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
        QVERIFY(p->deviceTier);
        QCOMPARE(count(*p, Residency::Vram, 0, 33), 33);
        QCOMPARE(p->embedding, Residency::Vram);
        QCOMPARE(p->deviceSlots, 0);
        QCOMPARE(p->streamSlots, 0);
        QCOMPARE(p->ramBytes(), uint64_t(0));
        QCOMPARE(p->vramBytes(), 32 * kLayer + 2 * GiB + 512 * MiB);
        const TierBytes t = p->bytesPerToken();
        QCOMPARE(t.fromVram, 32 * kLayer + GiB + kRow);
        QCOMPARE(t.fromRam + t.fromDisk + t.hostToDevice, uint64_t(0));
    }

    // --vram-budget 6GiB with a 512 MiB reserve leaves 5632 MiB: two 218 MiB device slots (436),
    // the 1 GiB head and 19 layers (4142) fit, 30 MiB is left; 13 layers go below. Streaming the
    // head instead would need 1 GiB slots and keep only 16 layers.
    void sixGibVram_data() {
        QTest::addColumn<qint64>("ramMiB");
        QTest::addColumn<int>("ramLayers");
        QTest::addColumn<int>("ramSlots");
        QTest::addColumn<int>("embedding");
        QTest::newRow("unlimited RAM") << qint64(0) << 13 << 0 << int(Residency::Ram);
        QTest::newRow("8GiB RAM") << qint64(8192) << 13 << 0 << int(Residency::Ram);
        QTest::newRow("3GiB RAM") << qint64(3072) << 13 << 0 << int(Residency::Disk);  // 238 MiB left
        QTest::newRow("2GiB RAM") << qint64(2048) << 7 << 2 << int(Residency::Disk);   // 436 + 7 * 218 = 1962
        QTest::newRow("436MiB RAM") << qint64(436) << 0 << 2 << int(Residency::Disk);
    }
    void sixGibVram() {
        QFETCH(qint64, ramMiB);
        QFETCH(int, ramLayers);
        QFETCH(int, ramSlots);
        QFETCH(int, embedding);
        SyntheticModel m;
        auto p = planResidency(m.layout, gpu(6 * GiB, uint64_t(ramMiB) * MiB));
        QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
        QCOMPARE(p->units[32], Residency::Vram);
        QCOMPARE(count(*p, Residency::Vram, 0, 19), 19);  // the earliest layers
        QCOMPARE(count(*p, Residency::Vram, 0, 32), 19);
        QCOMPARE(p->vramResidentBytes, GiB + 19 * kLayer);
        QCOMPARE(p->deviceSlots, 2);
        QCOMPARE(p->deviceSlotBytes, kLayer);
        QCOMPARE(p->vramBytes(), 6 * GiB - 30 * MiB);
        QCOMPARE(count(*p, Residency::Ram, 19, 19 + ramLayers), ramLayers);
        QCOMPARE(count(*p, Residency::Ram, 0, 33), ramLayers);
        const int diskLayers = 13 - ramLayers;
        QCOMPARE(count(*p, Residency::Disk, 0, 33), diskLayers);
        QCOMPARE(p->streamSlots, ramSlots);
        QCOMPARE(p->slotBytes, ramSlots ? kLayer : 0);
        QCOMPARE(p->residentBytes, uint64_t(ramLayers) * kLayer);
        QCOMPARE(p->streamedBytesPerPass, uint64_t(diskLayers) * kLayer);
        QCOMPARE(int(p->embedding), embedding);
        if (ramMiB) QVERIFY(p->ramBytes() <= uint64_t(ramMiB) * MiB);

        // Per decoded token: VRAM-resident weights read in place; everything else crosses to the
        // device, from pinned RAM or from disk; plus one embedding row from wherever it lives.
        const uint64_t embeddingFromRam = embedding == int(Residency::Ram) ? kRow : 0;
        const uint64_t embeddingFromDisk = embedding == int(Residency::Disk) ? kRow : 0;
        const TierBytes t = p->bytesPerToken();
        QCOMPARE(t.fromVram, GiB + 19 * kLayer);
        QCOMPARE(t.fromRam, uint64_t(ramLayers) * kLayer + embeddingFromRam);
        QCOMPARE(t.fromDisk, uint64_t(diskLayers) * kLayer + embeddingFromDisk);
        QCOMPARE(t.hostToDevice, 13 * kLayer + kRow);
        // A prefill pass reads each unit once and one row per prompt token.
        const TierBytes pass = p->bytesPerPass(512);
        QCOMPARE(pass.fromVram, t.fromVram);
        QCOMPARE(pass.hostToDevice, 13 * kLayer + 512 * kRow);
        QCOMPARE(pass.fromDisk, uint64_t(diskLayers) * kLayer + 512 * embeddingFromDisk);
    }
    // The device keeps only --kv-budget of the KV cache (the rest lives in RAM or on disk), so
    // the plan's reserve holds that much of it, not the whole context's: 16k tokens of Llama-3.1-8B
    // KV at 6 GiB plan only with a KV budget.
    void reserveHoldsOnlyTheKvBudget() {
        ModelConfig c;
        c.hiddenSize = 4096;
        c.numLayers = 32;
        c.numHeads = 32;
        c.numKvHeads = 8;
        c.headDim = 128;
        c.intermediateSize = 14336;
        c.vocabSize = 128256;
        const int64_t context = 16400, chunk = 1024;
        const uint64_t kv = KvCache::bytesFor(c, context);
        const uint64_t whole = deviceReserveBytes(c, context, chunk);
        QCOMPARE(deviceReserveBytes(c, context, chunk, 2 * GiB), whole - kv + 2 * GiB);
        QCOMPARE(deviceReserveBytes(c, context, chunk, kv + GiB), whole);  // a budget above the cache changes nothing
        SyntheticModel m;
        QVERIFY(!planResidency(m.layout, gpu(6 * GiB, 0, whole)).ok());
        auto p = planResidency(m.layout, gpu(6 * GiB, 0, deviceReserveBytes(c, context, chunk, 2 * GiB)));
        QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
        QVERIFY(p->vramBytes() <= 6 * GiB);
    }
    // Scoring a text returns every row's logits: the reserve keeps room for as many rows as
    // ModelOptions::logitBytes allows (and their normed inputs beyond a chunk's).
    void reserveHoldsTheLogitsOfAScoringPiece() {
        ModelConfig c;
        c.hiddenSize = 640;
        c.numLayers = 18;
        c.numHeads = 4;
        c.numKvHeads = 1;
        c.headDim = 256;
        c.intermediateSize = 2048;
        c.vocabSize = 262144;
        QCOMPARE(logitRowsWithin(c, 128 * MiB), int64_t(128));
        QCOMPARE(logitRowsWithin(c, 1), int64_t(1));
        const uint64_t one = deviceReserveBytes(c, 4096, 256);
        QCOMPARE(deviceReserveBytes(c, 4096, 256, 0, 128), one + 127 * 262144 * sizeof(float));
        QCOMPARE(deviceReserveBytes(c, 4096, 64, 0, 128) - deviceReserveBytes(c, 4096, 64),
                 uint64_t(127 * 262144 + 64 * 640) * sizeof(float));
        ModelOptions scoring;
        scoring.logitBytes = 128 * MiB;
        QCOMPARE(residencyOptionsFor(c, scoring).vramReserve,
                 deviceReserveBytes(c, scoring.contextTokens, scoring.prefillChunk, 0, 128));
    }
    void tiedEmbeddingFollowsTheHead() {
        SyntheticModel m(true);
        auto p = planResidency(m.layout, gpu(6 * GiB, 2 * GiB));
        QVERIFY(p.ok());
        QVERIFY(p->embeddingSharesHead);
        QCOMPARE(p->embedding, Residency::Vram);
        QCOMPARE(p->vramBytes(), 6 * GiB - 30 * MiB);  // not counted twice
        QCOMPARE(p->bytesPerToken().fromVram, GiB + 19 * kLayer + kRow);
    }
    void vramTooSmall() {
        SyntheticModel m;
        // The least that works: two layer slots, the head (larger than a layer, so it must stay)
        // and the reserve: 436 + 1024 + 512 = 1972 MiB.
        auto p = planResidency(m.layout, gpu(GiB, 0));
        QVERIFY(!p.ok());
        QCOMPARE(p.error().kind, ErrorKind::BadInput);
        const std::string& msg = p.error().message;
        for (const char* part : {"--vram-budget 1.00 GiB", "two 218.00 MiB staging buffers", "layer",
                                 "1.00 GiB for the head", "512.00 MiB reserved", "use at least 1972 MiB",
                                 "or 0 to run on the CPU"})
            QVERIFY2(msg.find(part) != std::string::npos, (msg + " does not mention " + part).c_str());
        QVERIFY(planResidency(m.layout, gpu(1972 * MiB, 0)).ok());
        QVERIFY(!planResidency(m.layout, gpu(1972 * MiB - 1, 0)).ok());
        // Without a reserve or a big head, the minimum is two slots of the largest layer.
        auto small = planResidency(layoutOf({kLayer, kLayer, kLayer}), gpu(GiB / 4, 0, 0));
        QVERIFY(!small.ok());
        QVERIFY2(small.error().message.find("use at least 436 MiB") != std::string::npos,
                 small.error().message.c_str());
        // A budget below the reserve alone.
        QVERIFY(!planResidency(m.layout, gpu(256 * MiB, 0)).ok());
    }
    void ramTooSmallForTheRest() {
        SyntheticModel m;
        auto p = planResidency(m.layout, gpu(6 * GiB, 400 * MiB));
        QVERIFY(!p.ok());
        const std::string& msg = p.error().message;
        for (const char* part : {"--ram-budget 400.00 MiB", "two 218.00 MiB staging buffers", "use at least 436 MiB",
                                 "or 0 for no limit"})
            QVERIFY2(msg.find(part) != std::string::npos, (msg + " does not mention " + part).c_str());
        // Nothing left outside VRAM: no RAM needed at all.
        QVERIFY(planResidency(m.layout, gpu(64 * GiB, 1)).ok());
    }
    void budgetsRespected() {
        SyntheticModel m;
        for (uint64_t vram = 1 * GiB; vram <= 12 * GiB; vram += 333 * MiB) {
            for (uint64_t ram : {uint64_t(0), 500 * MiB, 1 * GiB, 3 * GiB, 7 * GiB}) {
                auto p = planResidency(m.layout, gpu(vram, ram));
                if (!p.ok()) continue;
                QVERIFY(p->vramBytes() <= vram);
                if (ram) QVERIFY(p->ramBytes() <= ram);
                uint64_t sum = 0;
                for (size_t u = 0; u < p->units.size(); ++u) {
                    const uint64_t b = m.layout.units[u].bytes;
                    sum += b;
                    if (p->units[u] != Residency::Vram) QVERIFY(b <= p->deviceSlotBytes);
                    if (p->units[u] == Residency::Disk) QVERIFY(b <= p->slotBytes);
                }
                QCOMPARE(p->vramResidentBytes + p->residentBytes + p->streamedBytesPerPass, sum);
                const TierBytes t = p->bytesPerToken();
                QCOMPARE(t.fromVram + t.fromRam + t.fromDisk, sum + kRow);
                QCOMPARE(t.hostToDevice, t.fromRam + t.fromDisk);
            }
        }
        // With enough VRAM for slots, head and reserve, every budget from there on plans.
        for (uint64_t vram = 1972 * MiB; vram <= 40 * GiB; vram += 1000 * MiB)
            QVERIFY(planResidency(m.layout, gpu(vram, 0)).ok());
    }

    // A mixture of experts split into parts (gpt-oss-20B's shape): on the GPU the layers' other
    // weights are planned first, the VRAM expert cache takes the VRAM they leave and the RAM one
    // the RAM, each at least one expert per layer, within both budgets. When VRAM holds every
    // expert, RAM keeps only the one expert per layer that stages copies.
    void expertCachesOnTheGpu() {
        SyntheticModel m;
        m.layout.units.resize(25);
        for (int i = 0; i < 24; ++i) m.layout.units[size_t(i)].bytes = 95 * MiB;
        m.layout.units.back().label = "head";
        m.layout.experts.assign(24, std::vector<WeightUnit>(32));
        const uint64_t expert = 13 * MiB;
        for (auto& layer : m.layout.experts)
            for (WeightUnit& part : layer) part.bytes = expert;
        m.layout.largestExpertBytes = expert;
        const uint64_t minimum = 24 * expert, all = 24 * 32 * expert;
        int planned = 0;
        for (uint64_t vram = 2 * GiB; vram <= 16 * GiB; vram += 700 * MiB) {
            for (uint64_t ram : {uint64_t(0), 1 * GiB, 3 * GiB, 6 * GiB}) {
                auto p = planResidency(m.layout, gpu(vram, ram));
                if (!p.ok()) continue;
                ++planned;
                QVERIFY(p->vramBytes() <= vram);
                if (ram) QVERIFY(p->ramBytes() <= ram);
                QVERIFY(p->vramExpertCacheBytes >= minimum && p->vramExpertCacheBytes <= all);
                QVERIFY(p->expertCacheBytes >= minimum && p->expertCacheBytes <= all);
            }
        }
        QVERIFY(planned > 20);
        auto roomy = planResidency(m.layout, gpu(40 * GiB, 0));
        QVERIFY(roomy.ok());
        QCOMPARE(roomy->vramExpertCacheBytes, all);
        QCOMPARE(roomy->expertCacheBytes, minimum);
        // One expert per layer beside the reserve is the least VRAM that plans, and a smaller
        // budget says so.
        auto tight = planResidency(m.layout, gpu(512 * MiB + minimum / 2, 0));
        QVERIFY(!tight.ok());
        QVERIFY2(tight.error().message.find("one expert of each layer") != std::string::npos,
                 tight.error().message.c_str());
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
