// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/pixel_format.h"

#include <gtest/gtest.h>
#include <linux/videodev2.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace kvmvnc::capture {
namespace {

struct Rgb {
    uint8_t r, g, b;
};

// Bars two pixels wide, so each 4:2:2 pair is one colour.
constexpr Rgb kBars[] = {
    {255, 0, 0}, {0, 255, 0},     {0, 0, 255},   {255, 255, 255},
    {0, 0, 0},   {128, 128, 128}, {255, 255, 0}, {40, 90, 200},
};
constexpr int kBarWidth = 2;
constexpr int kWidth = kBarWidth * static_cast<int>(std::size(kBars));
constexpr int kHeight = 3;
constexpr int kTolerance = 3;

uint8_t clampByte(double value) {
    return static_cast<uint8_t>(std::clamp(std::lround(value), 0L, 255L));
}

// BT.601 limited range, the matrix libyuv's YUY2ToARGB/UYVYToARGB invert.
void toYuv(Rgb c, uint8_t &y, uint8_t &u, uint8_t &v) {
    double r = c.r / 255.0, g = c.g / 255.0, b = c.b / 255.0;
    y = clampByte(16 + 65.481 * r + 128.553 * g + 24.966 * b);
    u = clampByte(128 - 37.797 * r - 74.203 * g + 112.0 * b);
    v = clampByte(128 + 112.0 * r - 93.786 * g - 18.214 * b);
}

Rgb colourAt(int x) { return kBars[x / kBarWidth]; }

// Writes one row of the bars in `format` at `row`.
void writeRow(PixelFormat format, uint8_t *row) {
    for (int x = 0; x < kWidth; x += 2) {
        Rgb c = colourAt(x);
        uint8_t y, u, v;
        toYuv(c, y, u, v);
        uint8_t *p;
        switch (format) {
        case PixelFormat::Yuyv:
            p = row + x * 2;
            p[0] = y, p[1] = u, p[2] = y, p[3] = v;
            break;
        case PixelFormat::Uyvy:
            p = row + x * 2;
            p[0] = u, p[1] = y, p[2] = v, p[3] = y;
            break;
        case PixelFormat::Rgb24:
            for (int i = 0; i < 2; ++i) {
                p = row + (x + i) * 3;
                p[0] = c.r, p[1] = c.g, p[2] = c.b;
            }
            break;
        case PixelFormat::Bgr24:
            for (int i = 0; i < 2; ++i) {
                p = row + (x + i) * 3;
                p[0] = c.b, p[1] = c.g, p[2] = c.r;
            }
            break;
        case PixelFormat::Mjpeg:
            break;
        }
    }
}

// A picture of the bars with `padding` bytes of junk after each row.
std::vector<uint8_t> makeBars(PixelFormat format, int padding, int &stride) {
    stride = kWidth * bytesPerPixel(format) + padding;
    std::vector<uint8_t> data(static_cast<size_t>(stride) * kHeight, 0xab);
    for (int y = 0; y < kHeight; ++y)
        writeRow(format, data.data() + static_cast<size_t>(y) * stride);
    return data;
}

void expectBars(const Frame &frame) {
    ASSERT_EQ(frame.width, kWidth);
    ASSERT_EQ(frame.height, kHeight);
    ASSERT_EQ(frame.stride, kWidth * Frame::kBytesPerPixel);
    ASSERT_EQ(frame.pixels.size(), static_cast<size_t>(frame.stride) * kHeight);
    for (int y = 0; y < kHeight; ++y) {
        const uint8_t *row = frame.row(y);
        for (int x = 0; x < kWidth; ++x) {
            Rgb c = colourAt(x);
            const uint8_t *px = row + x * 4;
            SCOPED_TRACE("x=" + std::to_string(x) + " y=" + std::to_string(y));
            // XRGB8888 little-endian: B, G, R, X in memory.
            EXPECT_NEAR(px[0], c.b, kTolerance);
            EXPECT_NEAR(px[1], c.g, kTolerance);
            EXPECT_NEAR(px[2], c.r, kTolerance);
        }
    }
}

class PackedFormatTest : public testing::TestWithParam<PixelFormat> {};

TEST_P(PackedFormatTest, ConvertsColourBars) {
    int stride = 0;
    std::vector<uint8_t> src = makeBars(GetParam(), 0, stride);
    Frame frame;
    ASSERT_EQ(convertToXrgb(GetParam(), src.data(), src.size(), kWidth, kHeight, stride, frame), 0);
    expectBars(frame);
}

TEST_P(PackedFormatTest, HonoursSourceStride) {
    int stride = 0;
    std::vector<uint8_t> src = makeBars(GetParam(), 20, stride);
    Frame frame;
    ASSERT_EQ(convertToXrgb(GetParam(), src.data(), src.size(), kWidth, kHeight, stride, frame), 0);
    expectBars(frame);
}

TEST_P(PackedFormatTest, AcceptsLastRowWithoutPadding) {
    int stride = 0;
    std::vector<uint8_t> src = makeBars(GetParam(), 20, stride);
    size_t bytes = src.size() - 20;
    Frame frame;
    ASSERT_EQ(convertToXrgb(GetParam(), src.data(), bytes, kWidth, kHeight, stride, frame), 0);
    expectBars(frame);
}

TEST_P(PackedFormatTest, RejectsShortBuffer) {
    int stride = 0;
    std::vector<uint8_t> src = makeBars(GetParam(), 20, stride);
    size_t bytes = src.size() - 21;
    Frame frame;
    EXPECT_EQ(convertToXrgb(GetParam(), src.data(), bytes, kWidth, kHeight, stride, frame),
              -EINVAL);
    EXPECT_EQ(convertToXrgb(GetParam(), src.data(), 0, kWidth, kHeight, stride, frame), -EINVAL);
}

TEST_P(PackedFormatTest, RejectsStrideShorterThanRow) {
    int stride = 0;
    std::vector<uint8_t> src = makeBars(GetParam(), 0, stride);
    Frame frame;
    EXPECT_EQ(convertToXrgb(GetParam(), src.data(), src.size(), kWidth, kHeight, stride - 1, frame),
              -EINVAL);
}

TEST_P(PackedFormatTest, RejectsEmptyOrNegativeSize) {
    int stride = 0;
    std::vector<uint8_t> src = makeBars(GetParam(), 0, stride);
    Frame frame;
    EXPECT_EQ(convertToXrgb(GetParam(), src.data(), src.size(), 0, kHeight, stride, frame),
              -EINVAL);
    EXPECT_EQ(convertToXrgb(GetParam(), src.data(), src.size(), kWidth, 0, stride, frame), -EINVAL);
    EXPECT_EQ(convertToXrgb(GetParam(), src.data(), src.size(), -2, kHeight, stride, frame),
              -EINVAL);
    EXPECT_EQ(convertToXrgb(GetParam(), nullptr, src.size(), kWidth, kHeight, stride, frame),
              -EINVAL);
}

TEST_P(PackedFormatTest, ReusesFrameAtNewSize) {
    int stride = 0;
    std::vector<uint8_t> src = makeBars(GetParam(), 0, stride);
    Frame frame;
    frame.allocate(640, 480);
    ASSERT_EQ(convertToXrgb(GetParam(), src.data(), src.size(), kWidth, kHeight, stride, frame), 0);
    expectBars(frame);
}

TEST_P(PackedFormatTest, FourccRoundTrips) {
    EXPECT_EQ(fromFourcc(toFourcc(GetParam())), GetParam());
    EXPECT_EQ(parsePixelFormat(pixelFormatName(GetParam())), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Packed, PackedFormatTest,
                         testing::Values(PixelFormat::Yuyv, PixelFormat::Uyvy, PixelFormat::Rgb24,
                                         PixelFormat::Bgr24),
                         [](const testing::TestParamInfo<PixelFormat> &param) {
                             return std::string(pixelFormatName(param.param));
                         });

TEST(PixelFormatTest, RejectsOddWidthFor422) {
    std::vector<uint8_t> src(64, 0x80);
    Frame frame;
    EXPECT_EQ(convertToXrgb(PixelFormat::Yuyv, src.data(), src.size(), 3, 2, 8, frame), -EINVAL);
    EXPECT_EQ(convertToXrgb(PixelFormat::Uyvy, src.data(), src.size(), 3, 2, 8, frame), -EINVAL);
    // Packed RGB has no pairs: any width is fine.
    EXPECT_EQ(convertToXrgb(PixelFormat::Rgb24, src.data(), src.size(), 3, 2, 9, frame), 0);
    EXPECT_EQ(frame.width, 3);
}

TEST(PixelFormatTest, MjpegIsNotPacked) {
    std::vector<uint8_t> src(64);
    Frame frame;
    EXPECT_EQ(bytesPerPixel(PixelFormat::Mjpeg), 0);
    EXPECT_EQ(convertToXrgb(PixelFormat::Mjpeg, src.data(), src.size(), 4, 4, 16, frame), -EINVAL);
}

TEST(PixelFormatTest, BytesPerPixel) {
    EXPECT_EQ(bytesPerPixel(PixelFormat::Yuyv), 2);
    EXPECT_EQ(bytesPerPixel(PixelFormat::Uyvy), 2);
    EXPECT_EQ(bytesPerPixel(PixelFormat::Rgb24), 3);
    EXPECT_EQ(bytesPerPixel(PixelFormat::Bgr24), 3);
}

TEST(PixelFormatTest, Fourccs) {
    EXPECT_EQ(toFourcc(PixelFormat::Yuyv), V4L2_PIX_FMT_YUYV);
    EXPECT_EQ(toFourcc(PixelFormat::Uyvy), V4L2_PIX_FMT_UYVY);
    EXPECT_EQ(toFourcc(PixelFormat::Rgb24), V4L2_PIX_FMT_RGB24);
    EXPECT_EQ(toFourcc(PixelFormat::Bgr24), V4L2_PIX_FMT_BGR24);
    EXPECT_EQ(toFourcc(PixelFormat::Mjpeg), V4L2_PIX_FMT_MJPEG);
    for (PixelFormat format : kAllPixelFormats)
        EXPECT_EQ(fromFourcc(toFourcc(format)), format) << pixelFormatName(format);
    EXPECT_EQ(fromFourcc(V4L2_PIX_FMT_JPEG), PixelFormat::Mjpeg);
    EXPECT_EQ(fromFourcc(V4L2_PIX_FMT_NV12), std::nullopt);
    EXPECT_EQ(fromFourcc(0), std::nullopt);
}

TEST(PixelFormatTest, ParsesNamesAndFourccs) {
    EXPECT_EQ(parsePixelFormat("yuyv"), PixelFormat::Yuyv);
    EXPECT_EQ(parsePixelFormat("UYVY"), PixelFormat::Uyvy);
    EXPECT_EQ(parsePixelFormat("RGB3"), PixelFormat::Rgb24);
    EXPECT_EQ(parsePixelFormat("rgb24"), PixelFormat::Rgb24);
    EXPECT_EQ(parsePixelFormat("BGR3"), PixelFormat::Bgr24);
    EXPECT_EQ(parsePixelFormat("Bgr24"), PixelFormat::Bgr24);
    EXPECT_EQ(parsePixelFormat("mjpeg"), PixelFormat::Mjpeg);
    EXPECT_EQ(parsePixelFormat("MJPG"), PixelFormat::Mjpeg);
    for (PixelFormat format : kAllPixelFormats)
        EXPECT_EQ(parsePixelFormat(pixelFormatName(format)), format);
}

TEST(PixelFormatTest, RejectsUnknownNames) {
    EXPECT_EQ(parsePixelFormat("foo"), std::nullopt);
    EXPECT_EQ(parsePixelFormat(""), std::nullopt);
    EXPECT_EQ(parsePixelFormat("yuy"), std::nullopt);
    EXPECT_EQ(parsePixelFormat("yuyv "), std::nullopt);
    EXPECT_EQ(parsePixelFormat("mjpegx"), std::nullopt);
    EXPECT_EQ(parsePixelFormat(std::string_view("yuyv\0", 5)), std::nullopt);
}

}  // namespace
}  // namespace kvmvnc::capture
