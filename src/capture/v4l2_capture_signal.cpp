// SPDX-License-Identifier: GPL-2.0-or-later
// V4l2Capture: what the input says about its signal (DV timings, the
// input's status bits), source changes, and a stream that went silent.
#include <linux/videodev2.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/v4l2_capture.h"
#include "v4l2_capture_internal.h"

namespace kvmvnc::capture {

using namespace std::chrono_literals;

namespace {

// A stream that stays silent although the device reports a good signal is
// restarted, but not so often that a dongle without input churns.
constexpr auto kStallRestartInterval = 10s;
constexpr auto kMinStreamTime = 200ms;

// What VIDIOC_QUERY_DV_TIMINGS's result says about the input.
enum class DvQuery { Timings, NotSupported, NoSignal, NoSync, OutOfRange, Failed };

DvQuery classifyDvQuery(int ret) {
    switch (-ret) {
    case 0:
        return DvQuery::Timings;
    case ENOTTY:   // the driver has no DV timings (USB dongles, webcams)
    case ENODATA:  // not for this input
        return DvQuery::NotSupported;
    case ENOLINK:
        return DvQuery::NoSignal;
    case ENOLCK:
        return DvQuery::NoSync;
    case ERANGE:
        return DvQuery::OutOfRange;
    default:
        return DvQuery::Failed;
    }
}

// The status bits of VIDIOC_ENUMINPUT that explain a missing picture. No
// power means nothing is plugged in, so it outranks the others.
std::optional<SignalState> signalStateForInputStatus(uint32_t status) {
    if (status & V4L2_IN_ST_NO_POWER)
        return SignalState::NoCable;
    if (status & V4L2_IN_ST_NO_SIGNAL)
        return SignalState::NoSignal;
    if (status & (V4L2_IN_ST_NO_SYNC | V4L2_IN_ST_NO_H_LOCK | V4L2_IN_ST_NO_V_LOCK))
        return SignalState::NoSync;
    return std::nullopt;
}

const char *signalExplanation(SignalState state) {
    switch (state) {
    case SignalState::NoSignal:
        return "no video on the input";
    case SignalState::NoSync:
        return "cannot lock to the video signal";
    case SignalState::OutOfRange:
        return "video timings out of range";
    case SignalState::NoCable:
        return "nothing connected to the input";
    default:
        return "no picture";
    }
}

}  // namespace

V4l2Capture::SignalProbe V4l2Capture::probeSignal() {
    SignalProbe probe;
    int ret = device_->ioctl(VIDIOC_QUERY_DV_TIMINGS, &probe.timings);
    DvQuery dv = classifyDvQuery(ret);
    switch (dv) {
    case DvQuery::Failed:
        probe.error = ret;
        probe.operation = "VIDIOC_QUERY_DV_TIMINGS";
        return probe;
    case DvQuery::NotSupported:
        break;
    case DvQuery::Timings:
        probe.dv = true;
        if (probe.timings.type != V4L2_DV_BT_656_1120 || probe.timings.bt.width == 0 ||
            probe.timings.bt.height == 0) {
            probe.streamable = false;
            probe.state = SignalState::OutOfRange;
        }
        break;
    case DvQuery::NoSignal:
    case DvQuery::NoSync:
    case DvQuery::OutOfRange:
        probe.dv = true;
        probe.streamable = false;
        probe.state = dv == DvQuery::NoSignal ? SignalState::NoSignal
                      : dv == DvQuery::NoSync ? SignalState::NoSync
                                              : SignalState::OutOfRange;
        break;
    }

    // The input's status bits: NoCable refines "no signal", and devices
    // without DV timings have nothing else to say.
    int index = 0;
    ret = device_->ioctl(VIDIOC_G_INPUT, &index);
    if (ret == 0 || ret == -ENOTTY) {
        v4l2_input input{};
        input.index = static_cast<uint32_t>(index);
        ret = device_->ioctl(VIDIOC_ENUMINPUT, &input);
        if (ret == 0) {
            std::optional<SignalState> state = signalStateForInputStatus(input.status);
            if (state && (probe.state == SignalState::Ok || state == SignalState::NoCable))
                probe.state = *state;
        }
    }
    if (ret == -ENODEV) {
        probe.error = ret;
        probe.operation = "VIDIOC_ENUMINPUT";
        return probe;
    }
    if (probe.state == SignalState::NoSignal && holdsNoEdid_)
        probe.detail =
            options_.device + " holds no EDID: the target sees no monitor ([capture] edid)";
    else if (probe.state != SignalState::Ok)
        probe.detail = options_.device + ": " + signalExplanation(probe.state);
    return probe;
}

int V4l2Capture::applyDvTimings(const SignalProbe &probe) {
    hasDvTimings_ = probe.dv;
    if (!probe.dv)
        return 0;
    // The bridge does not switch to the timings it detected by itself; the
    // format follows the applied timings.
    v4l2_dv_timings timings = probe.timings;
    if (int ret = device_->ioctl(VIDIOC_S_DV_TIMINGS, &timings); ret < 0) {
        fail("VIDIOC_S_DV_TIMINGS", ret);
        return ret;
    }
    dvWidth_ = probe.timings.bt.width;
    dvHeight_ = probe.timings.bt.height;
    dvPixelClock_ = probe.timings.bt.pixelclock;
    return 0;
}

// A driver firing SOURCE_CHANGE in a loop must not make us spin through
// REQBUFS/mmap/STREAMON, hence the minimum run time of a stream.
void V4l2Capture::restartStream() {
    stopStreaming();
    nextAttempt_ = std::max(Clock::now(), streamStart_ + kMinStreamTime);
}

// No frame for kStallTimeout: find out why and say so.
void V4l2Capture::handleStall(Clock::time_point now) {
    stallCheck_ = now + kStallTimeout;
    SignalProbe probe = probeSignal();
    if (probe.error < 0) {
        fail(probe.operation, probe.error);
        return;
    }
    if (probe.state != SignalState::Ok) {
        setStatus(probe.state, std::move(probe.detail));
        // DV timings going bad means the stream is dead; re-probe until they
        // come back. Other devices resume by themselves when the signal does.
        if (!probe.streamable) {
            stopStreaming();
            nextAttempt_ = now + kReprobeInterval;
        }
        return;
    }
    // New timings without a SOURCE_CHANGE event (not every bridge sends it).
    if (probe.dv && hasDvTimings_ &&
        (probe.timings.bt.width != dvWidth_ || probe.timings.bt.height != dvHeight_ ||
         probe.timings.bt.pixelclock != dvPixelClock_)) {
        LOG_INFO("capture", "%s: DV timings changed to %ux%u, restarting", options_.device.c_str(),
                 probe.timings.bt.width, probe.timings.bt.height);
        restartStream();
        return;
    }
    if (searching()) {
        abandonMode("delivers no frames in " + streamText(), streamText() + " delivered nothing");
        return;
    }
    setStatus(SignalState::NoSignal, options_.device + ": no frames from the device");
    if (now - streamStart_ >= kStallRestartInterval)
        restartStream();
}

void V4l2Capture::handleEvents() {
    bool sourceChanged = false;
    for (int count = 0; count < kMaxEventsPerPoll; ++count) {
        v4l2_event event{};
        int ret = device_->ioctl(VIDIOC_DQEVENT, &event);
        if (ret == -ENOENT)
            break;  // none left
        if (ret < 0) {
            fail("VIDIOC_DQEVENT", ret);
            return;
        }
        if (event.type == V4L2_EVENT_SOURCE_CHANGE)
            sourceChanged = true;
        if (event.pending == 0)
            break;
    }
    if (sourceChanged) {
        // Frames still queued are of the old source; drop them with the stream.
        LOG_INFO("capture", "%s: source changed, restarting", options_.device.c_str());
        restartStream();
    }
}

}  // namespace kvmvnc::capture
