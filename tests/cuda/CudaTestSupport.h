#pragma once
// What the CUDA op tests share: an owned device allocation, error text for QVERIFY2, and the
// first test function that skips everything (with the runtime's reason) where no device exists.
#include <QtTest>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "CudaDevice.h"

namespace strata::cudatest {

// Owns one device allocation; a test must not leak it on a failed QVERIFY.
class DeviceBuffer {
public:
    explicit DeviceBuffer(size_t bytes) {
        status_ = cudaStatus(cudaMalloc(&ptr_, std::max<size_t>(bytes, 4)), "cudaMalloc");
    }
    ~DeviceBuffer() {
        if (ptr_) cudaFree(ptr_);
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    const Status& status() const { return status_; }
    void* get() const { return ptr_; }
    float* floats() const { return static_cast<float*>(ptr_); }
    int32_t* ints() const { return static_cast<int32_t*>(ptr_); }

private:
    void* ptr_ = nullptr;
    Status status_;
};

// count values ~ N(0, stddev^2), the same for the same seed.
inline std::vector<float> randomNormal(size_t count, uint32_t seed, float stddev) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, stddev);
    std::vector<float> v(count);
    for (float& x : v) x = normal(rng);
    return v;
}

inline QString describe(const Error& e) { return QString::fromStdString(e.message); }
inline QString describe(const Status& s) { return s.ok() ? QString() : describe(s.error()); }

}  // namespace strata::cudatest

// Skips the whole test case when no device is present; otherwise prints device 0 and sets `info`
// (a Result<CudaDeviceInfo>) for the caller.
#define STRATA_REQUIRE_CUDA_DEVICE(info)                                                                     \
    std::string strataReason_;                                                                                \
    if (!::strata::cudaDeviceAvailable(&strataReason_))                                                       \
        QSKIP(qPrintable("no CUDA device: " + QString::fromStdString(strataReason_)));                       \
    auto info = ::strata::cudaDeviceInfo(0);                                                                  \
    QVERIFY2(info.ok(), qPrintable(info.ok() ? QString() : ::strata::cudatest::describe(info.error())));     \
    qInfo("device 0: %s, compute %d.%d, %d SMs, %lld MiB", info->name.c_str(), info->computeMajor,            \
          info->computeMinor, info->multiprocessors, static_cast<long long>(info->totalMemoryBytes >> 20))
