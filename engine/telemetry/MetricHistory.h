#pragma once
// A bounded time series for a job that may run all night: at most maxPoints buckets, and when they
// are all used, neighbours are merged pairwise so each bucket covers twice as many samples. Memory
// stays fixed for any length of run, and each bucket keeps its min and max so short peaks survive
// the downsampling.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace strata {

struct MetricPoint {
    double seconds = 0;  // mean time of the samples in the bucket
    double mean = 0, min = 0, max = 0;
};

class MetricHistory {
public:
    explicit MetricHistory(size_t maxPoints = 512);

    void add(double seconds, double value);
    std::vector<MetricPoint> points() const;

    size_t size() const { return buckets_.size(); }
    bool empty() const { return buckets_.empty(); }
    size_t maxPoints() const { return maxPoints_; }
    uint64_t samplesAdded() const { return samplesAdded_; }
    // Samples per full bucket: 1 until the first merge, then doubling with each merge.
    uint64_t samplesPerBucket() const { return samplesPerBucket_; }
    void clear();

private:
    struct Bucket {
        double sumSeconds = 0, sumValues = 0, min = 0, max = 0;
        uint64_t count = 0;
    };
    void mergePairs();

    size_t maxPoints_;
    uint64_t samplesPerBucket_ = 1;
    uint64_t samplesAdded_ = 0;
    std::vector<Bucket> buckets_;
};

}  // namespace strata
