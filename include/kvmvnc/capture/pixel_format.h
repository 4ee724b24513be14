// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kvmvnc/capture/frame.h"
#include "kvmvnc/capture/pixel_format_name.h"

namespace kvmvnc::capture {

uint32_t toFourcc(PixelFormat format);
std::optional<PixelFormat> fromFourcc(uint32_t fourcc);
// The formats kvmvncd captures by preference: an HDMI bridge's (DV timings)
// raw UYVY first, a USB dongle's MJPEG first.
std::span<const PixelFormat> captureFormatOrder(bool dvTimings);
// The fourcc among `offered` (VIDIOC_ENUM_FMT) that delivers `format`: the
// canonical one first, then aliases (JPEG for MJPEG).
std::optional<uint32_t> findFourcc(std::span<const uint32_t> offered, PixelFormat format);
// The device's fourcc for the format to capture first: `requested` when
// given, otherwise the first of captureFormatOrder() it offers. nullopt when
// it offers nothing usable (or not the requested format).
std::optional<uint32_t> chooseCaptureFourcc(std::span<const uint32_t> offered, bool dvTimings,
                                            std::optional<PixelFormat> requested);
// Bytes per pixel of a packed format; 0 for MJPEG.
int bytesPerPixel(PixelFormat format);

// How Y'CbCr samples encode colour: the matrix and the range. HDMI sources
// send BT.601 at SD video modes and BT.709 at HD ones, limited range unless
// the AVI InfoFrame says otherwise; the capture driver tells which.
enum class YuvEncoding {
    Bt601Limited,
    Bt601Full,
    Bt709Limited,
    Bt709Full,
};

// "BT.601 limited range" and so on.
const char *yuvEncodingName(YuvEncoding encoding);
// What a V4L2 format's colorspace, ycbcr_enc and quantization fields (0 for
// "default", as the V4L2 spec maps them) mean for a Y'CbCr format. BT.2020
// and SMPTE 240M, which no HDMI capture chip sends in practice, are read as
// BT.709, the nearest matrix libyuv has.
YuvEncoding yuvEncodingFor(uint32_t colorspace, uint32_t ycbcrEnc, uint32_t quantization);

// Converts one packed (non-MJPEG) picture into `out` as XRGB8888, resizing
// `out` to width x height. `bytes` is what the device delivered; a buffer too
// small for width x height at `srcStride` is rejected. Returns 0 or -EINVAL.
// `encoding` applies to YUYV and UYVY only. Uses libyuv's SIMD row functions.
int convertToXrgb(PixelFormat format, const uint8_t *src, size_t bytes, int width, int height,
                  int srcStride, Frame &out, YuvEncoding encoding = YuvEncoding::Bt601Limited);

}  // namespace kvmvnc::capture
