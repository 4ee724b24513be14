// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/frame_source.h"

namespace kvmvnc::health {

// Everything the daemon tells about its own health at one moment.
struct HealthSnapshot {
    std::optional<int32_t> milliCelsius;  // SoC temperature, if a sensor exists
    std::optional<uint32_t> throttled;    // throttle:: bits, on a Raspberry Pi
    bool hot = false;                     // at or over [health] hot_celsius
    capture::SignalState signal = capture::SignalState::Ok;
    Size picture;                 // the last captured picture's size
    uint64_t framesCaptured = 0;  // since start
    uint32_t fpsHundredths = 0;   // captured frames per second x 100, last interval
    uint32_t viewers = 0;         // RFB connections
    bool operator==(const HealthSnapshot &) const = default;
};

// Whether the SoC is too hot: at `hotCelsius` or over, and, once hot, until
// it has cooled 3 degrees below it (so a temperature hovering at the limit
// does not flood the log).
bool isHot(std::optional<int32_t> milliCelsius, int hotCelsius, bool wasHot);

struct HealthEvent {
    log::Level level;
    std::string text;
};

// What a person should read in the log when the health goes from `before`
// (null at start) to `now`: too hot and cool again, every throttling
// condition that starts or ends, and each "has occurred since boot" flag
// once. Capture and viewer changes are logged by their own stages.
std::vector<HealthEvent> healthEvents(const HealthSnapshot *before, const HealthSnapshot &now,
                                      int hotCelsius);

// Whether `now` is worth pushing to viewers after `pushed`: any flag, the
// signal, the picture size or the viewer count changed, the temperature moved
// by a degree or more, or the frame rate by one frame per second or more.
bool worthPushing(const HealthSnapshot &pushed, const HealthSnapshot &now);

// The Prometheus text exposition format (version 0.0.4) of a snapshot.
std::string prometheusText(const HealthSnapshot &snapshot);

}  // namespace kvmvnc::health
