// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/pixel_format.h"

#include <gtest/gtest.h>
#include <linux/videodev2.h>

#include <algorithm>
#include <cctype>
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

// The textbook encoding (ITU-R BT.601 / BT.709): luma weights Kr and Kb,
// then the range: limited puts Y' in 16..235 and Cb, Cr in 16..240.
void toYuv(Rgb c, YuvEncoding encoding, uint8_t &y, uint8_t &u, uint8_t &v) {
    const bool bt709 = encoding == YuvEncoding::Bt709Limited || encoding == YuvEncoding::Bt709Full;
    const bool full = encoding == YuvEncoding::Bt601Full || encoding == YuvEncoding::Bt709Full;
    const double kr = bt709 ? 0.2126 : 0.299, kb = bt709 ? 0.0722 : 0.114;
    const double r = c.r / 255.0, g = c.g / 255.0, b = c.b / 255.0;
    const double luma = kr * r + (1 - kr - kb) * g + kb * b;
    const double cb = (b - luma) / (2 * (1 - kb)), cr = (r - luma) / (2 * (1 - kr));
    y = clampByte(full ? 255 * luma : 16 + 219 * luma);
    u = clampByte(128 + (full ? 255 : 224) * cb);
    v = clampByte(128 + (full ? 255 : 224) * cr);
}

Rgb colourAt(int x) { return kBars[x / kBarWidth]; }

// Writes one row of the bars in `format` at `row`.
void writeRow(PixelFormat format, YuvEncoding encoding, uint8_t *row) {
    for (int x = 0; x < kWidth; x += 2) {
        Rgb c = colourAt(x);
        uint8_t y, u, v;
        toYuv(c, encoding, y, u, v);
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
std::vector<uint8_t> makeBars(PixelFormat format, int padding, int &stride,
                              YuvEncoding encoding = YuvEncoding::Bt601Limited,
                              int height = kHeight) {
    stride = kWidth * bytesPerPixel(format) + padding;
    std::vector<uint8_t> data(static_cast<size_t>(stride) * height, 0xab);
    for (int y = 0; y < height; ++y)
        writeRow(format, encoding, data.data() + static_cast<size_t>(y) * stride);
    return data;
}

void expectBars(const Frame &frame, int height = kHeight) {
    ASSERT_EQ(frame.width, kWidth);
    ASSERT_EQ(frame.height, height);
    ASSERT_EQ(frame.stride, kWidth * Frame::kBytesPerPixel);
    ASSERT_EQ(frame.pixels.size(), static_cast<size_t>(frame.stride) * height);
    for (int y = 0; y < height; ++y) {
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

// Every Y'CbCr encoding an HDMI source uses comes out as the right colours;
// with the wrong matrix, saturated green and blue miss by far more than the
// tolerance. 37 rows: several strips of the planar path and a short last one.
class YuvEncodingTest : public testing::TestWithParam<std::tuple<PixelFormat, YuvEncoding, int>> {};

TEST_P(YuvEncodingTest, ConvertsColourBars) {
    const auto [format, encoding, padding] = GetParam();
    constexpr int kRows = 37;
    int stride;
    std::vector<uint8_t> src = makeBars(format, padding, stride, encoding, kRows);
    Frame frame;
    ASSERT_EQ(convertToXrgb(format, src.data(), src.size(), kWidth, kRows, stride, frame, encoding),
              0);
    expectBars(frame, kRows);
}

TEST_P(YuvEncodingTest, AnotherMatrixGivesOtherColours) {
    const auto [format, encoding, padding] = GetParam();
    const YuvEncoding other = encoding == YuvEncoding::Bt709Limited ? YuvEncoding::Bt601Limited
                                                                    : YuvEncoding::Bt709Limited;
    int stride;
    std::vector<uint8_t> src = makeBars(format, padding, stride, other);
    Frame frame;
    ASSERT_EQ(
        convertToXrgb(format, src.data(), src.size(), kWidth, kHeight, stride, frame, encoding), 0);
    int worst = 0;
    for (int x = 0; x < kWidth; ++x) {
        const uint8_t *px = frame.row(0) + x * 4;
        const Rgb c = colourAt(x);
        worst =
            std::max({worst, std::abs(px[0] - c.b), std::abs(px[1] - c.g), std::abs(px[2] - c.r)});
    }
    EXPECT_GT(worst, 10) << "the encoding argument made no difference";
}

std::string yuvEncodingTestName(const testing::TestParamInfo<YuvEncodingTest::ParamType> &param) {
    const auto [format, encoding, padding] = param.param;
    std::string name = std::string(pixelFormatName(format)) + "_" + yuvEncodingName(encoding) +
                       "_padding" + std::to_string(padding);
    std::replace_if(
        name.begin(), name.end(),
        [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(
    Matrices, YuvEncodingTest,
    testing::Combine(testing::Values(PixelFormat::Yuyv, PixelFormat::Uyvy),
                     testing::Values(YuvEncoding::Bt601Limited, YuvEncoding::Bt601Full,
                                     YuvEncoding::Bt709Limited, YuvEncoding::Bt709Full),
                     testing::Values(0, 12)),
    yuvEncodingTestName);

TEST(PixelFormatTest, EncodingFromV4l2Colorimetry) {
    // Defaults as the V4L2 spec maps them: sRGB and SMPTE 170M are BT.601,
    // Rec. 709 is BT.709, JPEG is full range, the rest limited.
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_SRGB, 0, 0), YuvEncoding::Bt601Limited);
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_SMPTE170M, 0, 0), YuvEncoding::Bt601Limited);
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_REC709, 0, 0), YuvEncoding::Bt709Limited);
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_JPEG, 0, 0), YuvEncoding::Bt601Full);
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_DEFAULT, 0, 0), YuvEncoding::Bt601Limited);
    // Explicit fields win over the colorspace's defaults.
    EXPECT_EQ(
        yuvEncodingFor(V4L2_COLORSPACE_SRGB, V4L2_YCBCR_ENC_709, V4L2_QUANTIZATION_FULL_RANGE),
        YuvEncoding::Bt709Full);
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_REC709, V4L2_YCBCR_ENC_601, 0),
              YuvEncoding::Bt601Limited);
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_REC709, 0, V4L2_QUANTIZATION_FULL_RANGE),
              YuvEncoding::Bt709Full);
    EXPECT_EQ(yuvEncodingFor(V4L2_COLORSPACE_BT2020, 0, 0), YuvEncoding::Bt709Limited);
    EXPECT_STREQ(yuvEncodingName(YuvEncoding::Bt709Limited), "BT.709 limited range");
}

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

TEST(PixelFormatTest, ChoosesRawYuvFromBridgesAndMjpegFromDongles) {
    const std::vector<uint32_t> offered = {V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_JPEG,
                                           V4L2_PIX_FMT_UYVY};
    EXPECT_EQ(chooseCaptureFourcc(offered, true, std::nullopt), V4L2_PIX_FMT_UYVY);
    // JPEG stands in for MJPEG when a dongle names it so.
    EXPECT_EQ(chooseCaptureFourcc(offered, false, std::nullopt), V4L2_PIX_FMT_JPEG);
    EXPECT_EQ(chooseCaptureFourcc(offered, false, PixelFormat::Yuyv), V4L2_PIX_FMT_YUYV);
    EXPECT_EQ(chooseCaptureFourcc(offered, true, PixelFormat::Rgb24), std::nullopt);
    const std::vector<uint32_t> unusable = {V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_GREY};
    EXPECT_EQ(chooseCaptureFourcc(unusable, false, std::nullopt), std::nullopt);
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
