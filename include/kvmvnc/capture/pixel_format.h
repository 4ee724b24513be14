// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kvmvnc/capture/frame.h"

namespace kvmvnc::capture {

// Capture formats we accept from V4L2 devices.
enum class PixelFormat {
    Yuyv,   // V4L2_PIX_FMT_YUYV: Y0 U Y1 V (USB dongles at low resolutions)
    Uyvy,   // V4L2_PIX_FMT_UYVY: U Y0 V Y1 (TC358743)
    Rgb24,  // V4L2_PIX_FMT_RGB24: R G B in memory
    Bgr24,  // V4L2_PIX_FMT_BGR24: B G R in memory
    Mjpeg,  // V4L2_PIX_FMT_MJPEG: one JPEG per buffer (USB dongles)
};

inline constexpr PixelFormat kAllPixelFormats[] = {PixelFormat::Yuyv, PixelFormat::Uyvy,
                                                   PixelFormat::Rgb24, PixelFormat::Bgr24,
                                                   PixelFormat::Mjpeg};

uint32_t toFourcc(PixelFormat format);
std::optional<PixelFormat> fromFourcc(uint32_t fourcc);
// "YUYV", "UYVY", "RGB24", "BGR24", "MJPEG".
const char *pixelFormatName(PixelFormat format);
// Accepts the names above and the V4L2 fourccs (YUYV, UYVY, RGB3, BGR3, MJPG),
// case-insensitively.
std::optional<PixelFormat> parsePixelFormat(std::string_view text);
// Bytes per pixel of a packed format; 0 for MJPEG.
int bytesPerPixel(PixelFormat format);

// Converts one packed (non-MJPEG) picture into `out` as XRGB8888, resizing
// `out` to width x height. `bytes` is what the device delivered; a buffer too
// small for width x height at `srcStride` is rejected. Returns 0 or -EINVAL.
// Uses libyuv's SIMD row functions.
int convertToXrgb(PixelFormat format, const uint8_t *src, size_t bytes, int width, int height,
                  int srcStride, Frame &out);

}  // namespace kvmvnc::capture
