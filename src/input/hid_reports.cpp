// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/hid_reports.h"

#include <algorithm>

#include "kvmvnc/input/hid_usage.h"

namespace kvmvnc::input {

bool KeyboardState::press(uint8_t u) {
    const KeyboardReport before = report();
    if (isModifierUsage(u)) {
        modifiers_ |= modifierBit(u);
    } else if (u != 0 && std::find(keys_.begin(), keys_.end(), u) == keys_.end()) {
        keys_.push_back(u);
    }
    return report() != before;
}

bool KeyboardState::release(uint8_t u) {
    const KeyboardReport before = report();
    if (isModifierUsage(u))
        modifiers_ &= static_cast<uint8_t>(~modifierBit(u));
    else
        keys_.erase(std::remove(keys_.begin(), keys_.end(), u), keys_.end());
    return report() != before;
}

bool KeyboardState::releaseAll() {
    const KeyboardReport before = report();
    modifiers_ = add_ = remove_ = 0;
    keys_.clear();
    return report() != before;
}

bool KeyboardState::setModifierOverride(uint8_t add, uint8_t remove) {
    const KeyboardReport before = report();
    add_ = add;
    remove_ = remove;
    return report() != before;
}

bool KeyboardState::isPressed(uint8_t u) const {
    if (isModifierUsage(u))
        return (modifiers_ & modifierBit(u)) != 0;
    return std::find(keys_.begin(), keys_.end(), u) != keys_.end();
}

KeyboardReport KeyboardState::report() const {
    KeyboardReport out{};
    out[0] = static_cast<uint8_t>((modifiers_ & ~remove_) | add_);
    if (keys_.size() > 6) {
        std::fill(out.begin() + 2, out.end(), usage::kErrorRollOver);
        return out;
    }
    std::copy(keys_.begin(), keys_.end(), out.begin() + 2);
    return out;
}

uint8_t hidButtons(uint8_t rfbButtons) {
    return static_cast<uint8_t>(((rfbButtons & rfbbutton::kLeft) ? 0x01 : 0) |
                                ((rfbButtons & rfbbutton::kRight) ? 0x02 : 0) |
                                ((rfbButtons & rfbbutton::kMiddle) ? 0x04 : 0) |
                                ((rfbButtons & rfbbutton::kBack) ? 0x08 : 0));
}

namespace {

// RFB wheels are buttons pressed and released once per notch: one step for
// each newly pressed wheel button, up/right positive.
int wheelSteps(uint8_t pressed, uint8_t positive, uint8_t negative) {
    return ((pressed & positive) ? 1 : 0) - ((pressed & negative) ? 1 : 0);
}

}  // namespace

uint16_t MouseState::scale(int position, int extent) {
    if (extent <= 1)
        return 0;
    const long clamped = std::clamp(position, 0, extent - 1);
    return static_cast<uint16_t>((clamped * kMaxCoordinate + (extent - 1) / 2) / (extent - 1));
}

AbsoluteMouseReport MouseState::make(int8_t wheel, int8_t pan) const {
    return {hidButtons_,
            static_cast<uint8_t>(x_ & 0xff),
            static_cast<uint8_t>(x_ >> 8),
            static_cast<uint8_t>(y_ & 0xff),
            static_cast<uint8_t>(y_ >> 8),
            static_cast<uint8_t>(wheel),
            static_cast<uint8_t>(pan)};
}

std::vector<AbsoluteMouseReport> MouseState::apply(uint8_t rfbButtons, int x, int y, Size screen) {
    const uint8_t pressed = static_cast<uint8_t>(rfbButtons & ~rfbButtons_);
    rfbButtons_ = rfbButtons;
    hidButtons_ = hidButtons(rfbButtons);
    x_ = scale(x, screen.width);
    y_ = scale(y, screen.height);

    std::vector<AbsoluteMouseReport> reports;
    reports.push_back(make(0, 0));
    const auto wheel =
        static_cast<int8_t>(wheelSteps(pressed, rfbbutton::kWheelUp, rfbbutton::kWheelDown));
    const auto pan =
        static_cast<int8_t>(wheelSteps(pressed, rfbbutton::kWheelRight, rfbbutton::kWheelLeft));
    if (wheel != 0 || pan != 0)
        reports.push_back(make(wheel, pan));
    return reports;
}

AbsoluteMouseReport MouseState::releaseAll() {
    rfbButtons_ = 0;
    hidButtons_ = 0;
    return make(0, 0);
}

RelativeMouseReport RelativeMouseState::make(int dx, int dy, int wheel, int pan) const {
    return {hidButtons_, static_cast<uint8_t>(static_cast<int8_t>(dx)),
            static_cast<uint8_t>(static_cast<int8_t>(dy)),
            static_cast<uint8_t>(static_cast<int8_t>(wheel)),
            static_cast<uint8_t>(static_cast<int8_t>(pan))};
}

std::vector<RelativeMouseReport> RelativeMouseState::apply(uint8_t rfbButtons, int x, int y) {
    std::vector<RelativeMouseReport> reports;
    int dx = positionKnown_ ? x - x_ : 0;
    int dy = positionKnown_ ? y - y_ : 0;
    positionKnown_ = true;
    x_ = x;
    y_ = y;
    // The way there with the buttons as they were (a drag keeps its button).
    while (dx != 0 || dy != 0) {
        const int stepX = std::clamp(dx, -kMaxStep, kMaxStep);
        const int stepY = std::clamp(dy, -kMaxStep, kMaxStep);
        reports.push_back(make(stepX, stepY, 0, 0));
        dx -= stepX;
        dy -= stepY;
    }
    const uint8_t pressed = static_cast<uint8_t>(rfbButtons & ~rfbButtons_);
    rfbButtons_ = rfbButtons;
    const uint8_t buttons = hidButtons(rfbButtons);
    const int wheel = wheelSteps(pressed, rfbbutton::kWheelUp, rfbbutton::kWheelDown);
    const int pan = wheelSteps(pressed, rfbbutton::kWheelRight, rfbbutton::kWheelLeft);
    if (buttons != hidButtons_ || wheel != 0 || pan != 0) {
        hidButtons_ = buttons;
        reports.push_back(make(0, 0, wheel, pan));
    }
    return reports;
}

RelativeMouseReport RelativeMouseState::releaseAll() {
    rfbButtons_ = 0;
    hidButtons_ = 0;
    return make(0, 0, 0, 0);
}

}  // namespace kvmvnc::input
