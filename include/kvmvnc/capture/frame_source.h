// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <string>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/frame.h"

namespace kvmvnc::capture {

// Why a source has no picture. Each state becomes a readable screen for the
// viewers (StatusScreen) instead of an error buried in a log.
enum class SignalState {
    Ok,
    NoSignal,     // cable present, no video (ENOLINK, V4L2_IN_ST_NO_SIGNAL)
    NoSync,       // video present, receiver cannot lock (ENOLCK, V4L2_IN_ST_NO_SYNC)
    OutOfRange,   // timings the receiver does not support (ERANGE)
    NoCable,      // V4L2_IN_ST_NO_POWER: nothing plugged in
    NoDevice,     // the capture device is missing or was unplugged
    DeviceError,  // the device exists but fails
};

// "NO SIGNAL", "NO DEVICE", ... as shown on the status screen.
const char *signalStateTitle(SignalState state);
// "ok", "no_signal", ... for metrics and scripts.
const char *signalStateName(SignalState state);

struct SourceStatus {
    SignalState state = SignalState::Ok;
    std::string detail;  // e.g. "/dev/video0: No such file or directory"
    bool operator==(const SourceStatus &) const = default;
};

enum class CaptureResult {
    Frame,        // `frame` holds a new picture
    Timeout,      // nothing new within the timeout; the last picture still stands
    Unavailable,  // no picture can be had now; status() says why
    // The source delivered a picture identical, byte for byte, to the last
    // one it returned as Frame (a static screen): `frame` is untouched and
    // nothing downstream has anything to do. Only ever follows a Frame with
    // no Unavailable in between.
    Unchanged,
};

// Where pictures come from: a V4L2 device or the virtual target.
//
// Thread-bound: one capture thread calls every method. capture() waits at
// most `timeout` (including on the Unavailable path, so a caller looping on
// it never spins) and recovers on its own: a source that is Unavailable
// re-opens or re-probes its device on later calls, so the caller just keeps
// calling and the picture comes back by itself.
class FrameSource {
public:
    virtual ~FrameSource() = default;

    virtual CaptureResult capture(Frame &frame, std::chrono::milliseconds timeout) = 0;
    virtual SourceStatus status() const = 0;
    // A short human description, e.g. "v4l2 /dev/video0 UYVY 1920x1080".
    virtual std::string description() const = 0;
};

}  // namespace kvmvnc::capture
