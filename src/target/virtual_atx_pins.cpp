// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_atx_pins.h"

#include <algorithm>
#include <thread>

namespace kvmvnc::target {

VirtualAtxPins::VirtualAtxPins(std::shared_ptr<VirtualMachine> machine)
    : machine_(std::move(machine)) {}

bool VirtualAtxPins::hasButton(atx::Button) const { return true; }

bool VirtualAtxPins::setButton(atx::Button button, bool pressed, std::string &) {
    if (button == atx::Button::Power)
        machine_->setPowerButton(pressed);
    else
        machine_->setResetButton(pressed);
    return true;
}

atx::LedLevels VirtualAtxPins::readLeds() {
    const auto now = VirtualMachine::Clock::now();
    return {machine_->powerLed(now), machine_->hddLed(now)};
}

void VirtualAtxPins::waitForLedEdge(std::chrono::milliseconds timeout) {
    std::this_thread::sleep_for(std::min(timeout, kPollInterval));
}

std::string VirtualAtxPins::description() const { return "virtual target"; }

}  // namespace kvmvnc::target
