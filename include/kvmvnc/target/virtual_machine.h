// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/input/hid_reports.h"
#include "kvmvnc/input/keysym_map.h"

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
    // The keyboard layout the machine's "operating system" uses to turn keys
    // into characters: the [hid] layout the daemon types for. Null: US.
    std::shared_ptr<const input::KeysymMap> keyboardLayout;
};

// What the machine's keyboard and mouse have done, as its screen shows it.
struct InputView {
    std::vector<std::string> terminal;  // typed command lines, oldest first
    std::string commandLine;            // being typed
    uint16_t pointerX = 0;              // 0..32767 across the screen
    uint16_t pointerY = 0;
    bool pointerSeen = false;
    uint8_t buttons = 0;   // HID button bits
    unsigned clicks = 0;   // button presses so far
    int wheel = 0;         // sum of wheel steps
    uint8_t leds = 0;      // HID LED bits: 1 Num, 2 Caps, 4 Scroll
    unsigned version = 0;  // changes whenever anything above does
};

// The USB drive plugged into the machine, as its "operating system" sees
// it: what the mass-storage seam inserted and the first bytes it read.
struct DriveView {
    std::string name;
    uint64_t size = 0;
    bool cdrom = true;
    bool readOnly = true;
    std::vector<uint8_t> firstBytes;  // up to kDriveBytesShown
    bool operator==(const DriveView &) const = default;
};

// The machine's video player, started by typing `video` at the terminal:
// full-screen moving pictures, as an OS installer's animation or a film
// shows them (what H.264 is for). Space pauses and resumes, Esc stops; a
// restart or power-off stops it too.
struct VideoView {
    std::chrono::milliseconds position{};  // how far it has played
    bool paused = false;
    bool operator==(const VideoView &) const = default;
};

// A consistent picture of the machine at one instant, for rendering.
struct MachineView {
    MachinePhase phase = MachinePhase::Off;
    Size outputSize;                           // video mode of the phase
    std::chrono::milliseconds sincePowerOn{};  // 0 when off
    double biosProgress = 0.0;                 // 0..1 through the self test
    unsigned bootCount = 0;                    // power-ons since start
    bool shuttingDown = false;                 // the power button asked the OS to stop
    bool hddLed = false;
    std::optional<DriveView> drive;
    std::optional<VideoView> video;  // playing or paused, on the desktop only
    InputView input;
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

    // The front panel, as an ATX header wires it. Pressing power while off
    // turns the machine on; releasing it within kForcedOffHold while on asks
    // the "operating system" to shut down (off after kShutdownTime); holding
    // it for kForcedOffHold while on cuts power at once. Pressing reset
    // restarts the BIOS.
    void setPowerButton(bool pressed, Clock::time_point at = Clock::now());
    void setResetButton(bool pressed, Clock::time_point at = Clock::now());
    // The power LED is lit while the machine is on; the HDD LED during the
    // BIOS's boot from disk and for a moment after a drive is plugged in.
    bool powerLed(Clock::time_point now = Clock::now()) const;
    bool hddLed(Clock::time_point now = Clock::now()) const;

    // Plugs a USB drive in (or, with nullopt, pulls it out).
    void setDrive(std::optional<DriveView> drive, Clock::time_point at = Clock::now());

    static constexpr std::chrono::milliseconds kForcedOffHold{4000};
    static constexpr std::chrono::milliseconds kShutdownTime{1500};
    static constexpr std::chrono::milliseconds kDriveActivity{400};
    static constexpr size_t kDriveBytesShown = 16;

    // What the "operating system" switches the display to after the BIOS,
    // or at once when the desktop is showing: a live resolution change.
    void setDesktopSize(Size size);

    MachineView view(Clock::time_point now = Clock::now()) const;

    // USB HID reports from the "cable", decoded as a host's USB stack would.
    // False while the machine is off: no host is listening then.
    bool keyboardReport(const input::KeyboardReport &report);
    bool mouseReport(const input::AbsoluteMouseReport &report);
    bool relativeMouseReport(const input::RelativeMouseReport &report);
    // Told the LED bits whenever the machine changes them (Caps Lock...);
    // called without the machine's lock held.
    void setLedListener(std::function<void(uint8_t)> listener);

    static constexpr size_t kTerminalLines = 4;

private:
    void typeKey(uint8_t usage, uint8_t modifiers);  // with mutex_ held
    // With mutex_ held: whether the video player is on the screen, and
    // where it is at `now`.
    bool videoShowing() const;
    std::chrono::milliseconds videoPosition(Clock::time_point now) const;
    Size outputSize(Clock::time_point now) const;  // with mutex_ held, after settle()
    // Applies what time alone changes (a finished shutdown, a power button
    // held long enough); with mutex_ held. The state it changes is mutable
    // so that view() can be const.
    void settle(Clock::time_point now) const;

    mutable std::mutex mutex_;
    MachineOptions options_;
    input::KeyboardReport lastKeyboard_{};
    InputView input_;
    std::function<void(uint8_t)> ledListener_;
    mutable bool poweredOn_ = false;
    Clock::time_point poweredOnAt_{};
    unsigned bootCount_ = 0;
    mutable std::optional<Clock::time_point> powerPressedAt_;  // held since
    bool powerPressStartedOff_ = false;
    mutable std::optional<Clock::time_point> shutdownAt_;  // OS shutting down since
    std::optional<DriveView> drive_;
    Clock::time_point driveChangedAt_{};
    // The video player: the boot it was started in (a restart ends it),
    // the position when it was last paused or resumed, and since when it
    // plays (none while paused).
    struct VideoPlayback {
        unsigned boot = 0;
        std::chrono::milliseconds position{};
        std::optional<Clock::time_point> playingSince;
    };
    std::optional<VideoPlayback> video_;
};

// The 80x25 VGA text mode a PC BIOS shows: 9x16 character cells.
inline constexpr Size kBiosTextModeSize{720, 400};

}  // namespace kvmvnc::target
