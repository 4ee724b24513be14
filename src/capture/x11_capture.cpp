// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/x11_capture.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <thread>
#include <utility>

#include "kvmvnc/base/log.h"

// Last: Xlib's macros would reach into the headers above.
#include "x11_connection.h"

namespace kvmvnc::capture {

using namespace std::chrono_literals;

namespace {

constexpr auto kReopenInterval = 1s;
constexpr const char *kLog = "capture";

}  // namespace

X11Capture::X11Capture(X11Options options) : options_(std::move(options)) {
    displayName_ = options_.display;
    if (displayName_.empty()) {
        // Read on the thread that builds the daemon; nothing in it sets the
        // environment.
        if (const char *env = std::getenv("DISPLAY"))  // NOLINT(concurrency-mt-unsafe)
            displayName_ = env;
    }
    period_ = std::chrono::duration_cast<Clock::duration>(1s) / std::max(options_.fps, 1);
}

X11Capture::~X11Capture() = default;

SourceStatus X11Capture::status() const { return status_; }

std::string X11Capture::description() const {
    std::string text = "x11 " + (displayName_.empty() ? std::string("$DISPLAY") : displayName_);
    if (connection_) {
        const Size size = connection_->size();
        if (size.width > 0)
            text += ' ' + std::to_string(size.width) + 'x' + std::to_string(size.height);
        text += connection_->usesShm() ? " MIT-SHM" : " XGetImage";
        if (connection_->usesDamage())
            text += " DAMAGE";
    }
    return text + " at " + std::to_string(std::max(options_.fps, 1)) + " fps";
}

CaptureResult X11Capture::capture(Frame &frame, std::chrono::milliseconds timeout) {
    Clock::time_point now = Clock::now();
    const Clock::time_point deadline = now + std::max(timeout, 0ms);
    try {
        if (!connection_) {
            if (now < nextAttempt_)
                return unavailable(deadline);
            connect();
            if (!connection_)
                return unavailable(deadline);
            nextFrame_ = now;
        }
        if (now < nextFrame_) {
            if (nextFrame_ > deadline) {
                std::this_thread::sleep_until(deadline);
                return CaptureResult::Timeout;
            }
            std::this_thread::sleep_until(nextFrame_);
        }
        // Paced from the schedule, not from when the grab ended; one that
        // fell behind starts a new schedule rather than catching up.
        nextFrame_ += period_;
        now = Clock::now();
        if (nextFrame_ < now)
            nextFrame_ = now + period_;

        switch (connection_->grab(frame)) {
        case Connection::Grab::Picture:
            if (connection_->size() != loggedSize_ || connection_->usesShm() != loggedShm_) {
                LOG_INFO(kLog, "capturing %s", description().c_str());
                loggedSize_ = connection_->size();
                loggedShm_ = connection_->usesShm();
            }
            return CaptureResult::Frame;
        case Connection::Grab::Unchanged:
            return CaptureResult::Unchanged;
        case Connection::Grab::Skipped:
            return CaptureResult::Timeout;
        case Connection::Grab::Lost:
            disconnect(SignalState::NoDevice,
                       "X display " + displayName_ + ": connection lost (the X server ended?)");
            // A server that is back already is reopened on the next call.
            nextAttempt_ = Clock::now();
            return unavailable(deadline);
        }
    } catch (const std::exception &e) {
        // Only allocations throw here. Start over rather than let the
        // capture thread die.
        disconnect(SignalState::DeviceError, "X display " + displayName_ + ": " + e.what());
        nextAttempt_ = Clock::now() + kReopenInterval;
    }
    return unavailable(deadline);
}

void X11Capture::connect() {
    nextAttempt_ = Clock::now() + kReopenInterval;
    if (displayName_.empty()) {
        status_ = {SignalState::NoDevice, "X display: none given ([capture] display, $DISPLAY)"};
        return;
    }
    SourceStatus failure;
    connection_ = Connection::open(displayName_, options_, failure);
    if (!connection_) {
        status_ = std::move(failure);
        return;
    }
    status_ = {};
}

void X11Capture::disconnect(SignalState state, std::string detail) {
    connection_.reset();
    loggedSize_ = {};
    status_ = {state, std::move(detail)};
}

CaptureResult X11Capture::unavailable(Clock::time_point deadline) {
    std::this_thread::sleep_until(deadline);
    return CaptureResult::Unavailable;
}

}  // namespace kvmvnc::capture
