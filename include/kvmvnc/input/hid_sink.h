// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <functional>

#include "kvmvnc/input/hid_reports.h"

namespace kvmvnc::input {

enum class HidWriteResult {
    Ok,
    HostNotListening,  // unplugged, suspended, or the gadget is not bound
    Failed,            // the device is missing or failing
};

// The target's side of the USB cable: where keyboard and mouse reports go,
// and where the keyboard's LED state (set by the target) comes from. Two
// families implement it: the Linux HID gadget devices (/dev/hidgN) and the
// virtual target.
//
// Writes come from libvncserver's viewer input threads, serialised by the
// InputRouter; implementations must not block.
class HidSink {
public:
    using LedCallback = std::function<void(uint8_t leds)>;

    virtual ~HidSink() = default;
    virtual HidWriteResult writeKeyboard(const KeyboardReport &report) = 0;
    virtual HidWriteResult writeMouse(const AbsoluteMouseReport &report) = 0;
    // `callback` gets the LED bits (led::kNumLock...) whenever the target
    // changes them, from a thread of the sink's own.
    virtual void setLedCallback(LedCallback callback) = 0;
};

}  // namespace kvmvnc::input
