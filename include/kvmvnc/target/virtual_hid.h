// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>
#include <mutex>

#include "kvmvnc/input/hid_sink.h"
#include "kvmvnc/target/virtual_machine.h"

namespace kvmvnc::target {

// The virtual target's end of the USB cable: hands the report bytes to the
// VirtualMachine, which decodes them as a host would. While the machine is
// off its USB host is not listening, as a real one's would not be; the host
// callback hears of it at the first report the machine refuses (or takes
// again), from the writer's thread. Thread-safe (the machine is).
class VirtualHid final : public input::HidSink {
public:
    explicit VirtualHid(std::shared_ptr<VirtualMachine> machine) : machine_(std::move(machine)) {}

    input::HidWriteResult writeKeyboard(const input::KeyboardReport &report) override {
        return note(machine_->keyboardReport(report));
    }
    input::HidWriteResult writeMouse(const input::AbsoluteMouseReport &report) override {
        return note(machine_->mouseReport(report));
    }
    input::HidWriteResult writeRelativeMouse(const input::RelativeMouseReport &report) override {
        return note(machine_->relativeMouseReport(report));
    }
    void setLedCallback(LedCallback callback) override {
        machine_->setLedListener(std::move(callback));
    }
    void setHostCallback(HostCallback callback) override {
        std::lock_guard lock(mutex_);
        hostCallback_ = std::move(callback);
    }
    bool hostListening() const override {
        std::lock_guard lock(mutex_);
        return listening_;
    }

private:
    input::HidWriteResult note(bool taken) {
        std::lock_guard lock(mutex_);
        if (taken != listening_) {
            listening_ = taken;
            if (hostCallback_)
                hostCallback_(taken);
        }
        return taken ? input::HidWriteResult::Ok : input::HidWriteResult::HostNotListening;
    }

    std::shared_ptr<VirtualMachine> machine_;
    mutable std::mutex mutex_;
    bool listening_ = true;
    HostCallback hostCallback_;
};

}  // namespace kvmvnc::target
