// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/soc_sensors.h"

#include <gtest/gtest.h>

#include <fstream>

namespace kvmvnc::health {
namespace {

namespace fs = std::filesystem;

fs::path tree(const char *name) { return fs::path(KVMVNC_SYSFS_TREES) / name / "sys"; }

// A writable copy of a recorded tree (symlinks kept), for readings that change.
class SysfsCopy {
public:
    explicit SysfsCopy(const char *name) {
        root_ =
            fs::temp_directory_path() / ("kvmvnc-sysfs-" + std::to_string(::getpid()) + "-" + name);
        fs::remove_all(root_);
        fs::copy(tree(name), root_, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    }
    ~SysfsCopy() { fs::remove_all(root_); }
    const fs::path &root() const { return root_; }
    void write(const fs::path &relative, const std::string &text) const {
        std::ofstream(root_ / relative) << text << '\n';
    }

private:
    fs::path root_;
};

TEST(SocSensorsTest, APi4GivesTheCpuTemperatureAndEveryFirmwareFlag) {
    SocSensors sensors(tree("pi4"));
    SocReading reading = sensors.read();
    EXPECT_EQ(reading.milliCelsius, 61835);
    // 0x50005: under-voltage and throttled now, both also "since boot".
    EXPECT_EQ(reading.throttled, 0x50005u);
    EXPECT_EQ(sensors.description(),
              "temperature from thermal_zone0 (cpu-thermal), throttling from the firmware's "
              "get_throttled");
}

TEST(SocSensorsTest, WithoutGetThrottledTheUnderVoltageAlarmStandsIn) {
    SocSensors sensors(tree("pi5"));
    SocReading reading = sensors.read();
    EXPECT_EQ(reading.milliCelsius, 47200);
    EXPECT_EQ(reading.throttled, throttle::kUnderVoltage);
    EXPECT_NE(sensors.description().find("rpi_volt"), std::string::npos);
}

TEST(SocSensorsTest, GetThrottledIsFoundBesideTheHwmonWhereverTheFirmwareSits) {
    SysfsCopy sys("pi5");
    sys.write("devices/platform/axi/axi:firmware/get_throttled", "80008");
    SocSensors sensors(sys.root());
    EXPECT_EQ(sensors.read().throttled, 0x80008u);
}

TEST(SocSensorsTest, APcUsesThePackageSensorAndHasNoThrottlingFlags) {
    SocSensors sensors(tree("pc"));
    SocReading reading = sensors.read();
    EXPECT_EQ(reading.milliCelsius, 45000);  // x86_pkg_temp, not the ACPI zone
    EXPECT_FALSE(reading.throttled);
    EXPECT_EQ(sensors.description(),
              "temperature from thermal_zone1 (x86_pkg_temp), no throttling flags (not a "
              "Raspberry Pi)");
}

TEST(SocSensorsTest, AMachineWithoutSensorsReadsNothing) {
    SocSensors sensors(tree("none"));
    SocReading reading = sensors.read();
    EXPECT_FALSE(reading.milliCelsius);
    EXPECT_FALSE(reading.throttled);
    EXPECT_FALSE(SocSensors("/nonexistent").read().milliCelsius);
}

TEST(SocSensorsTest, EachReadSeesTheCurrentValues) {
    SysfsCopy sys("pi4");
    SocSensors sensors(sys.root());
    sys.write("devices/virtual/thermal/thermal_zone0/temp", "83000");
    sys.write("devices/platform/soc/soc:firmware/get_throttled", "0");
    SocReading reading = sensors.read();
    EXPECT_EQ(reading.milliCelsius, 83000);
    EXPECT_EQ(reading.throttled, 0u);
}

TEST(SocSensorsTest, AnUnreadableOrGarbledValueIsUnknownNotZero) {
    SysfsCopy sys("pi4");
    SocSensors sensors(sys.root());
    sys.write("devices/virtual/thermal/thermal_zone0/temp", "hot");
    fs::remove(sys.root() / "devices/platform/soc/soc:firmware/get_throttled");
    SocReading reading = sensors.read();
    EXPECT_FALSE(reading.milliCelsius);
    EXPECT_FALSE(reading.throttled);
}

TEST(SocSensorsTest, FlagNames) {
    EXPECT_EQ(throttleFlagNames(0), "");
    EXPECT_EQ(throttleFlagNames(throttle::kUnderVoltage | throttle::kThrottled),
              "under-voltage, throttled");
    EXPECT_EQ(throttleFlagNames(throttle::kNowMask),
              "under-voltage, frequency capped, throttled, soft temperature limit");
}

}  // namespace
}  // namespace kvmvnc::health
