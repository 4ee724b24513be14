// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <mutex>

#include "kvmvnc/base/geometry.h"

namespace kvmvnc::target {

// What the virtual target is showing.
enum class MachinePhase {
    Off,      // no video output: capture sees no signal
    Bios,     // power-on self test, VGA text mode 720x400
    Desktop,  // the "operating system", at the desktop resolution
};

struct MachineOptions {
    Size desktopSize{1920, 1080};
    std::chrono::milliseconds biosDuration{3000};
};

// A consistent picture of the machine at one instant, for rendering.
struct MachineView {
    MachinePhase phase = MachinePhase::Off;
    Size outputSize;                           // video mode of the phase
    std::chrono::milliseconds sincePowerOn{};  // 0 when off
    double biosProgress = 0.0;                 // 0..1 through the self test
    unsigned bootCount = 0;                    // power-ons since start
};

// The simulated machine behind the virtual target: the one place that knows
// whether it is on, what it displays and (with later stages) what it has been
// typed, clicked and handed. Each hardware seam of the daemon has a virtual
// implementation that talks to this object: VirtualScreen reads it as the
// capture source; the HID, ATX and mass-storage seams will drive it.
//
// Thread-safe: the capture thread reads views while input, power and media
// threads change it.
class VirtualMachine {
public:
    using Clock = std::chrono::steady_clock;

    explicit VirtualMachine(MachineOptions options);

    // The machine starts powered on, like a server that was already running
    // when the KVM was plugged in; `at` is the moment of power-on.
    void powerOn(Clock::time_point at = Clock::now());
    void powerOff();
    // Warm reset: back to the BIOS screen without a power cycle.
    void reset(Clock::time_point at = Clock::now());
    bool isPoweredOn() const;

    // What the "operating system" switches the display to after the BIOS,
    // or at once when the desktop is showing: a live resolution change.
    void setDesktopSize(Size size);

    MachineView view(Clock::time_point now = Clock::now()) const;

private:
    mutable std::mutex mutex_;
    MachineOptions options_;
    bool poweredOn_ = false;
    Clock::time_point poweredOnAt_{};
    unsigned bootCount_ = 0;
};

// The 80x25 VGA text mode a PC BIOS shows: 9x16 character cells.
inline constexpr Size kBiosTextModeSize{720, 400};

}  // namespace kvmvnc::target
