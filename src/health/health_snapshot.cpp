// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/health_snapshot.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "kvmvnc/health/soc_sensors.h"

namespace kvmvnc::health {

namespace {

constexpr int kCoolingMargin = 3;  // degrees below the limit before "cool again"

std::string celsius(int32_t milliCelsius) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f C", milliCelsius / 1000.0);
    return text;
}

void appendMetric(std::string &out, const char *name, const char *type, const char *help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// The shortest text that reads back as the same double.
void appendSample(std::string &out, const std::string &name, double value) {
    char text[64];
    auto [end, error] = std::to_chars(text, text + sizeof text, value);
    out += name;
    out += ' ';
    out.append(text, error == std::errc{} ? end : text);
    out += '\n';
}

}  // namespace

bool isHot(std::optional<int32_t> milliCelsius, int hotCelsius, bool wasHot) {
    if (!milliCelsius)
        return false;
    const int limit = wasHot ? hotCelsius - kCoolingMargin : hotCelsius;
    return *milliCelsius >= limit * 1000;
}

std::vector<HealthEvent> healthEvents(const HealthSnapshot *before, const HealthSnapshot &now,
                                      int hotCelsius) {
    std::vector<HealthEvent> events;
    const bool wasHot = before && before->hot;
    if (now.hot && !wasHot)
        events.push_back({log::Level::Warning, "the SoC is too hot: " + celsius(*now.milliCelsius) +
                                                   " (limit " + std::to_string(hotCelsius) +
                                                   " C); give it a heatsink or a fan"});
    else if (!now.hot && wasHot && now.milliCelsius)
        events.push_back({log::Level::Info, "the SoC has cooled to " + celsius(*now.milliCelsius)});

    const uint32_t oldBits = before && before->throttled ? *before->throttled : 0;
    if (now.throttled) {
        const uint32_t newBits = *now.throttled;
        const uint32_t started = newBits & ~oldBits & throttle::kNowMask;
        const uint32_t ended = oldBits & ~newBits & throttle::kNowMask;
        if (started) {
            std::string text = throttleFlagNames(started);
            if (started & throttle::kUnderVoltage)
                text +=
                    ": the power supply cannot hold 5 V (use a 3 A supply, do not power the "
                    "Pi through the OTG port alone)";
            events.push_back({log::Level::Warning, "now " + text});
        }
        if (ended)
            events.push_back({log::Level::Info, "no longer " + throttleFlagNames(ended)});
        // Conditions that came and went between two samples, and those
        // already past when the daemon started.
        const uint32_t occurred =
            ((newBits & ~oldBits) >> throttle::kOccurredShift) & throttle::kNowMask & ~started;
        if (occurred)
            events.push_back(
                {log::Level::Warning, "since boot: " + throttleFlagNames(occurred) + " occurred"});
    }
    return events;
}

bool worthPushing(const HealthSnapshot &pushed, const HealthSnapshot &now) {
    if (pushed.hot != now.hot || pushed.throttled != now.throttled || pushed.signal != now.signal ||
        pushed.picture != now.picture || pushed.viewers != now.viewers ||
        pushed.milliCelsius.has_value() != now.milliCelsius.has_value())
        return true;
    if (now.milliCelsius && std::abs(*now.milliCelsius - *pushed.milliCelsius) >= 1000)
        return true;
    return std::abs(static_cast<int64_t>(now.fpsHundredths) - pushed.fpsHundredths) >= 100;
}

std::string prometheusText(const HealthSnapshot &snapshot) {
    std::string out;
    if (snapshot.milliCelsius) {
        appendMetric(out, "kvmvnc_soc_temperature_celsius", "gauge", "Temperature of the SoC.");
        appendSample(out, "kvmvnc_soc_temperature_celsius", *snapshot.milliCelsius / 1000.0);
        appendMetric(out, "kvmvnc_soc_too_hot", "gauge",
                     "1 while the SoC is at or over [health] hot_celsius.");
        appendSample(out, "kvmvnc_soc_too_hot", snapshot.hot ? 1 : 0);
    }
    if (snapshot.throttled) {
        appendMetric(out, "kvmvnc_soc_throttled", "gauge",
                     "Raspberry Pi firmware flags (vcgencmd get_throttled): 1 when set.");
        static constexpr std::pair<uint32_t, const char *> kFlags[] = {
            {throttle::kUnderVoltage, "under_voltage"},
            {throttle::kFrequencyCapped, "frequency_capped"},
            {throttle::kThrottled, "throttled"},
            {throttle::kSoftTemperatureLimit, "soft_temperature_limit"},
        };
        for (const char *when : {"now", "since_boot"}) {
            const int shift = when[0] == 'n' ? 0 : throttle::kOccurredShift;
            for (auto [bit, flag] : kFlags)
                appendSample(out,
                             std::string("kvmvnc_soc_throttled{flag=\"") + flag + "\",when=\"" +
                                 when + "\"}",
                             (*snapshot.throttled >> shift) & bit ? 1 : 0);
        }
    }
    appendMetric(out, "kvmvnc_capture_signal", "gauge",
                 "1 for the capture's current state: ok, or why there is no picture.");
    for (auto state :
         {capture::SignalState::Ok, capture::SignalState::NoSignal, capture::SignalState::NoSync,
          capture::SignalState::OutOfRange, capture::SignalState::NoCable,
          capture::SignalState::NoDevice, capture::SignalState::DeviceError})
        appendSample(out,
                     std::string("kvmvnc_capture_signal{state=\"") + signalStateName(state) + "\"}",
                     snapshot.signal == state ? 1 : 0);
    appendMetric(out, "kvmvnc_capture_frames_total", "counter", "Pictures captured since start.");
    appendSample(out, "kvmvnc_capture_frames_total", static_cast<double>(snapshot.framesCaptured));
    appendMetric(out, "kvmvnc_capture_fps", "gauge", "Pictures captured per second, lately.");
    appendSample(out, "kvmvnc_capture_fps", snapshot.fpsHundredths / 100.0);
    appendMetric(out, "kvmvnc_capture_width_pixels", "gauge", "Width of the captured picture.");
    appendSample(out, "kvmvnc_capture_width_pixels", snapshot.picture.width);
    appendMetric(out, "kvmvnc_capture_height_pixels", "gauge", "Height of the captured picture.");
    appendSample(out, "kvmvnc_capture_height_pixels", snapshot.picture.height);
    appendMetric(out, "kvmvnc_viewers", "gauge", "RFB connections (viewers and kvmvncctl).");
    appendSample(out, "kvmvnc_viewers", snapshot.viewers);
    return out;
}

}  // namespace kvmvnc::health
