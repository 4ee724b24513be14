// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <string>

namespace kvmvnc::atx {

enum class Button { Power, Reset };

// What the target's front-panel LEDs show, as logical levels (lit = true),
// active-low wiring already undone.
struct LedLevels {
    bool power = false;
    bool hdd = false;
    bool operator==(const LedLevels &) const = default;
};

// The seam to the front panel: two buttons to hold and two LEDs to read.
// GpioAtxPins (libgpiod) wires it to relays and optocouplers on GPIO lines;
// target::VirtualAtxPins to the virtual target's machine. Called from
// AtxController's thread only, except hasButton() and description(), which
// report what was wired at construction and may be called from any thread.
class AtxPins {
public:
    virtual ~AtxPins() = default;

    // Whether `button` is wired at all (AtxController answers Unsupported
    // for one that is not, before trying to press it).
    virtual bool hasButton(Button button) const = 0;
    // Presses (true) or releases (false) a button. False with `error` set
    // when the hardware refused; a button that is not wired reports that.
    virtual bool setButton(Button button, bool pressed, std::string &error) = 0;
    // The LEDs now. An LED that is not wired reads dark.
    virtual LedLevels readLeds() = 0;
    // Sleeps until an LED may have changed (an edge) or `timeout` passes.
    // Implementations without edge events just sleep.
    virtual void waitForLedEdge(std::chrono::milliseconds timeout) = 0;
    // "gpiochip0 lines 23/27 in 24/22" or "virtual target".
    virtual std::string description() const = 0;
};

}  // namespace kvmvnc::atx
