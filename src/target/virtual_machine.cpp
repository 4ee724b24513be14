// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_machine.h"

#include <algorithm>

namespace kvmvnc::target {

VirtualMachine::VirtualMachine(MachineOptions options) : options_(options) { powerOn(); }

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
}

void VirtualMachine::reset(Clock::time_point at) {
    std::lock_guard lock(mutex_);
    if (!poweredOn_)
        return;
    poweredOnAt_ = at;
    ++bootCount_;
}

bool VirtualMachine::isPoweredOn() const {
    std::lock_guard lock(mutex_);
    return poweredOn_;
}

void VirtualMachine::setDesktopSize(Size size) {
    std::lock_guard lock(mutex_);
    options_.desktopSize = size;
}

MachineView VirtualMachine::view(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    MachineView view;
    view.bootCount = bootCount_;
    if (!poweredOn_)
        return view;
    view.sincePowerOn =
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(now - poweredOnAt_),
                 std::chrono::milliseconds{0});
    if (view.sincePowerOn < options_.biosDuration) {
        view.phase = MachinePhase::Bios;
        view.outputSize = kBiosTextModeSize;
        view.biosProgress = static_cast<double>(view.sincePowerOn.count()) /
                            static_cast<double>(options_.biosDuration.count());
    } else {
        view.phase = MachinePhase::Desktop;
        view.outputSize = options_.desktopSize;
        view.biosProgress = 1.0;
    }
    return view;
}

}  // namespace kvmvnc::target
