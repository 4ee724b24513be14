// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <mutex>
#include <vector>

#include "kvmvnc/input/hid_sink.h"

namespace kvmvnc::input {

// Records every report, like the bytes a gadget device would receive; the
// host listens while `result` says so. Thread-safe.
class RecordingSink : public HidSink {
public:
    HidWriteResult writeKeyboard(const KeyboardReport &report) override {
        std::lock_guard lock(mutex);
        keyboard.push_back(report);
        return result;
    }
    HidWriteResult writeMouse(const AbsoluteMouseReport &report) override {
        std::lock_guard lock(mutex);
        mouse.push_back(report);
        return result;
    }
    HidWriteResult writeRelativeMouse(const RelativeMouseReport &report) override {
        std::lock_guard lock(mutex);
        relativeMouse.push_back(report);
        return result;
    }
    void setLedCallback(LedCallback) override {}
    void setHostCallback(HostCallback) override {}
    bool hostListening() const override {
        std::lock_guard lock(mutex);
        return result != HidWriteResult::HostNotListening;
    }
    std::vector<KeyboardReport> keyboardReports() const {
        std::lock_guard lock(mutex);
        return keyboard;
    }
    void setResult(HidWriteResult value) {
        std::lock_guard lock(mutex);
        result = value;
    }

    mutable std::mutex mutex;
    std::vector<KeyboardReport> keyboard;
    std::vector<AbsoluteMouseReport> mouse;
    std::vector<RelativeMouseReport> relativeMouse;
    HidWriteResult result = HidWriteResult::Ok;
};

}  // namespace kvmvnc::input
