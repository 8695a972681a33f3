#pragma once
// Live machine figures for the window's gauges: memory, GPU memory, disk traffic and wear on the
// drives that hold the model and the session, and their temperature. Linux only (/proc and /sys);
// anything unreadable reads as zero (or NaN for the temperature) rather than failing, because a
// gauge that shows nothing must never stop a job.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/Clock.h"

namespace strata {

struct TelemetrySnapshot {
    double seconds = 0;                       // since the sampler was created
    uint64_t ramTotal = 0, ramAvailable = 0;  // MemTotal, MemAvailable of /proc/meminfo, in bytes
    uint64_t processRss = 0;                  // this process (VmRSS of /proc/self/status)
    bool gpuPresent = false;                  // false: the window shows its "no GPU" state
    std::string gpuName;
    uint64_t vramTotal = 0, vramUsed = 0;     // whole device, as the GPU probe reports it
    // Summed over the watched devices, since the previous sample.
    double diskReadBytesPerSecond = 0, diskWriteBytesPerSecond = 0;
    uint64_t diskBytesWrittenSinceStart = 0;  // wear: written to the watched devices since the sampler started
    double driveTemperatureC = std::nan("");  // hottest watched drive where readable, else NaN
    std::vector<std::string> devices;         // the watched block devices, e.g. "nvme0n1", "vda"
};

// The GPU side is behind an interface so that the engine stays free of any GPU library; the CUDA
// build supplies one, tests supply fakes. query() returns false when there is no usable device.
struct GpuMemoryProbe {
    virtual ~GpuMemoryProbe() = default;
    virtual bool query(std::string& name, uint64_t& total, uint64_t& used) = 0;
};

// One sampler per window, used from one thread at a time (a timer's or a worker's).
class SystemTelemetry {
public:
    // watched: paths whose block devices are followed (the model file or folder, the KV/session
    // folder); a path that does not exist yet is followed through its nearest existing parent.
    // procRoot/sysRoot exist so that tests can point at fixture trees.
    explicit SystemTelemetry(std::vector<std::filesystem::path> watched, std::unique_ptr<GpuMemoryProbe> gpu = nullptr,
                             std::filesystem::path procRoot = "/proc", std::filesystem::path sysRoot = "/sys");

    // Cheap: meant to be called a few times a second.
    TelemetrySnapshot sample();
    // sample() with the elapsed time given by the caller, so that rates are exact in tests.
    TelemetrySnapshot sampleAt(double seconds);

    const std::vector<std::string>& devices() const { return devices_; }

    // The whole-disk name of block device major:minor under sysRoot ("nvme0n1" for a partition
    // nvme0n1p2), or "" when sysfs does not know it (major 0: overlay, tmpfs and the like).
    static std::string blockDeviceName(const std::filesystem::path& sysRoot, unsigned major, unsigned minor);

private:
    struct DiskCounters {
        uint64_t sectorsRead = 0, sectorsWritten = 0;
    };
    DiskCounters readDiskCounters() const;
    double hottestDriveCelsius() const;

    std::filesystem::path procRoot_, sysRoot_;
    std::unique_ptr<GpuMemoryProbe> gpu_;
    std::vector<std::string> devices_;
    SteadyClock::time_point start_;
    DiskCounters previousCounters_;
    double previousSeconds_ = 0;
    uint64_t bytesWrittenSinceStart_ = 0;
};

}  // namespace strata
