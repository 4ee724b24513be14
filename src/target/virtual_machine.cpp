// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_machine.h"

#include <algorithm>
#include <utility>

#include "kvmvnc/base/log.h"
#include "kvmvnc/base/utf8.h"
#include "kvmvnc/input/hid_usage.h"

namespace kvmvnc::target {

VirtualMachine::VirtualMachine(MachineOptions options) : options_(std::move(options)) { powerOn(); }

void VirtualMachine::powerOn(Clock::time_point at) {
    std::lock_guard lock(mutex_);
    if (poweredOn_)
        return;
    poweredOn_ = true;
    poweredOnAt_ = at;
    ++bootCount_;
}

void VirtualMachine::powerOff() {
    std::lock_guard lock(mutex_);
    poweredOn_ = false;
    shutdownAt_.reset();
    lastKeyboard_ = {};
}

void VirtualMachine::settle(Clock::time_point now) const {
    if (shutdownAt_ && now - *shutdownAt_ >= kShutdownTime) {
        poweredOn_ = false;
        shutdownAt_.reset();
    }
    if (poweredOn_ && powerPressedAt_ && !powerPressStartedOff_ &&
        now - *powerPressedAt_ >= kForcedOffHold) {
        // The PSU cuts power while the button is still held.
        poweredOn_ = false;
        shutdownAt_.reset();
    }
}

void VirtualMachine::setPowerButton(bool pressed, Clock::time_point at) {
    std::lock_guard lock(mutex_);
    settle(at);
    if (pressed) {
        if (powerPressedAt_)
            return;
        powerPressedAt_ = at;
        powerPressStartedOff_ = !poweredOn_;
        if (!poweredOn_) {
            poweredOn_ = true;
            poweredOnAt_ = at;
            ++bootCount_;
            lastKeyboard_ = {};
        }
        return;
    }
    if (!powerPressedAt_)
        return;
    const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(at - *powerPressedAt_);
    const bool shortPress = held < kForcedOffHold;
    powerPressedAt_.reset();
    // What a person at the machine would see; tests read it too.
    LOG_INFO("target", "power button released after %lld ms: %s",
             static_cast<long long>(held.count()),
             powerPressStartedOff_ ? "powered on"
             : !poweredOn_         ? (shortPress ? "was off" : "forced off")
                                   : "shutting down");
    if (powerPressStartedOff_ || !poweredOn_ || !shortPress)
        return;
    if (at - poweredOnAt_ < options_.biosDuration)
        poweredOn_ = false;  // no operating system yet to shut down
    else if (!shutdownAt_)
        shutdownAt_ = at;
}

void VirtualMachine::setResetButton(bool pressed, Clock::time_point at) {
    std::lock_guard lock(mutex_);
    settle(at);
    if (pressed && poweredOn_) {
        LOG_INFO("target", "reset button pressed: the machine restarts");
        poweredOnAt_ = at;
        shutdownAt_.reset();
        ++bootCount_;
    }
}

bool VirtualMachine::powerLed(Clock::time_point now) const {
    return view(now).phase != MachinePhase::Off;
}

bool VirtualMachine::hddLed(Clock::time_point now) const { return view(now).hddLed; }

void VirtualMachine::setDrive(std::optional<DriveView> drive, Clock::time_point at) {
    std::lock_guard lock(mutex_);
    if (drive && drive->firstBytes.size() > kDriveBytesShown)
        drive->firstBytes.resize(kDriveBytesShown);
    drive_ = std::move(drive);
    driveChangedAt_ = at;
}

void VirtualMachine::reset(Clock::time_point at) {
    std::lock_guard lock(mutex_);
    if (!poweredOn_)
        return;
    shutdownAt_.reset();
    poweredOnAt_ = at;
    ++bootCount_;
}

bool VirtualMachine::isPoweredOn() const {
    std::lock_guard lock(mutex_);
    settle(Clock::now());
    return poweredOn_;
}

void VirtualMachine::setDesktopSize(Size size) {
    std::lock_guard lock(mutex_);
    options_.desktopSize = size;
}

Size VirtualMachine::outputSize(Clock::time_point now) const {
    if (!poweredOn_)
        return {};
    return now - poweredOnAt_ < options_.biosDuration ? kBiosTextModeSize : options_.desktopSize;
}

MachineView VirtualMachine::view(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    settle(now);
    MachineView view;
    view.bootCount = bootCount_;
    view.input = input_;
    view.drive = drive_;
    if (!poweredOn_)
        return view;
    view.shuttingDown = shutdownAt_.has_value();
    view.sincePowerOn =
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(now - poweredOnAt_),
                 std::chrono::milliseconds{0});
    view.outputSize = outputSize(now);
    if (view.sincePowerOn < options_.biosDuration) {
        view.phase = MachinePhase::Bios;
        view.biosProgress = static_cast<double>(view.sincePowerOn.count()) /
                            static_cast<double>(options_.biosDuration.count());
    } else {
        view.phase = MachinePhase::Desktop;
        view.biosProgress = 1.0;
    }
    if (view.phase == MachinePhase::Desktop && videoShowing())
        view.video = VideoView{videoPosition(now), !video_->playingSince.has_value()};
    if (drive_ && now - driveChangedAt_ < kDriveActivity)
        view.hddLed = true;
    else
        view.hddLed = view.phase == MachinePhase::Bios && view.biosProgress >= 0.8;
    return view;
}

}  // namespace kvmvnc::target

namespace kvmvnc::target {

namespace {

namespace usage = input::usage;
namespace modifier = input::modifier;
namespace led = input::led;

constexpr size_t kMaxCommandLength = 60;

void eraseLastCharacter(std::string &text) {
    while (!text.empty()) {
        const bool continuation = (static_cast<uint8_t>(text.back()) & 0xc0) == 0x80;
        text.pop_back();
        if (!continuation)
            break;
    }
}

// A mouse report's buttons: each one newly down is a click.
void takeButtons(InputView &input, uint8_t buttons) {
    const uint8_t pressed = static_cast<uint8_t>(buttons & ~input.buttons);
    for (int bit = 0; bit < 8; ++bit)
        input.clicks += (pressed >> bit) & 1;
    input.buttons = buttons;
}

}  // namespace

void VirtualMachine::setLedListener(std::function<void(uint8_t)> listener) {
    std::lock_guard lock(mutex_);
    ledListener_ = std::move(listener);
}

bool VirtualMachine::videoShowing() const {
    return video_ && poweredOn_ && video_->boot == bootCount_;
}

std::chrono::milliseconds VirtualMachine::videoPosition(Clock::time_point now) const {
    if (!video_->playingSince)
        return video_->position;
    return video_->position +
           std::chrono::duration_cast<std::chrono::milliseconds>(now - *video_->playingSince);
}

void VirtualMachine::typeKey(uint8_t key, uint8_t modifiers) {
    const Clock::time_point now = Clock::now();
    if (videoShowing() && now - poweredOnAt_ >= options_.biosDuration) {
        // The player has the keyboard: Space pauses and resumes, Esc stops.
        if (key == usage::kSpace) {
            video_->position = videoPosition(now);
            video_->playingSince =
                video_->playingSince ? std::nullopt : std::optional<Clock::time_point>(now);
        } else if (key == usage::kEscape) {
            video_.reset();
        }
        return;
    }
    const bool ctrl = modifiers & (modifier::kLeftControl | modifier::kRightControl);
    const bool alt = modifiers & (modifier::kLeftAlt | modifier::kRightAlt);
    switch (key) {
    case usage::kCapsLock:
        input_.leds ^= led::kCapsLock;
        return;
    case usage::kNumLock:
        input_.leds ^= led::kNumLock;
        return;
    case usage::kScrollLock:
        input_.leds ^= led::kScrollLock;
        return;
    case usage::kEnter:
    case 0x58:  // keypad Enter
        if (input_.commandLine == "video")
            video_ = VideoPlayback{bootCount_, {}, now};
        input_.terminal.push_back(input_.commandLine);
        if (input_.terminal.size() > kTerminalLines)
            input_.terminal.erase(input_.terminal.begin());
        input_.commandLine.clear();
        return;
    case usage::kBackspace:
        eraseLastCharacter(input_.commandLine);
        return;
    case usage::kEscape:
        // Esc during the power-on self test skips the rest of it, as many
        // BIOSes offer: the "operating system" starts at once.
        if (poweredOn_ && Clock::now() - poweredOnAt_ < options_.biosDuration)
            poweredOnAt_ = Clock::now() - options_.biosDuration;
        return;
    case usage::kDelete:
        if (ctrl && alt) {
            // Ctrl+Alt+Del: what a PC does, a warm reboot.
            poweredOnAt_ = Clock::now();
            ++bootCount_;
        }
        return;
    default:
        break;
    }
    if (ctrl || (modifiers & (modifier::kLeftAlt | modifier::kLeftGui | modifier::kRightGui)))
        return;  // a shortcut, not text
    bool shift = modifiers & modifier::kShift;
    if (key >= usage::kA && key <= usage::kA + 25 && (input_.leds & led::kCapsLock))
        shift = !shift;
    const uint8_t layoutModifiers =
        static_cast<uint8_t>((shift ? modifier::kLeftShift : 0) | (modifiers & modifier::kAltGr));
    std::optional<uint32_t> keysym;
    if (options_.keyboardLayout)
        keysym = options_.keyboardLayout->keysymFor({key, layoutModifiers});
    const char32_t character = keysym ? input::KeysymMap::characterForKeysym(*keysym) : 0;
    if (character != 0 && input_.commandLine.size() < kMaxCommandLength)
        appendUtf8(input_.commandLine, character);
}

bool VirtualMachine::keyboardReport(const input::KeyboardReport &report) {
    std::function<void(uint8_t)> listener;
    uint8_t leds = 0;
    {
        std::lock_guard lock(mutex_);
        settle(Clock::now());
        if (!poweredOn_)
            return false;
        const uint8_t ledsBefore = input_.leds;
        for (size_t i = 2; i < report.size(); ++i) {
            const uint8_t key = report[i];
            if (key <= usage::kErrorRollOver)
                continue;
            const bool wasDown = std::find(lastKeyboard_.begin() + 2, lastKeyboard_.end(), key) !=
                                 lastKeyboard_.end();
            if (!wasDown)
                typeKey(key, report[0]);
        }
        lastKeyboard_ = report;
        ++input_.version;
        if (input_.leds != ledsBefore) {
            listener = ledListener_;
            leds = input_.leds;
        }
    }
    if (listener)
        listener(leds);
    return true;
}

bool VirtualMachine::mouseReport(const input::AbsoluteMouseReport &report) {
    std::lock_guard lock(mutex_);
    settle(Clock::now());
    if (!poweredOn_)
        return false;
    takeButtons(input_, report[0]);
    input_.pointerX = static_cast<uint16_t>(report[1] | report[2] << 8);
    input_.pointerY = static_cast<uint16_t>(report[3] | report[4] << 8);
    input_.pointerSeen = true;
    input_.wheel += static_cast<int8_t>(report[5]);
    ++input_.version;
    return true;
}

bool VirtualMachine::relativeMouseReport(const input::RelativeMouseReport &report) {
    std::lock_guard lock(mutex_);
    const Clock::time_point now = Clock::now();
    settle(now);
    if (!poweredOn_)
        return false;
    takeButtons(input_, report[0]);
    // A host without pointer acceleration: one count is one pixel, and the
    // pointer stops at the edges. It starts in the middle of the screen.
    const Size screen = outputSize(now);
    const auto move = [](uint16_t &position, int8_t delta, int extent) {
        if (extent <= 0)
            return;  // no picture to move over (and no dividing by its size)
        const long pixel = long{position} * extent / 32768;
        const long moved = std::clamp<long>(pixel + delta, 0, extent - 1);
        // The smallest position that renders at `moved` (virtual_screen.cpp
        // draws position * extent / 32768).
        position = static_cast<uint16_t>((moved * 32768 + extent - 1) / extent);
    };
    if (!input_.pointerSeen) {
        input_.pointerX = 16384;
        input_.pointerY = 16384;
        input_.pointerSeen = true;
    }
    move(input_.pointerX, static_cast<int8_t>(report[1]), screen.width);
    move(input_.pointerY, static_cast<int8_t>(report[2]), screen.height);
    input_.wheel += static_cast<int8_t>(report[3]);
    ++input_.version;
    return true;
}

}  // namespace kvmvnc::target
