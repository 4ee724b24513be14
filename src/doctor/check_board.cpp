// SPDX-License-Identifier: GPL-2.0-or-later
// The board: its supply (the firmware's throttling flags) and temperature.
#include <cstdio>

#include "checks.h"
#include "kvmvnc/health/throttle_flags.h"

namespace kvmvnc::doctor::checks {

HardwareCheck powerCheck(const health::SocReading &reading) {
    namespace throttle = health::throttle;
    HardwareCheck check{"power", Status::Skipped, {}, {}};
    if (!reading.throttled) {
        check.finding = "no throttling flags (not a Raspberry Pi)";
        return check;
    }
    const uint32_t now = *reading.throttled & throttle::kNowMask;
    const uint32_t past =
        (*reading.throttled & throttle::kOccurredMask) >> throttle::kOccurredShift;
    const bool underVoltage = (now | past) & throttle::kUnderVoltage;
    if (now == 0 && past == 0) {
        check.status = Status::Ok;
        check.finding = "no under-voltage or throttling since boot";
        return check;
    }
    check.status = Status::Warning;
    check.finding = now != 0 ? health::throttleFlagNames(now) + " now" : "";
    if (past != 0)
        check.finding +=
            (check.finding.empty() ? "" : "; ") + health::throttleFlagNames(past) + " since boot";
    check.fix = underVoltage ? "use a 5.1 V supply of 3 A (5 A for a Pi 5) and a short cable; "
                               "do not power the Pi from the target"
                             : "cool the board (heatsink, fan, airflow)";
    return check;
}

HardwareCheck temperatureCheck(const Context &context, const health::SocReading &reading) {
    HardwareCheck check{"temperature", Status::Skipped, {}, {}};
    if (!reading.milliCelsius) {
        check.finding = "no temperature sensor";
        return check;
    }
    char degrees[32];
    std::snprintf(degrees, sizeof(degrees), "%.1f C", *reading.milliCelsius / 1000.0);
    const int hot = context.config.health.hotCelsius;
    if (*reading.milliCelsius >= hot * 1000) {
        check.status = Status::Warning;
        check.finding = std::string(degrees) + ", at or over " + std::to_string(hot) +
                        " C ([health] hot_celsius)";
        check.fix = "cool the board (heatsink, fan, airflow)";
    } else {
        check.status = Status::Ok;
        check.finding = degrees;
    }
    return check;
}

}  // namespace kvmvnc::doctor::checks
