#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "sampling/Sampler.h"
#include "../support/TestPaths.h"

using namespace strata;

namespace {

std::vector<float> logitsFromProbabilities(const std::vector<double>& probs) {
    std::vector<float> out;
    for (double p : probs)
        out.push_back(float(std::log(p)));
    return out;
}

std::vector<float> randomLogits(size_t n, uint32_t seed, float scale) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> out(n);
    for (float& v : out)
        v = dist(gen);
    return out;
}

// Draws `draws` tokens from fresh copies of `logits` and counts them.
std::map<int32_t, int> histogram(const SamplingParams& params, const std::vector<float>& logits,
                                 int draws) {
    Sampler sampler(params);
    std::map<int32_t, int> counts;
    for (int i = 0; i < draws; ++i) {
        std::vector<float> copy = logits;
        ++counts[sampler.sample(copy, {})];
    }
    return counts;
}

// The obvious, slow reading of the transformers pipeline: full sort, then each warper in turn.
std::map<int32_t, double> referenceDistribution(std::vector<float> logits,
                                                const std::vector<int32_t>& history,
                                                const SamplingParams& p) {
    std::set<int32_t> distinct(history.begin(), history.end());
    for (int32_t id : distinct)
        logits[id] = logits[id] < 0 ? logits[id] * p.repetitionPenalty
                                    : logits[id] / p.repetitionPenalty;
    for (float& l : logits)
        l /= p.temperature;
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    if (p.topK > 0 && size_t(p.topK) < order.size()) {
        const float kth = logits[order[p.topK - 1]];
        while (logits[order.back()] < kth)
            order.pop_back();
    }
    const double maxLogit = logits[order.front()];
    double total = 0;
    for (int32_t id : order)
        total += std::exp(logits[id] - maxLogit);
    size_t keep = order.size();
    if (p.topP < 1.0f) {
        double mass = 0;
        for (size_t j = 0; j < order.size(); ++j) {
            if (mass >= p.topP * total) {
                keep = j;
                break;
            }
            mass += std::exp(logits[order[j]] - maxLogit);
        }
    }
    if (p.minP > 0.0f) {
        size_t j = 0;
        while (j < keep && std::exp(logits[order[j]] - maxLogit) >= p.minP)
            ++j;
        keep = j;
    }
    order.resize(keep);
    double kept = 0;
    for (int32_t id : order)
        kept += std::exp(logits[id] - maxLogit);
    std::map<int32_t, double> out;
    for (int32_t id : order)
        out[id] = std::exp(logits[id] - maxLogit) / kept;
    return out;
}

}  // namespace

class TestSampling : public QObject {
    Q_OBJECT

private slots:
    void greedyPicksArgmax() {
        Sampler sampler({});
        std::vector<float> logits{0.1f, 2.5f, -1.0f, 2.4f};
        QCOMPARE(sampler.sample(logits, {}), 1);
    }

    void greedyTiesGoToLowestId() {
        Sampler sampler({});
        std::vector<float> logits{1.0f, 3.0f, -2.0f, 3.0f, 3.0f};
        QCOMPARE(sampler.sample(logits, {}), 1);
        std::vector<float> withNaN{std::nanf(""), 0.5f, 0.5f};
        QCOMPARE(greedyToken(withNaN), 1);
        std::vector<float> masked(4, -std::numeric_limits<float>::infinity());
        QCOMPARE(greedyToken(masked), 0);
        QCOMPARE(greedyToken({}), -1);
    }

    void repetitionPenaltyNumbers() {
        SamplingParams p;
        p.repetitionPenalty = 2.0f;
        Sampler sampler(p);
        // Id 0 appears twice but is penalised once; id 4 is out of range and ignored.
        std::vector<float> logits{3.0f, -1.5f, 1.0f, 0.0f};
        const std::vector<int32_t> history{0, 1, 0, 3, 4, -1};
        QCOMPARE(sampler.sample(logits, history), 0);
        QCOMPARE(logits[0], 1.5f);
        QCOMPARE(logits[1], -3.0f);
        QCOMPARE(logits[2], 1.0f);
        QCOMPARE(logits[3], 0.0f);

        // The penalty can change the greedy winner.
        std::vector<float> close{2.0f, 1.9f};
        const std::vector<int32_t> saw0{0};
        QCOMPARE(sampler.sample(close, saw0), 1);
        // ...and the marks from one call do not leak into the next.
        std::vector<float> again{2.0f, 1.9f};
        QCOMPARE(sampler.sample(again, {}), 0);
        QCOMPARE(again[0], 2.0f);
    }

    void topKOneEqualsGreedy() {
        for (uint32_t s = 0; s < 20; ++s) {
            const std::vector<float> logits = randomLogits(5000, s, 3.0f);
            SamplingParams p;
            p.temperature = 1.3f;
            p.topK = 1;
            p.seed = s;
            Sampler sampler(p);
            std::vector<float> copy = logits;
            QCOMPARE(sampler.sample(copy, {}), greedyToken(logits));
        }
    }

    void topKKeepsTheKMostProbable() {
        const auto logits = logitsFromProbabilities({0.1, 0.4, 0.05, 0.3, 0.15});
        SamplingParams p;
        p.temperature = 1.0f;
        p.topK = 3;
        p.seed = 7;
        const int draws = 40000;
        const auto counts = histogram(p, logits, draws);
        const std::map<int32_t, double> expected{{1, 0.4 / 0.85}, {3, 0.3 / 0.85}, {4, 0.15 / 0.85}};
        for (const auto& [id, n] : counts) {
            QVERIFY2(expected.count(id), qPrintable(QString("id %1 should be cut").arg(id)));
            QVERIFY(std::abs(double(n) / draws - expected.at(id)) < 0.02);
        }
    }

    void topPKeepsSmallestSetReachingP() {
        const auto logits = logitsFromProbabilities({0.05, 0.5, 0.15, 0.3});
        SamplingParams p;
        p.temperature = 1.0f;
        p.topP = 0.7f;  // 0.5 < 0.7 <= 0.5 + 0.3
        p.seed = 11;
        const int draws = 40000;
        const auto counts = histogram(p, logits, draws);
        QCOMPARE(counts.size(), size_t(2));
        QVERIFY(std::abs(double(counts.at(1)) / draws - 0.625) < 0.02);
        QVERIFY(std::abs(double(counts.at(3)) / draws - 0.375) < 0.02);

        // A tiny top-p still keeps the most probable token.
        p.topP = 1e-6f;
        const auto one = histogram(p, logits, 500);
        QCOMPARE(one.size(), size_t(1));
        QCOMPARE(one.begin()->first, 1);
    }

    void minPDropsRelativelyImprobable() {
        const auto logits = logitsFromProbabilities({0.5, 0.05, 0.3, 0.15});
        SamplingParams p;
        p.temperature = 1.0f;
        p.minP = 0.2f;  // threshold 0.1: id 1 goes
        p.seed = 3;
        const int draws = 40000;
        const auto counts = histogram(p, logits, draws);
        QCOMPARE(counts.size(), size_t(3));
        QVERIFY(!counts.count(1));
        QVERIFY(std::abs(double(counts.at(0)) / draws - 0.5 / 0.95) < 0.02);
        QVERIFY(std::abs(double(counts.at(2)) / draws - 0.3 / 0.95) < 0.02);
        QVERIFY(std::abs(double(counts.at(3)) / draws - 0.15 / 0.95) < 0.02);
    }

    void temperatureSharpensAndFlattens() {
        const auto logits = logitsFromProbabilities({0.6, 0.4});
        SamplingParams p;
        p.temperature = 0.5f;  // p^2 renormalised: 0.36 / 0.52
        p.seed = 5;
        const int draws = 40000;
        auto counts = histogram(p, logits, draws);
        QVERIFY(std::abs(double(counts.at(0)) / draws - 0.36 / 0.52) < 0.02);
        p.temperature = 4.0f;
        counts = histogram(p, logits, draws);
        const double a = std::pow(0.6, 0.25), b = std::pow(0.4, 0.25);
        QVERIFY(std::abs(double(counts.at(0)) / draws - a / (a + b)) < 0.02);
    }

    void sameSeedSameSequence() {
        const std::vector<float> logits = randomLogits(1000, 42, 1.0f);
        SamplingParams p;
        p.temperature = 1.0f;
        p.topP = 0.95f;
        auto run = [&](uint64_t seed) {
            p.seed = seed;
            Sampler sampler(p);
            std::vector<int32_t> ids;
            for (int i = 0; i < 200; ++i) {
                std::vector<float> copy = logits;
                ids.push_back(sampler.sample(copy, {}));
            }
            return ids;
        };
        QCOMPARE(run(1234), run(1234));
        QVERIFY(run(1234) != run(1235));
    }

    void validationNamesTheSetting() {
        QVERIFY(!validate({}).has_value());
        SamplingParams ok;
        ok.temperature = 0.7f;
        ok.topK = 40;
        ok.topP = 0.9f;
        ok.minP = 0.05f;
        ok.repetitionPenalty = 1.1f;
        QVERIFY(!validate(ok).has_value());

        auto expectError = [](SamplingParams p, const char* word) {
            const auto err = validate(p);
            QVERIFY2(err.has_value(), word);
            QVERIFY2(err->find(word) != std::string::npos, err->c_str());
        };
        SamplingParams p;
        p.temperature = -0.1f;
        expectError(p, "temperature");
        p = {};
        p.temperature = std::nanf("");
        expectError(p, "temperature");
        p = {};
        p.topP = 0.0f;
        expectError(p, "top-p");
        p.topP = 1.01f;
        expectError(p, "top-p");
        p = {};
        p.minP = 1.0f;
        expectError(p, "min-p");
        p.minP = -0.01f;
        expectError(p, "min-p");
        p = {};
        p.repetitionPenalty = 0.0f;
        expectError(p, "repetition penalty");
        p.repetitionPenalty = -1.0f;
        expectError(p, "repetition penalty");
        p = {};
        p.topK = -1;
        expectError(p, "top-k");
    }

    void matchesTransformersWarpers() {
        std::ifstream in(strata::testsupport::testDataDir() / "sampling" / "warpers.json");
        QVERIFY2(in, "tests/data/sampling/warpers.json is missing; run tests/tools/make_sampling_fixtures.py");
        const auto doc = nlohmann::json::parse(in);
        QVERIFY(doc["cases"].size() >= 10);
        for (const auto& c : doc["cases"]) {
            const std::string name = c["name"];
            SamplingParams p;
            p.temperature = c["params"]["temperature"];
            p.topK = c["params"]["top_k"];
            p.topP = c["params"]["top_p"];
            p.minP = c["params"]["min_p"];
            p.repetitionPenalty = c["params"]["repetition_penalty"];
            QVERIFY2(!validate(p).has_value(), name.c_str());
            std::vector<float> logits = c["logits"].get<std::vector<float>>();
            const std::vector<int32_t> history = c["history"].get<std::vector<int32_t>>();

            Sampler sampler(p);
            const auto dist = sampler.distribution(logits, history);

            const auto after = c["logits_after"].get<std::vector<float>>();
            for (size_t i = 0; i < after.size(); ++i)
                QVERIFY2(std::abs(logits[i] - after[i]) <= 1e-6f * std::max(1.0f, std::abs(after[i])),
                         qPrintable(QString("%1: logit %2 is %3, transformers has %4")
                                        .arg(name.c_str()).arg(i).arg(logits[i]).arg(after[i])));

            const auto ids = c["expected"]["ids"].get<std::vector<int32_t>>();
            const auto probs = c["expected"]["probs"].get<std::vector<double>>();
            std::map<int32_t, double> expected;
            for (size_t i = 0; i < ids.size(); ++i)
                expected[ids[i]] = probs[i];
            std::map<int32_t, double> got;
            for (const auto& t : dist)
                got[t.id] = t.probability;
            QVERIFY2(got.size() == expected.size(),
                     qPrintable(QString("%1: %2 tokens survive, transformers keeps %3")
                                    .arg(name.c_str()).arg(got.size()).arg(expected.size())));
            for (const auto& [id, prob] : expected) {
                QVERIFY2(got.count(id), qPrintable(QString("%1: id %2 was cut").arg(name.c_str()).arg(id)));
                QVERIFY2(std::abs(got[id] - prob) < 1e-5,
                         qPrintable(QString("%1: id %2 has p=%3, transformers %4")
                                        .arg(name.c_str()).arg(id).arg(got[id]).arg(prob)));
            }
            // Most probable first.
            for (size_t i = 1; i < dist.size(); ++i)
                QVERIFY(dist[i - 1].probability >= dist[i].probability);
        }
    }

    void matchesSlowReferenceOnLargeVocab() {
        // Flat-ish distributions make top-p need thousands of tokens, which exercises the
        // growing partial sort; peaked ones stop in the first block.
        struct Case { float scale; float temp; int topK; float topP; float minP; float penalty; };
        const Case cases[] = {
            {0.5f, 1.0f, 0, 0.99f, 0.0f, 1.0f},    {4.0f, 0.7f, 0, 0.9f, 0.0f, 1.1f},
            {1.0f, 1.0f, 2000, 0.95f, 0.0f, 1.0f}, {2.0f, 1.2f, 0, 0.95f, 0.3f, 1.3f},
            {1.0f, 0.8f, 0, 1.0f, 0.1f, 1.0f},     {3.0f, 1.0f, 100, 1.0f, 0.0f, 0.9f},
        };
        uint32_t seed = 1;
        for (const Case& k : cases) {
            const std::vector<float> logits = randomLogits(50000, seed++, k.scale);
            std::vector<int32_t> history;
            for (int i = 0; i < 300; ++i)
                history.push_back((i * 7919) % 50000);
            SamplingParams p;
            p.temperature = k.temp;
            p.topK = k.topK;
            p.topP = k.topP;
            p.minP = k.minP;
            p.repetitionPenalty = k.penalty;
            const auto expected = referenceDistribution(logits, history, p);
            std::vector<float> copy = logits;
            Sampler sampler(p);
            const auto dist = sampler.distribution(copy, history);
            QCOMPARE(dist.size(), expected.size());
            for (const auto& t : dist) {
                QVERIFY(expected.count(t.id));
                QVERIFY(std::abs(t.probability - expected.at(t.id)) < 1e-6);
            }
        }
    }

    void stopStringSplitAcrossPushes() {
        StopStringMatcher m({"<|end|>"});
        QCOMPARE(m.push("Hello <"), std::string("Hello "));
        QCOMPARE(m.push("|en"), std::string());
        QVERIFY(!m.stopped());
        QCOMPARE(m.push("d|> trailing"), std::string());
        QVERIFY(m.stopped());
        QCOMPARE(m.push("more"), std::string());
        QCOMPARE(m.flush(), std::string());
    }

    void stopStringInsideOnePush() {
        StopStringMatcher m({"STOP"});
        QCOMPARE(m.push("abcSTOPdef"), std::string("abc"));
        QVERIFY(m.stopped());
    }

    void earliestOfSeveralStopStrings() {
        StopStringMatcher m({"world", "lo w", "\n\n"});
        QCOMPARE(m.push("hel"), std::string("he"));  // "l" may begin "lo w"
        QCOMPARE(m.push("lo wor"), std::string("l"));   // "lo w" starts before "world"
        QVERIFY(m.stopped());

        StopStringMatcher n({"xyz", "\n\n"});
        QCOMPARE(n.push("one\n"), std::string("one"));
        QCOMPARE(n.push("\ntwo"), std::string());
        QVERIFY(n.stopped());
    }

    void noFalsePositives() {
        StopStringMatcher m({"</s>", "###"});
        std::string shown;
        for (const char* piece : {"a <", "/b> ", "## ", "#", "# no", "</", "x"})
            shown += m.push(piece);
        QVERIFY(!m.stopped());
        shown += m.flush();
        QCOMPARE(shown, std::string("a </b> ## ## no</x"));
    }

    void heldTextReleasedWhenItCannotMatch() {
        StopStringMatcher m({"abcd"});
        QCOMPARE(m.push("xab"), std::string("x"));
        QCOMPARE(m.push("c"), std::string());
        QCOMPARE(m.push("abc"), std::string("abc"));  // "abcabc": only the second "abc" can still match
        QCOMPARE(m.flush(), std::string("abc"));
        QVERIFY(!m.stopped());
    }

    void multibyteStopStrings() {
        StopStringMatcher m({"。終", "\xF0\x9F\x9B\x91"});  // "。終" and U+1F6D1
        const std::string stop = "\xF0\x9F\x9B\x91";
        QCOMPARE(m.push("日本語。"), std::string("日本語"));
        QCOMPARE(m.push("続き"), std::string("。続き"));
        QCOMPARE(m.push(stop.substr(0, 2)), std::string());
        QCOMPARE(m.push(stop.substr(2) + "after"), std::string());
        QVERIFY(m.stopped());
    }

    void noStopStrings() {
        StopStringMatcher m({"", ""});
        QCOMPARE(m.push("anything"), std::string("anything"));
        QCOMPARE(m.flush(), std::string());
        QVERIFY(!m.stopped());
    }
};

QTEST_GUILESS_MAIN(TestSampling)
#include "test_sampling.moc"
