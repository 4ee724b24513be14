// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/pixel_format.h"

#include <linux/videodev2.h>
#include <strings.h>

#include <libyuv.h>

#include <cerrno>
#include <cstdint>

namespace kvmvnc::capture {

namespace {

// Larger than any capture device delivers, small enough that every stride
// and size below fits in an int (libyuv's argument type) without overflow.
constexpr int kMaxDimension = 16384;

struct FormatInfo {
    PixelFormat format;
    uint32_t fourcc;
    const char *name;
    const char *fourccName;
    int bytesPerPixel;
};

constexpr FormatInfo kFormats[] = {
    {PixelFormat::Yuyv, V4L2_PIX_FMT_YUYV, "YUYV", "YUYV", 2},
    {PixelFormat::Uyvy, V4L2_PIX_FMT_UYVY, "UYVY", "UYVY", 2},
    {PixelFormat::Rgb24, V4L2_PIX_FMT_RGB24, "RGB24", "RGB3", 3},
    {PixelFormat::Bgr24, V4L2_PIX_FMT_BGR24, "BGR24", "BGR3", 3},
    {PixelFormat::Mjpeg, V4L2_PIX_FMT_MJPEG, "MJPEG", "MJPG", 0},
};

const FormatInfo &info(PixelFormat format) {
    for (const FormatInfo &entry : kFormats) {
        if (entry.format == format)
            return entry;
    }
    return kFormats[0];  // unreachable for valid enum values
}

bool equalsIgnoreCase(std::string_view text, const char *name) {
    size_t length = std::char_traits<char>::length(name);
    return text.size() == length && strncasecmp(text.data(), name, length) == 0;
}

}  // namespace

uint32_t toFourcc(PixelFormat format) { return info(format).fourcc; }

std::optional<PixelFormat> fromFourcc(uint32_t fourcc) {
    for (const FormatInfo &entry : kFormats) {
        if (entry.fourcc == fourcc)
            return entry.format;
    }
    // Some UVC dongles advertise their MJPEG stream as plain JPEG; the
    // buffers are the same one-JPEG-per-frame.
    if (fourcc == V4L2_PIX_FMT_JPEG)
        return PixelFormat::Mjpeg;
    return std::nullopt;
}

const char *pixelFormatName(PixelFormat format) { return info(format).name; }

std::optional<PixelFormat> parsePixelFormat(std::string_view text) {
    for (const FormatInfo &entry : kFormats) {
        if (equalsIgnoreCase(text, entry.name) || equalsIgnoreCase(text, entry.fourccName))
            return entry.format;
    }
    return std::nullopt;
}

int bytesPerPixel(PixelFormat format) { return info(format).bytesPerPixel; }

// The X byte of the output is 0xff: libyuv's *ToARGB writes opaque alpha, and
// TurboJPEG's BGRX does the same, so every source agrees. Nothing downstream
// reads it.
int convertToXrgb(PixelFormat format, const uint8_t *src, size_t bytes, int width, int height,
                  int srcStride, Frame &out) {
    int bpp = bytesPerPixel(format);
    if (bpp == 0 || src == nullptr)
        return -EINVAL;
    if (width <= 0 || height <= 0 || width > kMaxDimension || height > kMaxDimension)
        return -EINVAL;
    // 4:2:2 shares one U/V pair between two pixels: an odd width has no
    // valid V4L2 layout.
    if (bpp == 2 && width % 2 != 0)
        return -EINVAL;
    int rowBytes = width * bpp;
    if (srcStride < rowBytes || srcStride > kMaxDimension * 4)
        return -EINVAL;
    // The last row need not be padded to the full stride.
    size_t needed = static_cast<size_t>(srcStride) * static_cast<size_t>(height - 1) +
                    static_cast<size_t>(rowBytes);
    if (bytes < needed)
        return -EINVAL;

    out.allocate(width, height);
    uint8_t *dst = out.pixels.data();
    int ret = -1;
    switch (format) {
    case PixelFormat::Yuyv:
        ret = libyuv::YUY2ToARGB(src, srcStride, dst, out.stride, width, height);
        break;
    case PixelFormat::Uyvy:
        ret = libyuv::UYVYToARGB(src, srcStride, dst, out.stride, width, height);
        break;
    case PixelFormat::Rgb24:
        // libyuv's "RAW" is R, G, B in memory, V4L2's RGB24.
        ret = libyuv::RAWToARGB(src, srcStride, dst, out.stride, width, height);
        break;
    case PixelFormat::Bgr24:
        // libyuv's "RGB24" is B, G, R in memory, V4L2's BGR24.
        ret = libyuv::RGB24ToARGB(src, srcStride, dst, out.stride, width, height);
        break;
    case PixelFormat::Mjpeg:
        break;
    }
    return ret == 0 ? 0 : -EINVAL;
}

}  // namespace kvmvnc::capture
