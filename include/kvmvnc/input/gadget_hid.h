// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/input/hid_sink.h"

namespace kvmvnc::input {

// The Linux USB HID gadget devices (/dev/hidg0 keyboard, /dev/hidg1 mouse),
// or any path standing in for them: a FIFO or a regular file receives the
// same bytes, so reports can be inspected.
//
// The gadget takes one report per host poll: a second write before the host
// has read the first fails with EAGAIN (f_hid keeps a single request in
// flight). So reports are queued, in order, and a thread of the sink's own
// ("kvm-hid") writes each one when the device is writable; the callers
// (viewers' input threads) never block and a fast key press and release are
// never merged or lost.
//
// The host is "not listening" when the UDC is not configured (unplugged,
// gadget unbound, host asleep), when a write fails with ESHUTDOWN and
// friends, or when a report has waited longer than `hostTimeout`. Then only
// the newest report of each device is kept - reports are whole states, so the
// host gets the current keys and buttons when it comes back - and writes say
// HostNotListening. A suspended host is woken (USB remote wakeup through the
// UDC's srp file) when a report arrives, as a real keyboard would wake it. A
// missing device is reopened at most once a second.
//
// When the keyboard is a character device, its output reports (the LEDs the
// host sets) are read by the same thread and handed to the LED callback.
//
// Thread-safe.
class GadgetHid final : public HidSink {
public:
    struct Options {
        // The UDC whose state tells whether the host listens; empty: the only
        // one in /sys/class/udc when the keyboard is a character device.
        std::string udc;
        std::string udcClassDir = "/sys/class/udc";
        std::chrono::milliseconds hostTimeout{500};
        size_t maxQueued = 1024;  // per device; older reports give way beyond
    };

    GadgetHid(std::string keyboardPath, std::string mousePath);
    GadgetHid(std::string keyboardPath, std::string mousePath, Options options);
    ~GadgetHid() override;
    GadgetHid(const GadgetHid &) = delete;
    GadgetHid &operator=(const GadgetHid &) = delete;

    HidWriteResult writeKeyboard(const KeyboardReport &report) override;
    HidWriteResult writeMouse(const AbsoluteMouseReport &report) override;
    HidWriteResult writeRelativeMouse(const RelativeMouseReport &report) override;
    void setLedCallback(LedCallback callback) override;
    void setHostCallback(HostCallback callback) override;
    bool hostListening() const override;

    bool waitUntilWritten(std::chrono::milliseconds timeout) override;

private:
    struct Device {
        std::string path;
        UniqueFd fd;  // opened and closed only by the I/O thread after construction
        std::chrono::steady_clock::time_point nextOpen{};
        bool warned = false;
        bool missing = false;   // the last open failed for another reason than ENXIO
        bool noReader = false;  // the last open failed with ENXIO: a FIFO nobody reads
        bool isCharDevice = false;
        std::deque<std::vector<uint8_t>> queue;
        std::chrono::steady_clock::time_point headSince{};  // when the head became the head
    };

    HidWriteResult enqueue(Device &device, const uint8_t *data, size_t size);
    bool open(Device &device);  // with mutex_ held
    void run();
    // Writes what it can of `device`'s queue; with mutex_ held. Only the I/O
    // thread handles a failed write (timeouts, closing the fd); a caller
    // leaves the report queued for it.
    void flush(Device &device, std::chrono::steady_clock::time_point now, bool ioThread);
    bool computeListening() const;                                 // with mutex_ held
    void updateListening(const char *why);                         // with mutex_ held
    void readUdcState(std::chrono::steady_clock::time_point now);  // with mutex_ held
    void wakeHost(std::chrono::steady_clock::time_point now);      // with mutex_ held
    void wake();

    const Options options_;
    std::string udcDir_;  // /sys/class/udc/<udc>, or empty
    mutable std::mutex mutex_;
    std::condition_variable written_;
    Device keyboard_;
    Device mouse_;
    bool listening_ = true;
    bool writeStuck_ = false;  // a report waited past hostTimeout, or the write failed
    std::string udcState_;     // as last read; empty when unknown
    std::chrono::steady_clock::time_point nextUdcRead{};
    std::chrono::steady_clock::time_point nextWakeup{};
    bool wakeWanted_ = false;        // a report came since the last wakeup check
    bool listeningChanged_ = false;  // to tell the host callback, outside the lock

    std::mutex callbackMutex_;
    LedCallback ledCallback_;
    HostCallback hostCallback_;

    UniqueFd wakeFd_;  // eventfd: a report was queued, or stop
    std::atomic<bool> running_{true};
    std::thread thread_;
};

}  // namespace kvmvnc::input
