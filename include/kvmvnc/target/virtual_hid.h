// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>

#include "kvmvnc/input/hid_sink.h"
#include "kvmvnc/target/virtual_machine.h"

namespace kvmvnc::target {

// The virtual target's end of the USB cable: hands the report bytes to the
// VirtualMachine, which decodes them as a host would. While the machine is
// off its USB host is not listening, as a real one's would not be.
// Thread-safe (the machine is).
class VirtualHid final : public input::HidSink {
public:
    explicit VirtualHid(std::shared_ptr<VirtualMachine> machine) : machine_(std::move(machine)) {}

    input::HidWriteResult writeKeyboard(const input::KeyboardReport &report) override {
        return machine_->keyboardReport(report) ? input::HidWriteResult::Ok
                                                : input::HidWriteResult::HostNotListening;
    }
    input::HidWriteResult writeMouse(const input::AbsoluteMouseReport &report) override {
        return machine_->mouseReport(report) ? input::HidWriteResult::Ok
                                             : input::HidWriteResult::HostNotListening;
    }
    void setLedCallback(LedCallback callback) override {
        machine_->setLedListener(std::move(callback));
    }

private:
    std::shared_ptr<VirtualMachine> machine_;
};

}  // namespace kvmvnc::target
