// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kvmvnc/atx/atx_pins.h"

namespace kvmvnc::atx {

enum class AtxAction : uint8_t {
    PowerClick = 1,      // what a finger on the power button does: on, or ACPI off
    PowerLongPress = 2,  // held until the PSU cuts power (forced off)
    ResetClick = 3,
    WakeOnLan = 4,  // magic packet to [atx] wol_mac
};

enum class AtxResult : uint8_t {
    Ok = 0,           // accepted; state() shows it running
    Busy = 1,         // another action runs, or its busy_after time has not passed
    Unsupported = 2,  // the button is not wired, or no wol_mac
    Failed = 3,       // the hardware refused (see the message)
};

struct AtxTimings {
    std::chrono::milliseconds click{100};
    std::chrono::milliseconds longPress{5500};
    std::chrono::milliseconds busyAfter{1000};
    // LED inputs: a level must hold this long to count (contact bounce,
    // the HDD LED's flicker), and they are re-read at least this often.
    std::chrono::milliseconds ledDebounce{100};
    std::chrono::milliseconds ledPoll{1000};
};

struct WakeOnLanTarget {
    uint8_t mac[6] = {};
    std::string address = "255.255.255.255";  // IPv4, usually a broadcast
    uint16_t port = 9;
};

// The power side of the KVM as viewers see it.
struct AtxState {
    LedLevels leds;
    bool busy = false;  // an action runs or has just run
    bool operator==(const AtxState &) const = default;
};

// Runs ATX actions one at a time on its own thread ("kvm-atx"), a power
// cycle's two presses as one action, and watches the LEDs there, debounced.
// perform() never waits out a press: it hands the action to the thread and
// returns once the button is down (or the packet sent), so that a refusing
// pin is reported as Failed; the thread waits on the pins in slices of at
// most 50 ms, which bounds that wait.
// Listeners hear every change of AtxState, from the controller's thread,
// without its state lock held (they may call state(), not perform() or
// setListener()).
//
// Thread-safe. The destructor releases any held button and joins the
// thread.
class AtxController {
public:
    using Listener = std::function<void(const AtxState &)>;

    AtxController(std::unique_ptr<AtxPins> pins, AtxTimings timings,
                  std::optional<WakeOnLanTarget> wakeOnLan);
    ~AtxController();
    AtxController(const AtxController &) = delete;
    AtxController &operator=(const AtxController &) = delete;

    // Starts `action`; `message` explains anything but Ok.
    AtxResult perform(AtxAction action, std::string &message);
    // A hard power cycle (xvp's Reset): a long press, answered as perform()
    // answers it, then a click once the long press's busy time has passed,
    // which turns the machine on again. The controller stays busy until the
    // click's busy time has passed, so nothing comes in between.
    AtxResult powerCycle(std::string &message);
    AtxState state() const;
    // Replaces the listener; waits for a call to the old one in flight, so
    // that once it returns the old one is never called again.
    void setListener(Listener listener);
    std::string description() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// "power", "power-long", "reset", "wol".
const char *atxActionName(AtxAction action);

// Parses "aa:bb:cc:dd:ee:ff" (or with '-'); false when malformed.
bool parseMacAddress(const std::string &text, uint8_t mac[6]);

// The Wake-on-LAN magic packet: 6 x 0xff, then the MAC 16 times (102 bytes).
std::string wakeOnLanPacket(const uint8_t mac[6]);

}  // namespace kvmvnc::atx
