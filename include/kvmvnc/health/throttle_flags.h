// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <utility>

// The health stage: how the board itself is doing (heat, power), next to
// what the other stages already know (capture, viewers). This header is
// self-contained so that kvmvncctl can name the flags without linking it.
namespace kvmvnc::health {

// The Raspberry Pi firmware's throttling flags, the bits of
// `vcgencmd get_throttled`: bits 0-3 hold now, bits 16-19 the same
// conditions "has occurred since boot".
namespace throttle {
inline constexpr uint32_t kUnderVoltage = 1u << 0;
inline constexpr uint32_t kFrequencyCapped = 1u << 1;
inline constexpr uint32_t kThrottled = 1u << 2;
inline constexpr uint32_t kSoftTemperatureLimit = 1u << 3;
inline constexpr uint32_t kNowMask = 0xfu;
inline constexpr int kOccurredShift = 16;
inline constexpr uint32_t kOccurredMask = kNowMask << kOccurredShift;
}  // namespace throttle

// "under-voltage, throttled" for the bits in `flags & kNowMask` (or in the
// "occurred" half shifted down by the caller); "" when none.
inline std::string throttleFlagNames(uint32_t nowBits) {
    constexpr std::pair<uint32_t, const char *> kNames[] = {
        {throttle::kUnderVoltage, "under-voltage"},
        {throttle::kFrequencyCapped, "frequency capped"},
        {throttle::kThrottled, "throttled"},
        {throttle::kSoftTemperatureLimit, "soft temperature limit"},
    };
    std::string names;
    for (auto [bit, name] : kNames) {
        if (!(nowBits & bit))
            continue;
        if (!names.empty())
            names += ", ";
        names += name;
    }
    return names;
}

}  // namespace kvmvnc::health
