// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/soc_sensors.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <system_error>
#include <vector>

namespace kvmvnc::health {

namespace fs = std::filesystem;

namespace {

// The first line of a sysfs attribute, without its newline; nullopt when it
// cannot be read (gone, no permission, a driver error such as EIO).
std::optional<std::string> readAttribute(const fs::path &path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line))
        return std::nullopt;
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ' || line.back() == '\r'))
        line.pop_back();
    return line;
}

template <typename T>
std::optional<T> parseNumber(const std::optional<std::string> &text, int base) {
    if (!text || text->empty())
        return std::nullopt;
    std::string_view digits = *text;
    if (base == 16 && (digits.starts_with("0x") || digits.starts_with("0X")))
        digits.remove_prefix(2);
    T value{};
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (error != std::errc{} || end != digits.data() + digits.size())
        return std::nullopt;
    return value;
}

// thermal_zoneN and hwmonN entries of a class directory, by N.
std::vector<fs::path> numberedEntries(const fs::path &directory, std::string_view prefix) {
    std::vector<std::pair<unsigned, fs::path>> found;
    std::error_code error;
    for (const auto &entry : fs::directory_iterator(directory, error)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with(prefix))
            continue;
        if (auto number = parseNumber<unsigned>(name.substr(prefix.size()), 10))
            found.emplace_back(*number, entry.path());
    }
    std::sort(found.begin(), found.end());
    std::vector<fs::path> paths;
    paths.reserve(found.size());
    for (auto &[number, path] : found)
        paths.push_back(std::move(path));
    return paths;
}

bool namesTheSoc(const std::string &type) {
    return type.find("cpu") != std::string::npos || type.find("soc") != std::string::npos ||
           type == "x86_pkg_temp";
}

bool pathExists(const fs::path &path) {
    std::error_code error;
    return fs::exists(path, error);
}

}  // namespace

SocSensors::SocSensors(const fs::path &sysfsRoot) {
    std::optional<fs::path> firstZone;
    for (const fs::path &zone : numberedEntries(sysfsRoot / "class/thermal", "thermal_zone")) {
        if (!pathExists(zone / "temp"))
            continue;
        std::string type = readAttribute(zone / "type").value_or("");
        if (!firstZone) {
            firstZone = zone;
            temperatureName_ = zone.filename().string() + " (" + type + ")";
        }
        if (namesTheSoc(type)) {
            firstZone = zone;
            temperatureName_ = zone.filename().string() + " (" + type + ")";
            break;
        }
    }
    if (firstZone)
        temperatureFile_ = *firstZone / "temp";

    const fs::path firmware = sysfsRoot / "devices/platform/soc/soc:firmware/get_throttled";
    if (pathExists(firmware))
        throttledFile_ = firmware;
    for (const fs::path &hwmon : numberedEntries(sysfsRoot / "class/hwmon", "hwmon")) {
        if (!throttledFile_.empty())
            break;
        if (readAttribute(hwmon / "name") != "rpi_volt")
            continue;
        // The hwmon device is the firmware device's child on every Pi, whatever
        // the platform bus path is called.
        const fs::path beside = hwmon / "device/../get_throttled";
        if (pathExists(beside))
            throttledFile_ = beside;
        else if (pathExists(hwmon / "in0_lcrit_alarm"))
            underVoltageAlarm_ = hwmon / "in0_lcrit_alarm";
    }
}

SocReading SocSensors::read() const {
    SocReading reading;
    if (!temperatureFile_.empty())
        reading.milliCelsius = parseNumber<int32_t>(readAttribute(temperatureFile_), 10);
    if (!throttledFile_.empty()) {
        reading.throttled = parseNumber<uint32_t>(readAttribute(throttledFile_), 16);
    } else if (!underVoltageAlarm_.empty()) {
        if (auto alarm = parseNumber<uint32_t>(readAttribute(underVoltageAlarm_), 10))
            reading.throttled = *alarm ? throttle::kUnderVoltage : 0u;
    }
    return reading;
}

std::string SocSensors::description() const {
    std::string text =
        temperatureFile_.empty() ? "no temperature sensor" : "temperature from " + temperatureName_;
    if (!throttledFile_.empty())
        text += ", throttling from the firmware's get_throttled";
    else if (!underVoltageAlarm_.empty())
        text += ", under-voltage from rpi_volt's in0_lcrit_alarm";
    else
        text += ", no throttling flags (not a Raspberry Pi)";
    return text;
}

}  // namespace kvmvnc::health
