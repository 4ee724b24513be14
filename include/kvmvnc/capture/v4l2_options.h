// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "kvmvnc/capture/pixel_format.h"

namespace kvmvnc::capture {

// What the [capture] section asks of a V4L2 device.
struct V4l2Options {
    std::string device = "/dev/video0";
    std::optional<PixelFormat> format;  // nullopt: choose automatically
    int width = 0;                      // 0: keep the device's (or the DV timings')
    int height = 0;
    int fps = 0;     // 0: the device's default frame interval
    int input = -1;  // -1: keep the device's current input
    int buffers = 4;
    // Devices without DV timings: how long a mode may take to deliver its
    // first picture before the next one the device lists is tried (0: the
    // first mode is kept however it behaves), and once every mode failed,
    // how long the first one is given before the others are tried again.
    std::chrono::milliseconds firstFrameTimeout{2000};
    std::chrono::milliseconds retryWait{10000};
};

}  // namespace kvmvnc::capture
