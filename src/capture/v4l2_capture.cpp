// SPDX-License-Identifier: GPL-2.0-or-later
// V4l2Capture: opening the device, the capture loop and the status. The
// other v4l2_capture_*.cpp files hold the signal, the EDID, the modes and
// the stream (v4l2_capture_internal.h says which).
#include "kvmvnc/capture/v4l2_capture.h"

#include <linux/videodev2.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <thread>
#include <utility>

#include "kvmvnc/base/log.h"
#include "v4l2_capture_internal.h"

namespace kvmvnc::capture {

using namespace std::chrono_literals;

namespace {

constexpr auto kReopenInterval = 1s;  // device missing or failing

// An unplugged device answers every call on an open descriptor with ENODEV.
SignalState signalStateForDeviceError(int error) {
    return error == -ENODEV || error == -ENXIO ? SignalState::NoDevice : SignalState::DeviceError;
}

}  // namespace

V4l2Capture::V4l2Capture(V4l2Options options, std::shared_ptr<EdidMailbox> edid, V4l2Opener open)
    : options_(std::move(options)), edidMailbox_(std::move(edid)), open_(std::move(open)) {}

V4l2Capture::~V4l2Capture() { closeDevice(); }

SourceStatus V4l2Capture::status() const { return status_; }

std::string V4l2Capture::description() const {
    std::string text = "v4l2 " + options_.device;
    if (haveFormat_) {
        text += ' ';
        text += pixelFormatName(format_);
        text += ' ' + std::to_string(width_) + 'x' + std::to_string(height_);
        if (bytesPerPixel(format_) == 2)
            text += std::string(" ") + yuvEncodingName(yuvEncoding_);
    }
    return text;
}

CaptureResult V4l2Capture::capture(Frame &frame, std::chrono::milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + std::max(timeout, 0ms);
    try {
        return run(frame, deadline);
    } catch (const std::exception &e) {
        // Only allocations throw on this path. Start over from scratch rather
        // than let the capture thread die.
        closeDevice();
        nextAttempt_ = Clock::now() + kReopenInterval;
        setStatus(SignalState::DeviceError, options_.device + ": " + e.what());
        std::this_thread::sleep_until(deadline);
        return CaptureResult::Unavailable;
    }
}

CaptureResult V4l2Capture::noFrame() const {
    return status_.state == SignalState::Ok ? CaptureResult::Timeout : CaptureResult::Unavailable;
}

CaptureResult V4l2Capture::run(Frame &frame, Clock::time_point deadline) {
    takeEdidRequest();
    for (;;) {
        Clock::time_point now = Clock::now();
        if (!streaming_) {
            if (now >= nextAttempt_) {
                start();
                if (streaming_)
                    continue;
            }
            Clock::time_point wake = std::min(deadline, nextAttempt_);
            if (now >= deadline)
                return noFrame();
            std::this_thread::sleep_until(wake);
            continue;
        }

        if (now >= stallCheck_) {
            handleStall(now);
            continue;
        }
        // Poll at least once, even with a zero timeout, so a ready frame is
        // never missed.
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(
            std::max(std::min(deadline, stallCheck_) - now, Clock::duration::zero()));
        int revents = device_->poll(POLLIN | POLLPRI, wait);
        if (revents < 0) {
            fail("poll", revents);
            continue;
        }
        if (revents > 0) {
            if (revents & POLLPRI)
                handleEvents();
            if (streaming_ && (revents & POLLIN)) {
                switch (dequeue(frame)) {
                case Dequeued::Frame:
                    return CaptureResult::Frame;
                case Dequeued::Unchanged:
                    return CaptureResult::Unchanged;
                case Dequeued::Nothing:
                    break;
                }
            } else if (streaming_ && (revents & (POLLERR | POLLHUP | POLLNVAL))) {
                handlePollError();
            }
        }
        if (Clock::now() >= deadline)
            return noFrame();
    }
}

// Opens the device if needed, checks the signal and starts streaming. On
// failure the status says why and nextAttempt_ says when to try again.
void V4l2Capture::start() {
    Clock::time_point now = Clock::now();
    if (!device_) {
        nextAttempt_ = now + kReopenInterval;
        if (openDevice() < 0)
            return;
    }
    nextAttempt_ = now + kReprobeInterval;
    // Before the signal is probed: without an EDID there is none.
    if (edidPending_ && loadEdid() < 0)
        return;

    SignalProbe probe = probeSignal();
    if (probe.error < 0) {
        fail(probe.operation, probe.error);
        return;
    }
    if (!probe.streamable) {
        setStatus(probe.state, std::move(probe.detail));
        return;
    }
    if (applyDvTimings(probe) < 0 || configureFormat() < 0)
        return;
    if (int ret = startStreaming(); ret < 0) {
        // A mode the device lists but will not stream (uvcvideo: ENOSPC, the
        // bus cannot carry it) delivers nothing either.
        if (ret != -ENODEV && searching())
            abandonMode("refuses " + streamText() + " (" + errorText(ret) + ")",
                        streamText() + " was refused (" + errorText(ret) + ")");
        return;
    }

    streaming_ = true;
    streamStart_ = now;
    stallCheck_ = now + (searching() ? modeTimeout() : kStallTimeout);
    wrongSizeFrames_ = 0;
    warnedBadFrame_ = false;
    // A signal problem stays on screen until a frame proves it gone; the
    // device being back is proven by having got this far.
    if (status_.state == SignalState::NoDevice)
        setStatus(SignalState::Ok, {});

    std::string stream = description();
    if (stream == loggedStream_) {
        LOG_DEBUG("capture", "restarted %s", stream.c_str());
    } else if (modeIndex_ > 0 || roundFailed_) {
        // The modes a search goes through are logged by the line that says
        // which one it settled on.
        LOG_DEBUG("capture", "trying %s", stream.c_str());
    } else {
        if (fps_ > 0)
            LOG_INFO("capture", "streaming %s at %.3g fps", stream.c_str(), fps_);
        else
            LOG_INFO("capture", "streaming %s", stream.c_str());
        if ((asked_.width > 0 && asked_.width != width_) ||
            (asked_.height > 0 && asked_.height != height_))
            LOG_WARN("capture", "%s: asked for %dx%d, the device chose %dx%d",
                     options_.device.c_str(), asked_.width, asked_.height, width_, height_);
        loggedStream_ = std::move(stream);
    }
}

int V4l2Capture::openDevice() {
    int error = 0;
    device_ = open_(options_.device, error);
    if (!device_) {
        setStatus(SignalState::NoDevice, options_.device + ": " + errorText(error));
        reportEdid({EdidReport::State::Unknown,
                    edidRequest_.setting,
                    options_.device,
                    status_.detail,
                    {}});
        return error;
    }

    v4l2_capability caps{};
    if (int ret = device_->ioctl(VIDIOC_QUERYCAP, &caps); ret < 0) {
        fail("VIDIOC_QUERYCAP", ret);
        return ret;
    }
    uint32_t deviceCaps =
        (caps.capabilities & V4L2_CAP_DEVICE_CAPS) ? caps.device_caps : caps.capabilities;
    if (!(deviceCaps & V4L2_CAP_VIDEO_CAPTURE) || !(deviceCaps & V4L2_CAP_STREAMING)) {
        giveUp(options_.device + ": not a streaming video capture device");
        return -ENODEV;
    }
    if (options_.input >= 0) {
        int input = options_.input;
        if (int ret = device_->ioctl(VIDIOC_S_INPUT, &input); ret < 0) {
            fail("VIDIOC_S_INPUT", ret);
            return ret;
        }
    }
    // Bridges announce resolution changes and signal loss this way; drivers
    // without the event answer EINVAL or ENOTTY, and the stall check covers
    // them instead. The event is per input: subscribe to the one in use
    // (vivid's HDMI input is number 3).
    int currentInput = 0;
    if (device_->ioctl(VIDIOC_G_INPUT, &currentInput) < 0)
        currentInput = 0;
    v4l2_event_subscription subscription{};
    subscription.type = V4L2_EVENT_SOURCE_CHANGE;
    subscription.id = static_cast<uint32_t>(currentInput);
    if (int ret = device_->ioctl(VIDIOC_SUBSCRIBE_EVENT, &subscription); ret == -ENODEV) {
        fail("VIDIOC_SUBSCRIBE_EVENT", ret);
        return ret;
    }

    if (status_.state == SignalState::NoDevice) {
        LOG_INFO("capture", "%s: %.32s (driver %.16s, %.32s)", options_.device.c_str(),
                 reinterpret_cast<const char *>(caps.card),
                 reinterpret_cast<const char *>(caps.driver),
                 reinterpret_cast<const char *>(caps.bus_info));
        loggedEdid_.clear();  // a device that reappears has its EDID logged again
    }
    // Every time: a device that was unplugged (or a bridge that lost power)
    // may have lost its EDID.
    edidPending_ = true;
    return 0;
}

void V4l2Capture::closeDevice() {
    stopStreaming();
    device_.reset();
    hasDvTimings_ = false;
    haveFormat_ = false;
}

// A failed call: ENODEV means the device was unplugged, anything else that it
// misbehaves. Either way start again from open() after kReopenInterval.
void V4l2Capture::fail(const char *operation, int error) {
    closeDevice();
    nextAttempt_ = Clock::now() + kReopenInterval;
    SignalState state = signalStateForDeviceError(error);
    std::string detail = options_.device + ": ";
    if (state != SignalState::NoDevice)
        detail += std::string(operation) + ": ";
    setStatus(state, detail + errorText(error));
}

// The device works but cannot be used as configured; look again later in
// case it changes (a different dongle plugged into the same node).
void V4l2Capture::giveUp(std::string detail) {
    closeDevice();
    nextAttempt_ = Clock::now() + kReopenInterval;
    setStatus(SignalState::DeviceError, std::move(detail));
}

void V4l2Capture::setStatus(SignalState state, std::string detail) {
    if (status_.state == state && status_.detail == detail)
        return;
    if (state != SignalState::Ok)
        haveLastBytes_ = false;  // a status screen is shown: the next picture must replace it
    // The capture thread logs what it shows (once per change, as a warning);
    // the device coming back is logged by openDevice() and start().
    if (state != SignalState::Ok)
        LOG_DEBUG("capture", "%s: %s", signalStateTitle(state), detail.c_str());
    else if (status_.state != SignalState::NoDevice)
        LOG_INFO("capture", "%s: receiving frames again", options_.device.c_str());
    status_ = {state, std::move(detail)};
}

}  // namespace kvmvnc::capture
