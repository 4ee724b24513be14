// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kvmvnc/base/geometry.h"

namespace kvmvnc::input {

// The boot protocol keyboard report: modifier bits, a reserved byte, and up
// to six pressed keys. What BIOSes, UEFI and every OS accept.
using KeyboardReport = std::array<uint8_t, 8>;

// The absolute mouse report of our gadget's descriptor (hid_descriptors.h):
// buttons, X and Y as little-endian 0..32767, vertical wheel, horizontal
// wheel (AC Pan), both -127..127.
using AbsoluteMouseReport = std::array<uint8_t, 7>;

// The relative (boot) mouse report: buttons, then X, Y, vertical wheel and
// horizontal wheel (AC Pan) as signed steps, each -127..127.
using RelativeMouseReport = std::array<uint8_t, 5>;

// Which kind of mouse the target is given ([hid] mouse_mode).
enum class MouseMode { Absolute, Relative };

// What a keyboard holds down. Keys are kept in the order they were pressed.
// With more than six non-modifier keys down the report says ErrorRollOver in
// every slot, as a real boot keyboard does. Not thread-safe.
class KeyboardState {
public:
    // Return true when the report changed.
    bool press(uint8_t usage);
    bool release(uint8_t usage);
    bool releaseAll();
    // Modifier bits added to (`add`) and removed from (`remove`) what is held,
    // for the next reports: how a keysym typed on one layout gets the Shift or
    // AltGr the target's layout needs.
    bool setModifierOverride(uint8_t add, uint8_t remove);

    bool isPressed(uint8_t usage) const;
    uint8_t heldModifiers() const { return modifiers_; }
    KeyboardReport report() const;

private:
    uint8_t modifiers_ = 0;
    uint8_t add_ = 0;
    uint8_t remove_ = 0;
    std::vector<uint8_t> keys_;  // pressed non-modifier usages, oldest first
};

// RFB pointer button mask bits.
namespace rfbbutton {
inline constexpr uint8_t kLeft = 0x01;
inline constexpr uint8_t kMiddle = 0x02;
inline constexpr uint8_t kRight = 0x04;
inline constexpr uint8_t kWheelUp = 0x08;
inline constexpr uint8_t kWheelDown = 0x10;
inline constexpr uint8_t kWheelLeft = 0x20;
inline constexpr uint8_t kWheelRight = 0x40;
inline constexpr uint8_t kBack = 0x80;
}  // namespace rfbbutton

// The absolute pointer: RFB gives framebuffer pixels, USB wants 0..32767 over
// the whole screen. Wheel "buttons" of RFB become one wheel step per press.
// Not thread-safe.
class MouseState {
public:
    static constexpr int kMaxCoordinate = 32767;

    // Applies one RFB pointer event on a framebuffer of `screen` size and
    // returns the reports to send (more than one when the event both moved
    // and scrolled, so the scroll lands where the pointer is).
    std::vector<AbsoluteMouseReport> apply(uint8_t rfbButtons, int x, int y, Size screen);
    // A report with every button up at the current position.
    AbsoluteMouseReport releaseAll();

    static uint16_t scale(int position, int extent);

private:
    AbsoluteMouseReport make(int8_t wheel, int8_t pan) const;

    uint8_t rfbButtons_ = 0;
    uint8_t hidButtons_ = 0;
    uint16_t x_ = 0;
    uint16_t y_ = 0;
};

// HID buttons (1 left, 2 right, 3 middle, 4 back) of an RFB button mask.
uint8_t hidButtons(uint8_t rfbButtons);

// The relative pointer: RFB gives where the viewer's pointer is, a relative
// mouse can only say how far it moved. The movement between two events is
// sent in steps of at most 127 counts (one count is one pixel of the
// framebuffer for a target without pointer acceleration), then the button
// change, so a click lands where the pointer arrived. The first event only
// records where the viewer's pointer is: the target's pointer is wherever it
// is, and no movement is invented. Not thread-safe.
class RelativeMouseState {
public:
    static constexpr int kMaxStep = 127;

    std::vector<RelativeMouseReport> apply(uint8_t rfbButtons, int x, int y);
    // A report with every button up and no movement.
    RelativeMouseReport releaseAll();

private:
    RelativeMouseReport make(int dx, int dy, int wheel, int pan) const;

    uint8_t rfbButtons_ = 0;
    uint8_t hidButtons_ = 0;
    bool positionKnown_ = false;
    int x_ = 0;
    int y_ = 0;
};

}  // namespace kvmvnc::input
