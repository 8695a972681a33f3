#include "telemetry/SystemTelemetry.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace strata {

namespace fs = std::filesystem;

namespace {

// Value of "Key:   123 kB" in a /proc status-style file, in bytes; 0 when absent.
uint64_t kibField(const fs::path& file, const std::string& key) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ':') {
            std::istringstream fields(line.substr(key.size() + 1));
            uint64_t kib = 0;
            if (fields >> kib) return kib * 1024;
            return 0;
        }
    }
    return 0;
}

bool isFile(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

// stat() of the path or, where it does not exist yet (a model still to be downloaded), of its
// nearest existing parent.
bool deviceOf(fs::path path, dev_t& device) {
    std::error_code ec;
    path = fs::absolute(path, ec);
    if (ec) return false;
    for (;;) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) {
            device = st.st_dev;
            return true;
        }
        if (!path.has_relative_path()) return false;
        path = path.parent_path();
    }
}

// The temperature in °C of the first hwmon sensor under dir/hwmon* or dir/hwmon/hwmon* (drivetemp
// puts its sensors one level deeper); NaN when there is none.
double hwmonCelsius(const fs::path& dir) {
    double hottest = std::nan("");
    for (const fs::path& base : {dir, dir / "hwmon"}) {
        std::error_code ec;
        fs::directory_iterator it(base, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (name.rfind("hwmon", 0) != 0 || name == "hwmon") continue;
            std::ifstream in(it->path() / "temp1_input");
            long long milli = 0;
            if (in >> milli) {
                const double c = double(milli) / 1000.0;
                if (std::isnan(hottest) || c > hottest) hottest = c;
            }
        }
    }
    return hottest;
}

// "nvme0n1" -> "nvme0": the controller under /sys/class/nvme that owns a namespace.
std::string nvmeController(const std::string& device) {
    if (device.rfind("nvme", 0) != 0) return {};
    size_t i = 4;
    while (i < device.size() && std::isdigit(static_cast<unsigned char>(device[i]))) ++i;
    if (i == 4 || i >= device.size() || device[i] != 'n') return {};
    return device.substr(0, i);
}

}  // namespace

std::string SystemTelemetry::blockDeviceName(const fs::path& sysRoot, unsigned major, unsigned minor) {
    if (major == 0) return {};
    const fs::path link = sysRoot / "dev" / "block" / (std::to_string(major) + ":" + std::to_string(minor));
    std::error_code ec;
    fs::path target = fs::read_symlink(link, ec);
    if (ec) return {};
    // Resolved by hand rather than with canonical(), so that a fixture tree's relative links
    // stay inside the fixture.
    if (target.is_relative()) target = (link.parent_path() / target).lexically_normal();
    if (target.filename().empty()) target = target.parent_path();
    // A partition's directory sits inside its disk's directory and has a "partition" file.
    if (isFile(target / "partition")) target = target.parent_path();
    return target.filename().string();
}

SystemTelemetry::SystemTelemetry(std::vector<fs::path> watched, std::unique_ptr<GpuMemoryProbe> gpu,
                                 fs::path procRoot, fs::path sysRoot)
    : procRoot_(std::move(procRoot)), sysRoot_(std::move(sysRoot)), gpu_(std::move(gpu)), start_(SteadyClock::now()) {
    std::set<std::string> seen;
    for (const fs::path& path : watched) {
        dev_t device = 0;
        if (!deviceOf(path, device)) continue;
        const std::string name = blockDeviceName(sysRoot_, ::major(device), ::minor(device));
        if (!name.empty() && seen.insert(name).second) devices_.push_back(name);
    }
    previousCounters_ = readDiskCounters();
}

SystemTelemetry::DiskCounters SystemTelemetry::readDiskCounters() const {
    DiskCounters total;
    if (devices_.empty()) return total;
    std::ifstream in(procRoot_ / "diskstats");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        unsigned major = 0, minor = 0;
        std::string name;
        uint64_t readsDone = 0, readsMerged = 0, sectorsRead = 0, msReading = 0;
        uint64_t writesDone = 0, writesMerged = 0, sectorsWritten = 0;
        if (!(fields >> major >> minor >> name >> readsDone >> readsMerged >> sectorsRead >> msReading >> writesDone >>
              writesMerged >> sectorsWritten))
            continue;
        if (std::find(devices_.begin(), devices_.end(), name) == devices_.end()) continue;
        total.sectorsRead += sectorsRead;
        total.sectorsWritten += sectorsWritten;
    }
    return total;
}

double SystemTelemetry::hottestDriveCelsius() const {
    double hottest = std::nan("");
    auto consider = [&hottest](double c) {
        if (!std::isnan(c) && (std::isnan(hottest) || c > hottest)) hottest = c;
    };
    for (const std::string& device : devices_) {
        const fs::path deviceDir = sysRoot_ / "block" / device / "device";
        consider(hwmonCelsius(deviceDir));
        const std::string controller = nvmeController(device);
        if (!controller.empty()) {
            const fs::path nvme = sysRoot_ / "class" / "nvme" / controller;
            consider(hwmonCelsius(nvme));
            consider(hwmonCelsius(nvme / "device"));
        }
    }
    return hottest;
}

TelemetrySnapshot SystemTelemetry::sample() { return sampleAt(secondsSince(start_)); }

TelemetrySnapshot SystemTelemetry::sampleAt(double seconds) {
    TelemetrySnapshot s;
    s.seconds = seconds;
    s.ramTotal = kibField(procRoot_ / "meminfo", "MemTotal");
    s.ramAvailable = kibField(procRoot_ / "meminfo", "MemAvailable");
    s.processRss = kibField(procRoot_ / "self" / "status", "VmRSS");

    if (gpu_) {
        std::string name;
        uint64_t total = 0, used = 0;
        if (gpu_->query(name, total, used)) {
            s.gpuPresent = true;
            s.gpuName = std::move(name);
            s.vramTotal = total;
            s.vramUsed = used;
        }
    }

    constexpr uint64_t sectorBytes = 512;  // diskstats counts 512-byte sectors whatever the drive's own size
    const DiskCounters now = readDiskCounters();
    // A counter that went backwards (a device re-attached) restarts from the new value rather than
    // wrapping into a huge number.
    const uint64_t readBytes =
        now.sectorsRead >= previousCounters_.sectorsRead ? (now.sectorsRead - previousCounters_.sectorsRead) * sectorBytes : 0;
    const uint64_t writtenBytes = now.sectorsWritten >= previousCounters_.sectorsWritten
                                      ? (now.sectorsWritten - previousCounters_.sectorsWritten) * sectorBytes
                                      : 0;
    const double dt = seconds - previousSeconds_;
    if (dt > 0) {
        s.diskReadBytesPerSecond = double(readBytes) / dt;
        s.diskWriteBytesPerSecond = double(writtenBytes) / dt;
    }
    bytesWrittenSinceStart_ += writtenBytes;
    s.diskBytesWrittenSinceStart = bytesWrittenSinceStart_;
    previousCounters_ = now;
    previousSeconds_ = seconds;

    s.driveTemperatureC = hottestDriveCelsius();
    s.devices = devices_;
    return s;
}

}  // namespace strata
