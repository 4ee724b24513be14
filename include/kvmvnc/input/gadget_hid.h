// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/input/hid_sink.h"

namespace kvmvnc::input {

// The Linux USB HID gadget devices (/dev/hidg0 keyboard, /dev/hidg1 mouse),
// or any path standing in for them: a FIFO or a regular file receives the
// same bytes, so reports can be inspected.
//
// Writes never block: EAGAIN, ESHUTDOWN, EPIPE and friends mean the host is
// not listening (unplugged, asleep, gadget unbound) and the report is
// dropped, as a real keyboard's would be; the next write tries again. A
// missing device is reopened at most once a second. When the keyboard is a
// character device, a thread reads its output reports (the LEDs the host
// sets) and hands them to the LED callback.
//
// Thread-safe.
class GadgetHid final : public HidSink {
public:
    GadgetHid(std::string keyboardPath, std::string mousePath);
    ~GadgetHid() override;

    HidWriteResult writeKeyboard(const KeyboardReport &report) override;
    HidWriteResult writeMouse(const AbsoluteMouseReport &report) override;
    void setLedCallback(LedCallback callback) override;

private:
    struct Device {
        std::string path;
        UniqueFd fd;
        std::chrono::steady_clock::time_point nextOpen{};
        bool warned = false;
        int openError = 0;  // errno of the last failed open
        bool isCharDevice = false;
    };

    HidWriteResult write(Device &device, const uint8_t *data, size_t size);
    bool open(Device &device);
    void readLeds();

    std::mutex mutex_;
    Device keyboard_;
    Device mouse_;
    std::mutex callbackMutex_;
    LedCallback ledCallback_;
    std::atomic<int> ledFd_{-1};
    std::atomic<bool> running_{true};
    std::thread ledThread_;
};

}  // namespace kvmvnc::input
