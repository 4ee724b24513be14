// SPDX-License-Identifier: GPL-2.0-or-later
// V4l2M2mEncoder where no V4L2 driver is needed: its choices (raw format,
// level, options), the FWHT keyframe flag, and the host kernel's answers for
// a node that is missing or no V4L2 device. The encoder on a real stateful
// encoder (vicodec) is proven in the lab (tests/lab/m2m_lab_test.cpp).
#include "kvmvnc/encode/v4l2_m2m_encoder.h"

#include <gtest/gtest.h>
#include <linux/videodev2.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kvmvnc::encode {
namespace {

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

TEST(V4l2M2mEncoderTest, TakesOurByteOrderBeforeAConversion) {
    using E = V4l2M2mEncoder;
    // bcm2835-codec and vicodec list YUV formats first.
    EXPECT_EQ(E::chooseRawFormat({V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_XBGR32}),
              V4L2_PIX_FMT_XBGR32);
    EXPECT_EQ(E::chooseRawFormat({V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_ABGR32}), V4L2_PIX_FMT_ABGR32);
    EXPECT_EQ(E::chooseRawFormat({V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_BGR32}), V4L2_PIX_FMT_BGR32);
    EXPECT_EQ(E::chooseRawFormat({V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUV420}), V4L2_PIX_FMT_YUV420);
    EXPECT_EQ(E::chooseRawFormat({V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12}), V4L2_PIX_FMT_NV12);
    // V4L2's XRGB32 is X, R, G, B in memory: not ours, and not converted.
    EXPECT_EQ(E::chooseRawFormat({V4L2_PIX_FMT_XRGB32, V4L2_PIX_FMT_YUYV}), 0u);
    EXPECT_EQ(E::chooseRawFormat({}), 0u);
}

TEST(V4l2M2mEncoderTest, LevelFitsSizeAndRate) {
    EXPECT_EQ(V4l2M2mEncoder::h264Level({1280, 720}, 30), 31);
    EXPECT_EQ(V4l2M2mEncoder::h264Level({1920, 1080}, 30), 40);
    EXPECT_EQ(V4l2M2mEncoder::h264Level({1920, 1080}, 60), 42);
    EXPECT_EQ(V4l2M2mEncoder::h264Level({3840, 2160}, 30), 51);
}

TEST(V4l2M2mEncoderTest, ChecksSizeAndOptions) {
    const H264Options defaults;
    EXPECT_EQ(V4l2M2mEncoder::checkOptions({1920, 1080}, defaults), "");
    EXPECT_EQ(V4l2M2mEncoder::checkOptions({8, 8}, defaults), "picture size 8x8 is below 16x16");
    H264Options bounds;
    bounds.minQp = 40;
    bounds.maxQp = 30;
    EXPECT_TRUE(contains(V4l2M2mEncoder::checkOptions({640, 480}, bounds), "quantiser bounds"))
        << V4l2M2mEncoder::checkOptions({640, 480}, bounds);
    H264Options fps;
    fps.maxFps = 0;
    EXPECT_TRUE(contains(V4l2M2mEncoder::checkOptions({640, 480}, fps), "frame rate 0"))
        << V4l2M2mEncoder::checkOptions({640, 480}, fps);
}

// vicodec's FWHT header (struct fwht_cframe_hdr): the flags word, big-endian,
// 20 bytes in.
TEST(V4l2M2mEncoderTest, ReadsTheFwhtIntraFlag) {
    std::vector<uint8_t> header(44, 0);
    EXPECT_FALSE(V4l2M2mEncoder::fwhtIntra(header.data(), header.size()));
    header[22] = static_cast<uint8_t>(V4L2_FWHT_FL_I_FRAME >> 8);  // bit 10
    EXPECT_TRUE(V4l2M2mEncoder::fwhtIntra(header.data(), header.size()));
    EXPECT_FALSE(V4l2M2mEncoder::fwhtIntra(header.data(), 23)) << "too short for the flags";
    EXPECT_FALSE(V4l2M2mEncoder::fwhtIntra(nullptr, 0));
}

// What a device may send in a buffer ahead of the picture's slice.
TEST(V4l2M2mEncoderTest, TellsParameterSetsAloneFromAPicture) {
    const std::vector<uint8_t> parameterSets = {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f,
                                                0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80};
    EXPECT_TRUE(V4l2M2mEncoder::parameterSetsOnly(parameterSets.data(), parameterSets.size()));
    std::vector<uint8_t> withIdr = parameterSets;
    withIdr.insert(withIdr.end(), {0, 0, 1, 0x65, 0x88, 0x84});
    EXPECT_FALSE(V4l2M2mEncoder::parameterSetsOnly(withIdr.data(), withIdr.size()));
    const std::vector<uint8_t> slice = {0, 0, 0, 1, 0x41, 0x9a, 0x02};
    EXPECT_FALSE(V4l2M2mEncoder::parameterSetsOnly(slice.data(), slice.size()));
    const std::vector<uint8_t> garbage = {0x12, 0x34, 0x56, 0x78};
    EXPECT_FALSE(V4l2M2mEncoder::parameterSetsOnly(garbage.data(), garbage.size()));
}

// An access unit delimiter (9) or filler (12) is dropped; what noVNC takes
// stays, each unit behind a 4-byte start code.
TEST(V4l2M2mEncoderTest, KeepsOnlyTheUnitsViewersTake) {
    std::vector<uint8_t> bytes = {0, 0, 0, 1,    0x09, 0xf0,               // delimiter
                                  0, 0, 0, 1,    0x67, 0x42, 0xc0, 0x1f,   // SPS
                                  0, 0, 1, 0x68, 0xce, 0x3c, 0x80,         // PPS, 3-byte code
                                  0, 0, 0, 1,    0x65, 0x88, 0x84,         // IDR slice
                                  0, 0, 0, 1,    0x0c, 0xff, 0xff, 0x80};  // filler
    V4l2M2mEncoder::keepViewerNals(bytes);
    const std::vector<uint8_t> expected = {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f,
                                           0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
                                           0, 0, 0, 1, 0x65, 0x88, 0x84};
    EXPECT_EQ(bytes, expected);
    // Already clean: untouched, 3-byte start codes included.
    std::vector<uint8_t> clean = {0, 0, 1, 0x41, 0x9a, 0x02};
    V4l2M2mEncoder::keepViewerNals(clean);
    EXPECT_EQ(clean, (std::vector<uint8_t>{0, 0, 1, 0x41, 0x9a, 0x02}));
}

TEST(V4l2M2mEncoderTest, NamesItsFormatAndDevice) {
    EXPECT_EQ(V4l2M2mEncoder::fourccText(V4L2_PIX_FMT_H264), "H264");
    EXPECT_EQ(V4l2M2mEncoder::fourccText(V4L2_PIX_FMT_XBGR32), "XR24");
    EXPECT_STREQ(V4l2M2mEncoder("/dev/video11").name(), "V4L2 M2M H264 encoder /dev/video11");
    EXPECT_STREQ(V4l2M2mEncoder("/dev/video3", V4L2_PIX_FMT_FWHT).name(),
                 "V4L2 M2M FWHT encoder /dev/video3");
}

// The host kernel's own answers: a node that is not there, and a character
// device that is no V4L2 device.
TEST(V4l2M2mEncoderTest, AMissingOrForeignDeviceIsAnErrorAndLeavesItUnconfigured) {
    const std::string missing = ::testing::TempDir() + "/no-video11";
    V4l2M2mEncoder absent(missing);
    std::string error;
    EXPECT_FALSE(absent.open(error));
    EXPECT_EQ(error, missing + ": No such file or directory");
    error.clear();
    EXPECT_FALSE(absent.configure({1280, 720}, H264Options{}, error));
    EXPECT_EQ(error, missing + ": No such file or directory");
    EXPECT_TRUE(absent.size().isEmpty());
    std::vector<uint8_t> pixels(1280 * 720 * 4);
    EncodedPicture out;
    out.bytes = {1, 2, 3};
    EXPECT_FALSE(absent.encode(pixels.data(), 1280 * 4, false, out, error));
    EXPECT_EQ(error, "the encoder is not configured");
    EXPECT_TRUE(out.bytes.empty());

    V4l2M2mEncoder foreign("/dev/null");
    EXPECT_FALSE(foreign.open(error));
    EXPECT_TRUE(contains(error, "/dev/null: not a V4L2 device")) << error;
    EXPECT_EQ(foreign.rawFormat(), 0u);
}

// A size too small for H.264 is refused before the device is touched.
TEST(V4l2M2mEncoderTest, RefusesOptionsBeforeOpening) {
    V4l2M2mEncoder encoder("/dev/null");
    std::string error;
    EXPECT_FALSE(encoder.configure({8, 8}, H264Options{}, error));
    EXPECT_EQ(error, "picture size 8x8 is below 16x16");
}

}  // namespace
}  // namespace kvmvnc::encode
