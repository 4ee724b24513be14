// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/pixel_format.h"

#include <linux/videodev2.h>

#include <libyuv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace kvmvnc::capture {

namespace {

// Larger than any capture device delivers, small enough that every stride
// and size below fits in an int (libyuv's argument type) without overflow.
constexpr int kMaxDimension = 16384;

struct FormatInfo {
    PixelFormat format;
    uint32_t fourcc;
    int bytesPerPixel;
};

constexpr FormatInfo kFormats[] = {
    {PixelFormat::Yuyv, V4L2_PIX_FMT_YUYV, 2},   {PixelFormat::Uyvy, V4L2_PIX_FMT_UYVY, 2},
    {PixelFormat::Rgb24, V4L2_PIX_FMT_RGB24, 3}, {PixelFormat::Bgr24, V4L2_PIX_FMT_BGR24, 3},
    {PixelFormat::Mjpeg, V4L2_PIX_FMT_MJPEG, 0},
};

const FormatInfo &info(PixelFormat format) {
    for (const FormatInfo &entry : kFormats) {
        if (entry.format == format)
            return entry;
    }
    return kFormats[0];  // unreachable for valid enum values
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

std::span<const PixelFormat> captureFormatOrder(bool dvTimings) {
    // Bridges with DV timings (TC358743) deliver raw UYVY natively, which
    // needs no decoding; USB dongles carry 1080p only as MJPEG because USB 2
    // is too slow for raw 4:2:2 at that size.
    static constexpr PixelFormat kBridgeOrder[] = {PixelFormat::Uyvy, PixelFormat::Yuyv,
                                                   PixelFormat::Rgb24, PixelFormat::Bgr24,
                                                   PixelFormat::Mjpeg};
    static constexpr PixelFormat kUsbOrder[] = {PixelFormat::Mjpeg, PixelFormat::Yuyv,
                                                PixelFormat::Uyvy, PixelFormat::Rgb24,
                                                PixelFormat::Bgr24};
    if (dvTimings)
        return kBridgeOrder;
    return kUsbOrder;
}

std::optional<uint32_t> findFourcc(std::span<const uint32_t> offered, PixelFormat format) {
    // The canonical fourcc first, then aliases (JPEG for MJPEG).
    for (uint32_t fourcc : offered) {
        if (fourcc == toFourcc(format))
            return fourcc;
    }
    for (uint32_t fourcc : offered) {
        if (fromFourcc(fourcc) == format)
            return fourcc;
    }
    return std::nullopt;
}

std::optional<uint32_t> chooseCaptureFourcc(std::span<const uint32_t> offered, bool dvTimings,
                                            std::optional<PixelFormat> requested) {
    if (requested)
        return findFourcc(offered, *requested);
    for (PixelFormat format : captureFormatOrder(dvTimings)) {
        if (auto fourcc = findFourcc(offered, format))
            return fourcc;
    }
    return std::nullopt;
}

int bytesPerPixel(PixelFormat format) { return info(format).bytesPerPixel; }

const char *yuvEncodingName(YuvEncoding encoding) {
    switch (encoding) {
    case YuvEncoding::Bt601Limited:
        return "BT.601 limited range";
    case YuvEncoding::Bt601Full:
        return "BT.601 full range";
    case YuvEncoding::Bt709Limited:
        return "BT.709 limited range";
    case YuvEncoding::Bt709Full:
        return "BT.709 full range";
    }
    return "?";
}

YuvEncoding yuvEncodingFor(uint32_t colorspace, uint32_t ycbcrEnc, uint32_t quantization) {
    if (ycbcrEnc == V4L2_YCBCR_ENC_DEFAULT)
        ycbcrEnc = V4L2_MAP_YCBCR_ENC_DEFAULT(colorspace);
    if (quantization == V4L2_QUANTIZATION_DEFAULT)
        quantization = V4L2_MAP_QUANTIZATION_DEFAULT(false, colorspace, ycbcrEnc);
    const bool full = quantization == V4L2_QUANTIZATION_FULL_RANGE;
    switch (ycbcrEnc) {
    case V4L2_YCBCR_ENC_709:
    case V4L2_YCBCR_ENC_XV709:
    case V4L2_YCBCR_ENC_BT2020:
    case V4L2_YCBCR_ENC_BT2020_CONST_LUM:
    case V4L2_YCBCR_ENC_SMPTE240M:
        return full ? YuvEncoding::Bt709Full : YuvEncoding::Bt709Limited;
    default:
        return full ? YuvEncoding::Bt601Full : YuvEncoding::Bt601Limited;
    }
}

namespace {

const libyuv::YuvConstants &yuvConstants(YuvEncoding encoding) {
    switch (encoding) {
    case YuvEncoding::Bt601Limited:
        break;
    case YuvEncoding::Bt601Full:
        return libyuv::kYuvJPEGConstants;
    case YuvEncoding::Bt709Limited:
        return libyuv::kYuvH709Constants;
    case YuvEncoding::Bt709Full:
        return libyuv::kYuvF709Constants;
    }
    return libyuv::kYuvI601Constants;
}

// libyuv keeps each chroma coefficient in a signed byte of 1/64ths, so the
// Cb-to-blue factor saturates at 2.0: BT.709 limited range needs 2.1124 and
// would lose up to 12 levels of blue (BT.601 limited needs 2.0172, 2 levels
// at most). Stretching Cb about 128 by 2.1124/2 restores blue; Cb's small
// share of green (0.2132) grows by the same 5.6%, at most 1.3 levels.
struct CbStretch {
    uint8_t table[256];
    constexpr CbStretch() : table() {
        for (int cb = 0; cb < 256; ++cb) {
            const int stretched = 128 + ((cb - 128) * 10562 + (cb >= 128 ? 5000 : -5000)) / 10000;
            table[cb] = static_cast<uint8_t>(std::clamp(stretched, 0, 255));
        }
    }
};
constexpr CbStretch kBt709LimitedCb;

// The same stretch in 16-bit fixed point, which vectorises where a table
// lookup cannot: d * 0.0562 rounded half away from zero is
// (d * 115 + 1024) >> 11 for every Cb, as checked here. Done a byte at a
// time it took a third of the BT.709 conversion (kvmvnc_hot_path_bench).
constexpr int stretchCbFixed(int cb) {
    return std::clamp(cb + (((cb - 128) * 115 + 1024) >> 11), 0, 255);
}
constexpr bool fixedPointMatchesTable() {
    for (int cb = 0; cb < 256; ++cb) {
        if (stretchCbFixed(cb) != kBt709LimitedCb.table[cb])
            return false;
    }
    return true;
}
static_assert(fixedPointMatchesTable());

// Sixteen samples at a time with the compiler's vector extensions (SSE2,
// NEON); the products fit in 16 bits.
void stretchCb(uint8_t *cb, size_t count) {
    typedef uint8_t Bytes __attribute__((vector_size(16)));
    typedef int16_t Words __attribute__((vector_size(32)));
    size_t i = 0;
    for (; i + sizeof(Bytes) <= count; i += sizeof(Bytes)) {
        Bytes in;
        std::memcpy(&in, cb + i, sizeof(in));
        const Words d = __builtin_convertvector(in, Words) - 128;
        Words out = d + ((d * 115 + 1024) >> 11) + 128;
        out &= ~(out >> 15);       // below 0: 0
        out |= (255 - out) >> 15;  // above 255: all ones, 255 in the low byte
        const Bytes bytes = __builtin_convertvector(out, Bytes);
        std::memcpy(cb + i, &bytes, sizeof(bytes));
    }
    for (; i < count; ++i)
        cb[i] = kBt709LimitedCb.table[cb[i]];
}

// libyuv converts packed 4:2:2 straight to ARGB only with BT.601 limited
// range. Other matrices go through planar I422, a strip of rows at a time so
// the planes stay in cache.
int packed422ToXrgb(PixelFormat format, const uint8_t *src, int srcStride, uint8_t *dst,
                    int dstStride, int width, int height, YuvEncoding encoding) {
    if (encoding == YuvEncoding::Bt601Limited) {
        return format == PixelFormat::Yuyv
                   ? libyuv::YUY2ToARGB(src, srcStride, dst, dstStride, width, height)
                   : libyuv::UYVYToARGB(src, srcStride, dst, dstStride, width, height);
    }
    constexpr int kStripRows = 16;
    const int chromaWidth = width / 2;
    // One per capture thread, kept between frames: no allocation per frame.
    thread_local std::vector<uint8_t> planes;
    const size_t lumaBytes = static_cast<size_t>(width) * kStripRows;
    const size_t chromaBytes = static_cast<size_t>(chromaWidth) * kStripRows;
    planes.resize(lumaBytes + 2 * chromaBytes);
    uint8_t *y = planes.data();
    uint8_t *u = y + lumaBytes;
    uint8_t *v = u + chromaBytes;
    const libyuv::YuvConstants &constants = yuvConstants(encoding);
    for (int row = 0; row < height; row += kStripRows) {
        const int rows = std::min(kStripRows, height - row);
        const uint8_t *in = src + static_cast<size_t>(row) * srcStride;
        uint8_t *out = dst + static_cast<size_t>(row) * dstStride;
        int ret = format == PixelFormat::Yuyv
                      ? libyuv::YUY2ToI422(in, srcStride, y, width, u, chromaWidth, v, chromaWidth,
                                           width, rows)
                      : libyuv::UYVYToI422(in, srcStride, y, width, u, chromaWidth, v, chromaWidth,
                                           width, rows);
        if (ret == 0 && encoding == YuvEncoding::Bt709Limited)
            stretchCb(u, static_cast<size_t>(chromaWidth) * rows);
        if (ret == 0)
            ret = libyuv::I422ToARGBMatrix(y, width, u, chromaWidth, v, chromaWidth, out, dstStride,
                                           &constants, width, rows);
        if (ret != 0)
            return ret;
    }
    return 0;
}

}  // namespace

// The X byte of the output is 0xff: libyuv's *ToARGB writes opaque alpha, and
// TurboJPEG's BGRX does the same, so every source agrees. Nothing downstream
// reads it.
int convertToXrgb(PixelFormat format, const uint8_t *src, size_t bytes, int width, int height,
                  int srcStride, Frame &out, YuvEncoding encoding) {
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
    case PixelFormat::Uyvy:
        ret = packed422ToXrgb(format, src, srcStride, dst, out.stride, width, height, encoding);
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
