// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/gadget_hid.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kvmvnc/base/log.h"

namespace kvmvnc::input {

namespace {

constexpr const char *kLog = "hid";
constexpr auto kReopenInterval = std::chrono::seconds{1};

// Errors that mean "nobody is reading on the other side of the cable".
bool isHostAbsent(int error) {
    return error == EAGAIN || error == ESHUTDOWN || error == EPIPE || error == ECONNRESET ||
           error == ENXIO || error == ENODEV;
}

}  // namespace

GadgetHid::GadgetHid(std::string keyboardPath, std::string mousePath) {
    keyboard_.path = std::move(keyboardPath);
    mouse_.path = std::move(mousePath);
    std::lock_guard lock(mutex_);
    open(keyboard_);
    open(mouse_);
    ledThread_ = std::thread([this] { readLeds(); });
}

GadgetHid::~GadgetHid() {
    running_ = false;
    if (ledThread_.joinable())
        ledThread_.join();
}

bool GadgetHid::open(Device &device) {
    if (device.fd.isValid())
        return true;
    const auto now = std::chrono::steady_clock::now();
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
        device.openError = errno;
        if (!device.warned)
            LOG_WARN(kLog, "%s: %s (retrying)", device.path.c_str(), std::strerror(errno));
        device.warned = true;
        return false;
    }
    device.fd.reset(fd);
    device.warned = false;
    LOG_INFO(kLog, "writing reports to %s", device.path.c_str());
    if (&device == &keyboard_ && device.isCharDevice)
        ledFd_ = fd;
    return true;
}

HidWriteResult GadgetHid::write(Device &device, const uint8_t *data, size_t size) {
    std::lock_guard lock(mutex_);
    if (!open(device))
        // A FIFO without a reader (ENXIO) is a host that is not listening.
        return device.openError == ENXIO ? HidWriteResult::HostNotListening
                                         : HidWriteResult::Failed;
    ssize_t written = ::write(device.fd.get(), data, size);
    if (written == static_cast<ssize_t>(size))
        return HidWriteResult::Ok;
    const int error = written < 0 ? errno : EIO;
    if (isHostAbsent(error))
        return HidWriteResult::HostNotListening;
    LOG_WARN(kLog, "%s: write failed: %s", device.path.c_str(), std::strerror(error));
    return HidWriteResult::Failed;
}

HidWriteResult GadgetHid::writeKeyboard(const KeyboardReport &report) {
    return write(keyboard_, report.data(), report.size());
}

HidWriteResult GadgetHid::writeMouse(const AbsoluteMouseReport &report) {
    return write(mouse_, report.data(), report.size());
}

void GadgetHid::setLedCallback(LedCallback callback) {
    std::lock_guard lock(callbackMutex_);
    ledCallback_ = std::move(callback);
}

void GadgetHid::readLeds() {
    pthread_setname_np(pthread_self(), "kvm-hid-leds");
    while (running_) {
        const int fd = ledFd_.load();
        if (fd < 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds{200});
            continue;
        }
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 200) <= 0 || !(pfd.revents & POLLIN))
            continue;
        uint8_t leds = 0;
        if (::read(fd, &leds, 1) != 1)
            continue;
        std::lock_guard lock(callbackMutex_);
        if (ledCallback_)
            ledCallback_(leds);
    }
}

}  // namespace kvmvnc::input
