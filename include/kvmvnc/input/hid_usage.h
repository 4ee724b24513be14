// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>

namespace kvmvnc::input {

// USB HID Keyboard/Keypad page (0x07) usages and the boot report's modifier
// bits. Modifier keys have usages 0xE0..0xE7 and, in reports, are carried as
// bits of the first byte instead of in the key slots.
namespace usage {
inline constexpr uint8_t kErrorRollOver = 0x01;
inline constexpr uint8_t kA = 0x04;
inline constexpr uint8_t kEnter = 0x28;
inline constexpr uint8_t kEscape = 0x29;
inline constexpr uint8_t kBackspace = 0x2a;
inline constexpr uint8_t kTab = 0x2b;
inline constexpr uint8_t kSpace = 0x2c;
inline constexpr uint8_t kCapsLock = 0x39;
inline constexpr uint8_t kF1 = 0x3a;
inline constexpr uint8_t kDelete = 0x4c;
inline constexpr uint8_t kNumLock = 0x53;
inline constexpr uint8_t kScrollLock = 0x47;
inline constexpr uint8_t kLeftControl = 0xe0;
inline constexpr uint8_t kLeftShift = 0xe1;
inline constexpr uint8_t kLeftAlt = 0xe2;
inline constexpr uint8_t kLeftGui = 0xe3;
inline constexpr uint8_t kRightControl = 0xe4;
inline constexpr uint8_t kRightShift = 0xe5;
inline constexpr uint8_t kRightAlt = 0xe6;
inline constexpr uint8_t kRightGui = 0xe7;
}  // namespace usage

// Modifier bits of the boot keyboard report's first byte.
namespace modifier {
inline constexpr uint8_t kLeftControl = 0x01;
inline constexpr uint8_t kLeftShift = 0x02;
inline constexpr uint8_t kLeftAlt = 0x04;
inline constexpr uint8_t kLeftGui = 0x08;
inline constexpr uint8_t kRightControl = 0x10;
inline constexpr uint8_t kRightShift = 0x20;
inline constexpr uint8_t kRightAlt = 0x40;  // AltGr on most layouts
inline constexpr uint8_t kRightGui = 0x80;
inline constexpr uint8_t kShift = kLeftShift | kRightShift;
inline constexpr uint8_t kAltGr = kRightAlt;
}  // namespace modifier

// LED bits of the boot keyboard output report.
namespace led {
inline constexpr uint8_t kNumLock = 0x01;
inline constexpr uint8_t kCapsLock = 0x02;
inline constexpr uint8_t kScrollLock = 0x04;
}  // namespace led

inline bool isModifierUsage(uint8_t u) { return u >= usage::kLeftControl && u <= usage::kRightGui; }
inline uint8_t modifierBit(uint8_t u) {
    return static_cast<uint8_t>(1u << (u - usage::kLeftControl));
}

// Linux evdev key code (KEY_*) to HID usage.
std::optional<uint8_t> usageForEvdev(uint16_t evdevCode);

// Key code of RFB's QEMU Extended Key Event to HID usage. The code is an XT
// (scan code set 1) make code; keys sent with an 0xE0 prefix have 0x80 added
// (0xE0 0x1D, Right Control, is 0x9D), as QEMU, TigerVNC and noVNC encode it.
std::optional<uint8_t> usageForXtKeycode(uint32_t keycode);

// Layout-independent keysyms (modifiers, function, editing, cursor and keypad
// keys) to HID usage.
std::optional<uint8_t> usageForSpecialKeysym(uint32_t keysym);

}  // namespace kvmvnc::input
