#include "telemetry/MetricHistory.h"

#include <algorithm>

namespace strata {

// Fewer than two buckets could never merge, and then the series could not stay bounded.
MetricHistory::MetricHistory(size_t maxPoints) : maxPoints_(std::max<size_t>(maxPoints, 2)) {
    buckets_.reserve(maxPoints_);
}

void MetricHistory::add(double seconds, double value) {
    if (buckets_.empty() || buckets_.back().count >= samplesPerBucket_) {
        if (buckets_.size() == maxPoints_) mergePairs();
        buckets_.push_back(Bucket{});
    }
    Bucket& b = buckets_.back();
    if (b.count == 0) {
        b.min = b.max = value;
    } else {
        b.min = std::min(b.min, value);
        b.max = std::max(b.max, value);
    }
    b.sumSeconds += seconds;
    b.sumValues += value;
    ++b.count;
    ++samplesAdded_;
}

void MetricHistory::mergePairs() {
    size_t out = 0;
    for (size_t i = 0; i < buckets_.size(); i += 2, ++out) {
        Bucket merged = buckets_[i];
        if (i + 1 < buckets_.size()) {
            const Bucket& next = buckets_[i + 1];
            merged.sumSeconds += next.sumSeconds;
            merged.sumValues += next.sumValues;
            merged.min = std::min(merged.min, next.min);
            merged.max = std::max(merged.max, next.max);
            merged.count += next.count;
        }
        buckets_[out] = merged;
    }
    buckets_.resize(out);
    samplesPerBucket_ *= 2;
}

std::vector<MetricPoint> MetricHistory::points() const {
    std::vector<MetricPoint> result;
    result.reserve(buckets_.size());
    for (const Bucket& b : buckets_) {
        const double n = double(b.count);
        result.push_back(MetricPoint{b.sumSeconds / n, b.sumValues / n, b.min, b.max});
    }
    return result;
}

void MetricHistory::clear() {
    buckets_.clear();
    samplesPerBucket_ = 1;
    samplesAdded_ = 0;
}

}  // namespace strata
