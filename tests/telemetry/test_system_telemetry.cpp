// SystemTelemetry against fixture /proc and /sys trees written here, and one sanity sample of the
// real machine.
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "telemetry/SystemTelemetry.h"

namespace fs = std::filesystem;
using strata::SystemTelemetry;
using strata::TelemetrySnapshot;

namespace {

void put(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// sys/dev/block/MAJ:MIN -> ../../devices/<target>, relative like the kernel's own links.
void linkDevice(const fs::path& sys, unsigned major, unsigned minor, const std::string& target) {
    fs::create_directories(sys / "devices" / target);
    fs::create_directories(sys / "dev" / "block");
    fs::create_directory_symlink(fs::path("../../devices") / target,
                                 sys / "dev" / "block" / (std::to_string(major) + ":" + std::to_string(minor)));
}

std::string diskstatsLine(unsigned major, unsigned minor, const std::string& name, uint64_t sectorsRead,
                          uint64_t sectorsWritten) {
    return std::to_string(major) + " " + std::to_string(minor) + " " + name + " 10 0 " + std::to_string(sectorsRead) +
           " 5 20 0 " + std::to_string(sectorsWritten) + " 7 0 12 30 0 0 0 0 0 0\n";
}

class FakeGpu : public strata::GpuMemoryProbe {
public:
    explicit FakeGpu(bool present) : present_(present) {}
    bool query(std::string& name, uint64_t& total, uint64_t& used) override {
        if (!present_) return false;
        name = "Fake GPU 24GB";
        total = 24ull << 30;
        used = 5ull << 30;
        return true;
    }

private:
    bool present_;
};

}  // namespace

class TestSystemTelemetry : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    fs::path root() const { return fs::path(dir_.path().toStdString()); }

    // The device number of the temporary folder, which the fixture's sysfs then describes.
    bool tempDevice(unsigned& major, unsigned& minor) {
        struct stat st {};
        if (::stat(root().c_str(), &st) != 0) return false;
        major = ::major(st.st_dev);
        minor = ::minor(st.st_dev);
        return major != 0;
    }

private slots:
    void init() { QVERIFY(dir_.isValid()); }
    void cleanup() {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(root(), ec)) fs::remove_all(entry.path(), ec);
    }

    void readsMeminfoAndProcessRss() {
        put(root() / "proc/meminfo",
            "MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:    8192000 kB\nBuffers: 12 kB\n");
        put(root() / "proc/self/status", "Name:\tstrata\nVmPeak:\t  9999 kB\nVmRSS:\t    2048 kB\nVmHWM:\t 4096 kB\n");
        SystemTelemetry telemetry({}, nullptr, root() / "proc", root() / "sys");
        const TelemetrySnapshot s = telemetry.sampleAt(1.0);
        QCOMPARE(s.seconds, 1.0);
        QCOMPARE(s.ramTotal, uint64_t(16384000) * 1024);
        QCOMPARE(s.ramAvailable, uint64_t(8192000) * 1024);
        QCOMPARE(s.processRss, uint64_t(2048) * 1024);
        QVERIFY(!s.gpuPresent);
        QVERIFY(s.devices.empty());
    }

    void missingFilesGiveZerosAndNaN() {
        SystemTelemetry telemetry({root() / "no/such/model.gguf", "/definitely/not/here"}, nullptr,
                                  root() / "absent-proc", root() / "absent-sys");
        const TelemetrySnapshot s = telemetry.sample();
        QCOMPARE(s.ramTotal, uint64_t(0));
        QCOMPARE(s.ramAvailable, uint64_t(0));
        QCOMPARE(s.processRss, uint64_t(0));
        QCOMPARE(s.diskReadBytesPerSecond, 0.0);
        QCOMPARE(s.diskWriteBytesPerSecond, 0.0);
        QCOMPARE(s.diskBytesWrittenSinceStart, uint64_t(0));
        QVERIFY(std::isnan(s.driveTemperatureC));
        QVERIFY(s.devices.empty());
        QVERIFY(s.seconds >= 0);
    }

    void partitionMapsToItsDisk() {
        const fs::path sys = root() / "sys";
        linkDevice(sys, 259, 0, "pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1");
        linkDevice(sys, 259, 2, "pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1/nvme0n1p2");
        put(sys / "devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1/nvme0n1p2/partition", "2\n");
        linkDevice(sys, 253, 0, "virtual/block/dm-0");
        QCOMPARE(SystemTelemetry::blockDeviceName(sys, 259, 2), std::string("nvme0n1"));
        QCOMPARE(SystemTelemetry::blockDeviceName(sys, 259, 0), std::string("nvme0n1"));
        QCOMPARE(SystemTelemetry::blockDeviceName(sys, 253, 0), std::string("dm-0"));
        // Overlay, tmpfs and other devices without a disk behind them are skipped, as are unknown ones.
        QCOMPARE(SystemTelemetry::blockDeviceName(sys, 0, 42), std::string());
        QCOMPARE(SystemTelemetry::blockDeviceName(sys, 8, 99), std::string());
    }

    void diskRatesAndWearFromDiskstats() {
        unsigned major = 0, minor = 0;
        if (!tempDevice(major, minor))
            QSKIP("the temporary folder is on a device without a block device behind it (overlay or tmpfs)");
        const fs::path sys = root() / "sys", proc = root() / "proc";
        linkDevice(sys, major, minor, "virtual/block/fakedisk/fakedisk1");
        put(sys / "devices/virtual/block/fakedisk/fakedisk1/partition", "1\n");
        auto writeStats = [&](uint64_t read, uint64_t written) {
            put(proc / "diskstats", diskstatsLine(7, 0, "loop0", 99999, 99999) + diskstatsLine(1, 0, "fakedisk", read, written) +
                                        diskstatsLine(1, 1, "fakedisk1", read / 2, written / 2) +
                                        diskstatsLine(8, 0, "sdz", 123456, 654321));
        };
        writeStats(1000, 2000);
        put(root() / "models/model.gguf", "weights");

        // Two watched paths on the same disk are one device.
        SystemTelemetry telemetry({root() / "models/model.gguf", root() / "models"}, nullptr, proc, sys);
        QCOMPARE(telemetry.devices(), std::vector<std::string>{"fakedisk"});

        writeStats(1000 + 4000, 2000 + 8000);
        TelemetrySnapshot s = telemetry.sampleAt(2.0);
        QCOMPARE(s.devices, std::vector<std::string>{"fakedisk"});
        QCOMPARE(s.diskReadBytesPerSecond, 4000.0 * 512 / 2.0);
        QCOMPARE(s.diskWriteBytesPerSecond, 8000.0 * 512 / 2.0);
        QCOMPARE(s.diskBytesWrittenSinceStart, uint64_t(8000) * 512);

        writeStats(5000, 10000 + 1000);
        s = telemetry.sampleAt(3.0);
        QCOMPARE(s.diskReadBytesPerSecond, 0.0);
        QCOMPARE(s.diskWriteBytesPerSecond, 1000.0 * 512);
        QCOMPARE(s.diskBytesWrittenSinceStart, uint64_t(9000) * 512);

        // Counters that went backwards (the device came back) count nothing, rather than wrapping.
        writeStats(10, 20);
        s = telemetry.sampleAt(4.0);
        QCOMPARE(s.diskReadBytesPerSecond, 0.0);
        QCOMPARE(s.diskWriteBytesPerSecond, 0.0);
        QCOMPARE(s.diskBytesWrittenSinceStart, uint64_t(9000) * 512);
        writeStats(10, 20 + 100);
        s = telemetry.sampleAt(5.0);
        QCOMPARE(s.diskBytesWrittenSinceStart, uint64_t(9100) * 512);
    }

    void temperatureFromHwmon() {
        unsigned major = 0, minor = 0;
        if (!tempDevice(major, minor))
            QSKIP("the temporary folder is on a device without a block device behind it (overlay or tmpfs)");
        const fs::path sys = root() / "sys";
        linkDevice(sys, major, minor, "pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1");
        {
            SystemTelemetry telemetry({root()}, nullptr, root() / "proc", sys);
            QCOMPARE(telemetry.devices(), std::vector<std::string>{"nvme0n1"});
            QVERIFY(std::isnan(telemetry.sampleAt(1).driveTemperatureC));
        }
        put(sys / "block/nvme0n1/device/hwmon2/temp1_input", "38000\n");
        {
            SystemTelemetry telemetry({root()}, nullptr, root() / "proc", sys);
            QCOMPARE(telemetry.sampleAt(1).driveTemperatureC, 38.0);
        }
        // The controller's sensor under /sys/class/nvme counts too; the hottest wins.
        put(sys / "class/nvme/nvme0/hwmon1/temp1_input", "55500\n");
        put(sys / "class/nvme/nvme0/hwmon1/temp2_input", "99000\n");
        SystemTelemetry telemetry({root()}, nullptr, root() / "proc", sys);
        QCOMPARE(telemetry.sampleAt(1).driveTemperatureC, 55.5);
        // An unreadable sensor is ignored.
        put(sys / "block/nvme0n1/device/hwmon3/temp1_input", "not a number\n");
        QCOMPARE(telemetry.sampleAt(2).driveTemperatureC, 55.5);
    }

    void gpuProbe() {
        SystemTelemetry withGpu({}, std::make_unique<FakeGpu>(true), root() / "proc", root() / "sys");
        TelemetrySnapshot s = withGpu.sampleAt(1);
        QVERIFY(s.gpuPresent);
        QCOMPARE(s.gpuName, std::string("Fake GPU 24GB"));
        QCOMPARE(s.vramTotal, uint64_t(24) << 30);
        QCOMPARE(s.vramUsed, uint64_t(5) << 30);

        SystemTelemetry noGpu({}, std::make_unique<FakeGpu>(false), root() / "proc", root() / "sys");
        s = noGpu.sampleAt(1);
        QVERIFY(!s.gpuPresent);
        QCOMPARE(s.vramTotal, uint64_t(0));
    }

    void realMachineIsSane() {
        SystemTelemetry telemetry({fs::current_path(), fs::temp_directory_path()});
        const TelemetrySnapshot first = telemetry.sample();
        const TelemetrySnapshot s = telemetry.sample();
        QVERIFY(s.ramTotal > 0);
        QVERIFY(s.ramAvailable <= s.ramTotal);
        QVERIFY(s.processRss > 0);
        QVERIFY(s.seconds >= first.seconds);
        QVERIFY(s.diskReadBytesPerSecond >= 0);
        QVERIFY(s.diskWriteBytesPerSecond >= 0);
        qInfo("watched devices: %d, temperature %f", int(s.devices.size()), s.driveTemperatureC);
    }
};

QTEST_GUILESS_MAIN(TestSystemTelemetry)
#include "test_system_telemetry.moc"
