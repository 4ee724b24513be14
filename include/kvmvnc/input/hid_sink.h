// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
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
// Writes come from libvncserver's viewer input threads and the typist,
// serialised by the InputRouter; implementations must not block, and must
// deliver reports in order without merging them (a press and its release
// written back to back are two keystrokes).
class HidSink {
public:
    using LedCallback = std::function<void(uint8_t leds)>;
    using HostCallback = std::function<void(bool listening)>;

    virtual ~HidSink() = default;
    virtual HidWriteResult writeKeyboard(const KeyboardReport &report) = 0;
    virtual HidWriteResult writeMouse(const AbsoluteMouseReport &report) = 0;
    // The mouse as a relative (boot) mouse, for [hid] mouse_mode = relative.
    virtual HidWriteResult writeRelativeMouse(const RelativeMouseReport &report) = 0;
    // `callback` gets the LED bits (led::kNumLock...) whenever the target
    // changes them, from a thread of the sink's own.
    virtual void setLedCallback(LedCallback callback) = 0;
    // `callback` gets whether the target's USB host reads the reports, each
    // time that changes, from a thread of the sink's own or from the writer's.
    virtual void setHostCallback(HostCallback callback) = 0;
    // True until the sink has reason to believe otherwise.
    virtual bool hostListening() const = 0;
    // Waits until the reports written so far have reached the host: false
    // when it is not listening or `timeout` passed. Sinks that deliver as
    // they are written have nothing to wait for.
    virtual bool waitUntilWritten(std::chrono::milliseconds timeout) {
        (void)timeout;
        return hostListening();
    }
};

}  // namespace kvmvnc::input
