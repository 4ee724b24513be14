// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>

#include "kvmvnc/atx/atx_pins.h"
#include "kvmvnc/target/virtual_machine.h"

namespace kvmvnc::target {

// The virtual target's front panel: both buttons and both LEDs wired to the
// VirtualMachine, which decides what a press means (on, ACPI shutdown,
// forced off, reset). It has no edge events; waiting just sleeps a little,
// and the controller's periodic reads see the LEDs change.
//
// Thread-safe (the machine is).
class VirtualAtxPins final : public atx::AtxPins {
public:
    explicit VirtualAtxPins(std::shared_ptr<VirtualMachine> machine);

    bool hasButton(atx::Button button) const override;
    bool setButton(atx::Button button, bool pressed, std::string &error) override;
    atx::LedLevels readLeds() override;
    void waitForLedEdge(std::chrono::milliseconds timeout) override;
    std::string description() const override;

    // The longest waitForLedEdge() sleeps: how late an LED change is seen.
    static constexpr std::chrono::milliseconds kPollInterval{50};

private:
    std::shared_ptr<VirtualMachine> machine_;
};

}  // namespace kvmvnc::target
