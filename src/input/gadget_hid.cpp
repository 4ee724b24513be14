// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/gadget_hid.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"

namespace kvmvnc::input {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char *kLog = "hid";
constexpr auto kReopenInterval = std::chrono::seconds{1};
constexpr auto kUdcReadInterval = std::chrono::milliseconds{250};
constexpr auto kWakeupInterval = std::chrono::seconds{1};
constexpr int kBusyPollMs = 20;   // while reports wait
constexpr int kIdlePollMs = 250;  // otherwise (UDC state, reopening)

// Errors that mean "nobody is reading on the other side of the cable".
bool isHostAbsent(int error) {
    return error == ESHUTDOWN || error == EPIPE || error == ECONNRESET || error == ENXIO ||
           error == ENODEV;
}

// The only UDC of the machine, or empty.
std::string onlyUdc(const std::string &classDir) {
    std::error_code error;
    std::string found;
    int count = 0;
    for (const auto &entry : std::filesystem::directory_iterator(classDir, error)) {
        found = entry.path().filename().string();
        ++count;
    }
    return count == 1 ? found : std::string{};
}

}  // namespace

GadgetHid::GadgetHid(std::string keyboardPath, std::string mousePath)
    : GadgetHid(std::move(keyboardPath), std::move(mousePath), Options{}) {}

GadgetHid::GadgetHid(std::string keyboardPath, std::string mousePath, Options options)
    : options_(std::move(options)) {
    keyboard_.path = std::move(keyboardPath);
    mouse_.path = std::move(mousePath);
    const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0)
        throw std::system_error(errno, std::generic_category(), "eventfd");
    wakeFd_.reset(wake);
    {
        std::lock_guard lock(mutex_);
        open(keyboard_);
        open(mouse_);
        std::string udc = options_.udc;
        if (udc.empty() && keyboard_.isCharDevice)
            udc = onlyUdc(options_.udcClassDir);
        if (!udc.empty()) {
            udcDir_ = options_.udcClassDir + "/" + udc;
            LOG_INFO(kLog, "following the USB host through UDC %s", udc.c_str());
            readUdcState(Clock::now());
        }
        listening_ = computeListening();  // the first state is no change to tell
    }
    thread_ = std::thread([this] { run(); });
}

GadgetHid::~GadgetHid() {
    running_ = false;
    wake();
    if (thread_.joinable())
        thread_.join();
}

void GadgetHid::wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = ::write(wakeFd_.get(), &one, sizeof(one));
}

bool GadgetHid::open(Device &device) {
    if (device.fd.isValid())
        return true;
    const auto now = Clock::now();
    if (now < device.nextOpen)
        return false;
    device.nextOpen = now + kReopenInterval;
    struct stat info {};
    const bool exists = ::stat(device.path.c_str(), &info) == 0;
    device.isCharDevice = exists && S_ISCHR(info.st_mode);
    // The gadget device is read too (LED output reports); anything else is
    // only written, appended to if it is a file.
    int flags = O_NONBLOCK | O_CLOEXEC | (device.isCharDevice ? O_RDWR : O_WRONLY | O_APPEND);
    int fd = ::open(device.path.c_str(), flags);
    if (fd < 0) {
        // A FIFO without a reader (ENXIO) is a host that is not listening;
        // anything else is a missing or broken device.
        const bool noReader = errno == ENXIO;
        if (!device.warned)
            LOG_WARN(kLog, "%s: %s (retrying)", device.path.c_str(), errorText(errno).c_str());
        device.warned = true;
        device.missing = !noReader;
        device.noReader = noReader;
        return false;
    }
    device.fd.reset(fd);
    device.warned = false;
    device.missing = false;
    device.noReader = false;
    device.headSince = now;
    LOG_INFO(kLog, "writing reports to %s", device.path.c_str());
    return true;
}

bool GadgetHid::computeListening() const {
    if (writeStuck_ || keyboard_.noReader || mouse_.noReader)
        return false;
    return udcState_.empty() || udcState_ == "configured";
}

void GadgetHid::updateListening(const char *why) {
    const bool listening = computeListening();
    if (listening == listening_)
        return;
    listening_ = listening;
    listeningChanged_ = true;
    if (listening) {
        LOG_INFO(kLog, "the target's USB host is listening again");
    } else {
        LOG_WARN(kLog, "the target's USB host is not listening (%s); keys wait for it", why);
        // Reports are whole states: keep the newest of each device for the
        // host's return and forget the keystrokes it missed.
        for (Device *device : {&keyboard_, &mouse_})
            while (device->queue.size() > 1)
                device->queue.pop_front();
        written_.notify_all();
    }
}

HidWriteResult GadgetHid::enqueue(Device &device, const uint8_t *data, size_t size) {
    HidWriteResult result = HidWriteResult::Ok;
    bool waiting = false;
    {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        if (device.queue.empty())
            device.headSince = now;
        device.queue.emplace_back(data, data + size);
        wakeWanted_ = true;
        if (!listening_ || device.missing) {
            while (device.queue.size() > 1)
                device.queue.pop_front();
            result = device.missing ? HidWriteResult::Failed : HidWriteResult::HostNotListening;
        } else if (device.queue.size() > options_.maxQueued) {
            device.queue.pop_front();
            LOG_WARN(kLog, "%s: the host reads reports too slowly; one was dropped",
                     device.path.c_str());
        } else if (device.queue.size() == 1) {
            // Nothing waits before it: written straight away when the host
            // takes it, without a detour through the thread.
            flush(device, now, false);
        }
        waiting = !device.queue.empty() || listeningChanged_ || udcState_ == "suspended";
    }
    if (waiting)
        wake();
    return result;
}

HidWriteResult GadgetHid::writeKeyboard(const KeyboardReport &report) {
    return enqueue(keyboard_, report.data(), report.size());
}

HidWriteResult GadgetHid::writeMouse(const AbsoluteMouseReport &report) {
    return enqueue(mouse_, report.data(), report.size());
}

HidWriteResult GadgetHid::writeRelativeMouse(const RelativeMouseReport &report) {
    return enqueue(mouse_, report.data(), report.size());
}

void GadgetHid::setLedCallback(LedCallback callback) {
    std::lock_guard lock(callbackMutex_);
    ledCallback_ = std::move(callback);
}

void GadgetHid::setHostCallback(HostCallback callback) {
    std::lock_guard lock(callbackMutex_);
    hostCallback_ = std::move(callback);
}

bool GadgetHid::hostListening() const {
    std::lock_guard lock(mutex_);
    return listening_;
}

bool GadgetHid::waitUntilWritten(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    written_.wait_for(lock, timeout, [this] {
        return !listening_ || (keyboard_.queue.empty() && mouse_.queue.empty());
    });
    return listening_ && keyboard_.queue.empty() && mouse_.queue.empty();
}

void GadgetHid::flush(Device &device, Clock::time_point now, bool ioThread) {
    while (!device.queue.empty() && device.fd.isValid()) {
        const std::vector<uint8_t> &report = device.queue.front();
        const ssize_t written = ::write(device.fd.get(), report.data(), report.size());
        if (written != static_cast<ssize_t>(report.size()) && !ioThread)
            return;  // the I/O thread judges failures: only it may close the fd it polls
        if (written == static_cast<ssize_t>(report.size())) {
            device.queue.pop_front();
            device.headSince = now;
            writeStuck_ = false;
            updateListening("");
            if (keyboard_.queue.empty() && mouse_.queue.empty())
                written_.notify_all();
            continue;
        }
        const int error = written < 0 ? errno : EIO;
        if (error == EAGAIN || error == EINTR) {
            // The host has not read the previous report yet.
            if (now - device.headSince > options_.hostTimeout && !writeStuck_) {
                writeStuck_ = true;
                updateListening("it stopped reading reports");
            }
            return;
        }
        if (isHostAbsent(error)) {
            writeStuck_ = true;
            updateListening(errorText(error).c_str());
            if (error != ESHUTDOWN)
                device.fd.reset();  // gone: reopen (a FIFO's new reader, a new gadget)
            return;
        }
        LOG_WARN(kLog, "%s: write failed: %s; reopening", device.path.c_str(),
                 errorText(error).c_str());
        device.queue.pop_front();
        device.fd.reset();
        return;
    }
}

void GadgetHid::readUdcState(Clock::time_point now) {
    if (udcDir_.empty() || now < nextUdcRead)
        return;
    nextUdcRead = now + kUdcReadInterval;
    std::ifstream file(udcDir_ + "/state");
    std::string state;
    std::getline(file, state);
    if (!file && state.empty())
        state = "unreadable";
    if (state == udcState_)
        return;
    LOG_INFO(kLog, "USB device state: %s", state.c_str());
    udcState_ = state;
    if (state == "configured")
        writeStuck_ = false;  // a new configuration: the host reads again
    updateListening(state.c_str());
}

// USB remote wakeup: a suspended host is woken by the keyboard, as a real
// one would be (the gadget's configuration offers remote wakeup).
void GadgetHid::wakeHost(Clock::time_point now) {
    if (!wakeWanted_ || now < nextWakeup)
        return;
    wakeWanted_ = false;
    if (udcState_ != "suspended")
        return;
    nextWakeup = now + kWakeupInterval;
    std::ofstream srp(udcDir_ + "/srp");
    srp << "1\n";
    srp.flush();
    LOG_INFO(kLog, "waking the suspended host (%s)", srp ? "asked" : "refused by the UDC");
}

void GadgetHid::run() {
    pthread_setname_np(pthread_self(), "kvm-hid");
    while (running_) {
        pollfd fds[3]{};
        nfds_t count = 0;
        fds[count++] = {wakeFd_.get(), POLLIN, 0};
        int keyboardIndex = -1;
        int timeoutMs = kIdlePollMs;
        bool notify = false;
        bool listening = true;
        {
            std::lock_guard lock(mutex_);
            const auto now = Clock::now();
            readUdcState(now);
            for (Device *device : {&keyboard_, &mouse_}) {
                if (!device->fd.isValid()) {
                    open(*device);
                    updateListening("nobody reads the device");
                }
                flush(*device, now, true);
            }
            wakeHost(now);
            if (keyboard_.fd.isValid()) {
                const short events = static_cast<short>((keyboard_.isCharDevice ? POLLIN : 0) |
                                                        (keyboard_.queue.empty() ? 0 : POLLOUT));
                if (events) {
                    keyboardIndex = static_cast<int>(count);
                    fds[count++] = {keyboard_.fd.get(), events, 0};
                }
            }
            if (mouse_.fd.isValid() && !mouse_.queue.empty())
                fds[count++] = {mouse_.fd.get(), POLLOUT, 0};
            if (!keyboard_.queue.empty() || !mouse_.queue.empty())
                timeoutMs = kBusyPollMs;
            notify = listeningChanged_;
            listeningChanged_ = false;
            listening = listening_;
        }
        if (notify) {
            std::lock_guard lock(callbackMutex_);
            if (hostCallback_)
                hostCallback_(listening);
        }
        if (::poll(fds, count, timeoutMs) <= 0)
            continue;
        if (fds[0].revents & POLLIN) {
            uint64_t value = 0;
            [[maybe_unused]] ssize_t ignored = ::read(wakeFd_.get(), &value, sizeof(value));
        }
        if (keyboardIndex >= 0 && (fds[keyboardIndex].revents & POLLIN)) {
            // Only this thread closes the fd, so it is still the one polled.
            uint8_t report[8] = {};
            if (::read(fds[keyboardIndex].fd, report, sizeof(report)) >= 1) {
                std::lock_guard lock(callbackMutex_);
                if (ledCallback_)
                    ledCallback_(report[0]);
            }
        }
        // Writability is acted on at the top of the loop.
    }
}

}  // namespace kvmvnc::input
