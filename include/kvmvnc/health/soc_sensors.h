// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "kvmvnc/health/throttle_flags.h"

namespace kvmvnc::health {

struct SocReading {
    std::optional<int32_t> milliCelsius;  // SoC temperature
    std::optional<uint32_t> throttled;    // throttle:: bits
};

// Reads the SoC's temperature and the Pi's throttling flags from sysfs, found
// once at construction under `sysfsRoot` (so tests use recorded trees):
//  - temperature: the thermal zone whose type names the CPU or SoC
//    ("cpu-thermal" on a Pi, "x86_pkg_temp" on a PC), else thermal_zone0;
//  - throttling: the firmware's get_throttled file (hex, all the bits) where
//    the kernel still has it, else the rpi_volt hwmon's in0_lcrit_alarm
//    (under-voltage seen in the firmware's last poll, about 2 s: bit 0 only).
// vcgencmd is not run: it needs /dev/vchiq, which the daemon's user lacks,
// and the same numbers are in sysfs.
//
// read() opens the files anew each time; any thread, no state.
class SocSensors {
public:
    explicit SocSensors(const std::filesystem::path &sysfsRoot = "/sys");

    SocReading read() const;
    // What was found, for the start-up log: "temperature from thermal_zone0
    // (cpu-thermal), throttling from get_throttled".
    std::string description() const;

private:
    std::filesystem::path temperatureFile_;
    std::string temperatureName_;
    std::filesystem::path throttledFile_;      // hex bits
    std::filesystem::path underVoltageAlarm_;  // 0 or 1
};

}  // namespace kvmvnc::health
