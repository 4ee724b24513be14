// SPDX-License-Identifier: GPL-2.0-or-later
// What the files of V4l2Capture share. v4l2_capture.cpp opens the device,
// runs the capture loop and keeps the status; v4l2_capture_signal.cpp
// probes the signal (DV timings, source changes, stalls);
// v4l2_capture_edid.cpp loads the EDID; v4l2_capture_modes.cpp negotiates
// the format and searches for a mode that delivers; v4l2_capture_stream.cpp
// runs the buffer queue and decodes. Internal to the capture stage.
#pragma once

#include <linux/videodev2.h>

#include <chrono>
#include <cstring>
#include <string>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/capture/v4l2_capture.h"

namespace kvmvnc::capture {

// Open, waiting for a usable signal: how soon to look again.
constexpr std::chrono::milliseconds kReprobeInterval{250};
// Streaming without a frame this long: look at the signal.
constexpr std::chrono::seconds kStallTimeout{2};
constexpr int kMaxEventsPerPoll = 64;

// Why the input can or cannot stream right now.
struct V4l2Capture::SignalProbe {
    int error = 0;                        // -errno of a failed ioctl; the rest is then unset
    const char *operation = nullptr;      // that ioctl
    bool streamable = true;               // false: DV timings say there is nothing to capture
    SignalState state = SignalState::Ok;  // the best explanation of a missing picture
    std::string detail;
    bool dv = false;  // the input has DV timings; `timings` holds them when streamable
    v4l2_dv_timings timings{};
};

}  // namespace kvmvnc::capture
