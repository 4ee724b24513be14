// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/openh264_encoder.h"

#include <gtest/gtest.h>

extern "C" {
#include <libavutil/pixfmt.h>
}

#include <algorithm>
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "h264_test_decoder.h"
#include "kvmvnc/capture/frame.h"
#include "kvmvnc/encode/annex_b.h"
#include "kvmvnc/target/virtual_screen.h"

namespace kvmvnc {

// Failures print sizes as sizes, not as bytes.
void PrintTo(const Size &size, std::ostream *out) { *out << size.width << "x" << size.height; }

namespace encode {
namespace {

using testing::DecodedPicture;
using testing::H264TestDecoder;

// The virtual target's desktop (windows, text, a clock) at `size`; `time`
// moves its animated element, so consecutive pictures differ as a desktop's
// do.
capture::Frame desktop(Size size, std::chrono::milliseconds time = {}) {
    target::MachineView view;
    view.phase = target::MachinePhase::Desktop;
    view.outputSize = size;
    view.bootCount = 1;
    target::ScreenInputs inputs = target::stillInputs(view, 30);
    inputs.animationTime = time;
    capture::Frame frame;
    target::renderVirtualScreen(inputs, frame);
    return frame;
}

std::vector<uint8_t> nalTypes(const EncodedPicture &picture) {
    std::vector<uint8_t> types;
    for (const NalUnit &nal : splitAnnexB(picture.bytes.data(), picture.bytes.size()))
        types.push_back(nal.type);
    return types;
}

int sliceCount(const EncodedPicture &picture) {
    const std::vector<uint8_t> types = nalTypes(picture);
    return static_cast<int>(std::count_if(types.begin(), types.end(), [](uint8_t t) {
        return t == static_cast<uint8_t>(NalType::Slice) ||
               t == static_cast<uint8_t>(NalType::IdrSlice);
    }));
}

// SPS, PPS, then the IDR slice, with nothing but SEI between.
bool startsWithParameterSetsAndIdr(const EncodedPicture &picture) {
    std::vector<uint8_t> types = nalTypes(picture);
    std::erase(types, static_cast<uint8_t>(NalType::Sei));
    return types == std::vector<uint8_t>{static_cast<uint8_t>(NalType::Sps),
                                         static_cast<uint8_t>(NalType::Pps),
                                         static_cast<uint8_t>(NalType::IdrSlice)};
}

class OpenH264EncoderTest : public ::testing::Test {
protected:
    void configure(Size size, const H264Options &options = {}) {
        std::string error;
        ASSERT_TRUE(encoder_.configure(size, options, error)) << error;
        EXPECT_EQ(encoder_.size(), size);
    }
    EncodedPicture encode(const capture::Frame &frame, bool forceIdr = false) {
        EncodedPicture picture;
        std::string error;
        EXPECT_TRUE(encoder_.encode(frame.pixels.data(), frame.stride, forceIdr, picture, error))
            << error;
        return picture;
    }
    DecodedPicture decode(const EncodedPicture &picture) {
        DecodedPicture decoded;
        std::string error;
        EXPECT_TRUE(decoder_.decode(picture.bytes, decoded, error)) << error;
        return decoded;
    }
    double psnr(const capture::Frame &source, const DecodedPicture &decoded) {
        return testing::psnr(source.pixels.data(), source.stride, decoded.pixels.data(),
                             decoded.size.width * 4, {source.width, source.height});
    }

    OpenH264Encoder encoder_;
    H264TestDecoder decoder_;
};

TEST_F(OpenH264EncoderTest, StreamStartsWithSpsPpsAndIdrOfConstrainedBaseline) {
    configure({1280, 720});
    const EncodedPicture first = encode(desktop({1280, 720}));
    EXPECT_TRUE(first.idr);
    EXPECT_TRUE(startsWithParameterSetsAndIdr(first));
    const std::vector<NalUnit> nals = splitAnnexB(first.bytes.data(), first.bytes.size());
    ASSERT_FALSE(nals.empty());
    SpsHeader sps;
    ASSERT_TRUE(readSpsHeader(first.bytes.data(), nals[0], sps));
    EXPECT_EQ(sps.profileIdc, 66);
    EXPECT_TRUE(sps.constraintSet(0));
    EXPECT_TRUE(sps.constraintSet(1));  // Constrained Baseline
    const DecodedPicture decoded = decode(first);
    EXPECT_TRUE(decoded.keyFrame);
    EXPECT_EQ(decoded.size, (Size{1280, 720}));
}

// noVNC ends a frame at every slice NAL unit; a picture in two slices would
// be two broken frames there. Only the NAL types noVNC takes may appear.
TEST_F(OpenH264EncoderTest, OneSlicePerPictureAndOnePictureOut) {
    constexpr Size kSize{1280, 720};
    configure(kSize);
    for (int n = 0; n < 20; ++n) {
        const capture::Frame frame = desktop(kSize, std::chrono::milliseconds(n * 100));
        const EncodedPicture picture = encode(frame);
        EXPECT_EQ(sliceCount(picture), 1) << "picture " << n;
        EXPECT_EQ(picture.idr, n == 0) << "picture " << n;
        for (uint8_t type : nalTypes(picture))
            EXPECT_TRUE(type == 1 || type == 5 || type == 6 || type == 7 || type == 8)
                << "NAL type " << int(type) << " in picture " << n;
        const DecodedPicture decoded = decode(picture);
        EXPECT_EQ(decoded.size, kSize);
    }
}

// What the encoder fed in (libyuv's BT.601, limited range) is what the VUI
// says, so decoders that follow it show the right colours.
TEST_F(OpenH264EncoderTest, DesktopDecodesSharpWithColoursNamed) {
    constexpr Size kSize{1920, 1080};
    configure(kSize);
    for (int n = 0; n < 10; ++n) {
        const capture::Frame frame = desktop(kSize, std::chrono::milliseconds(n * 33));
        const DecodedPicture decoded = decode(encode(frame));
        ASSERT_EQ(decoded.size, kSize);
        const double db = psnr(frame, decoded);
        EXPECT_GE(db, 32.0) << "picture " << n;
        if (n == 0 || n == 9)
            RecordProperty("psnr_db_picture_" + std::to_string(n), std::to_string(db));
        EXPECT_EQ(decoded.colorRange, AVCOL_RANGE_MPEG);
        EXPECT_EQ(decoded.colorSpace, AVCOL_SPC_SMPTE170M);
        EXPECT_EQ(decoded.colorPrimaries, AVCOL_PRI_BT709);
        EXPECT_EQ(decoded.colorTransfer, AVCOL_TRC_IEC61966_2_1);
    }
}

TEST_F(OpenH264EncoderTest, ForcedAndRequestedIdrCarryParameterSets) {
    constexpr Size kSize{1280, 720};
    configure(kSize);
    std::vector<EncodedPicture> pictures;
    for (int n = 0; n < 8; ++n) {
        const capture::Frame frame = desktop(kSize, std::chrono::milliseconds(n * 33));
        if (n == 5)
            encoder_.requestIdr();
        pictures.push_back(encode(frame, n == 3));
        decode(pictures.back());
    }
    for (int n = 0; n < 8; ++n) {
        const bool wanted = n == 0 || n == 3 || n == 5;
        EXPECT_EQ(pictures[n].idr, wanted) << "picture " << n;
        EXPECT_EQ(startsWithParameterSetsAndIdr(pictures[n]), wanted) << "picture " << n;
    }

    // A decoder that joins at the forced IDR decodes from there alone.
    H264TestDecoder late;
    std::string error;
    DecodedPicture decoded;
    for (int n = 3; n < 8; ++n)
        EXPECT_TRUE(late.decode(pictures[n].bytes, decoded, error)) << n << ": " << error;
}

TEST_F(OpenH264EncoderTest, KeyframeIntervalFromOptions) {
    constexpr Size kSize{640, 480};
    H264Options options;
    options.gop = 4;
    configure(kSize, options);
    for (int n = 0; n < 9; ++n) {
        const EncodedPicture picture = encode(desktop(kSize, std::chrono::milliseconds(n * 33)));
        EXPECT_EQ(picture.idr, n % 4 == 0) << "picture " << n;
    }
}

// A size that is no multiple of 16 decodes at exactly its size; an odd one
// one pixel larger (4:2:0 crops in pairs), which viewers crop: never smaller.
struct OddSize {
    Size size;
    Size decoded;
};
void PrintTo(const OddSize &param, std::ostream *out) {
    *out << param.size.width << "x" << param.size.height;
}

class OpenH264EncoderSizeTest : public OpenH264EncoderTest,
                                public ::testing::WithParamInterface<OddSize> {};

TEST_P(OpenH264EncoderSizeTest, DecodesToTheCroppedSize) {
    const OddSize param = GetParam();
    configure(param.size);
    for (int n = 0; n < 3; ++n) {
        const capture::Frame frame = desktop(param.size, std::chrono::milliseconds(n * 33));
        const DecodedPicture decoded = decode(encode(frame));
        ASSERT_EQ(decoded.size, param.decoded);
        EXPECT_GE(psnr(frame, decoded), 32.0) << "picture " << n;
    }
}

INSTANTIATE_TEST_SUITE_P(Sizes, OpenH264EncoderSizeTest,
                         ::testing::Values(OddSize{{1366, 768}, {1366, 768}},
                                           OddSize{{1023, 767}, {1024, 768}},
                                           OddSize{{1280, 1023}, {1280, 1024}},
                                           OddSize{{801, 600}, {802, 600}}),
                         [](const ::testing::TestParamInfo<OddSize> &sizeInfo) {
                             return std::to_string(sizeInfo.param.size.width) + "x" +
                                    std::to_string(sizeInfo.param.size.height);
                         });

// A new size is a new stream: it starts with an IDR and its parameter
// sets, which a decoder takes without being told.
TEST_F(OpenH264EncoderTest, ResizeStartsANewStreamWithIdr) {
    configure({1280, 720});
    for (int n = 0; n < 3; ++n)
        decode(encode(desktop({1280, 720}, std::chrono::milliseconds(n * 33))));

    configure({1024, 768});
    const capture::Frame frame = desktop({1024, 768});
    const EncodedPicture first = encode(frame);
    EXPECT_TRUE(first.idr);
    EXPECT_TRUE(startsWithParameterSetsAndIdr(first));
    const DecodedPicture decoded = decode(first);
    EXPECT_EQ(decoded.size, (Size{1024, 768}));
    EXPECT_GE(psnr(frame, decoded), 32.0);
    EXPECT_FALSE(encode(desktop({1024, 768}, std::chrono::milliseconds(33))).idr);
}

TEST_F(OpenH264EncoderTest, RefusesWhatItCannotEncode) {
    std::string error;
    EncodedPicture picture;
    const capture::Frame frame = desktop({640, 480});

    EXPECT_FALSE(encoder_.encode(frame.pixels.data(), frame.stride, false, picture, error));
    EXPECT_EQ(error, "the encoder is not configured");

    const auto refuses = [&](Size size, const H264Options &options, const char *expected) {
        error.clear();
        EXPECT_FALSE(encoder_.configure(size, options, error));
        EXPECT_NE(error.find(expected), std::string::npos) << error;
        EXPECT_EQ(encoder_.size(), (Size{}));
    };
    refuses({8, 8}, {}, "below H.264's 16x16");
    refuses({4100, 2304}, {}, "above OpenH264's 36864 macroblocks");
    refuses({640, 480}, {.maxFps = 61}, "frame rate 61");
    refuses({640, 480}, {.bitrateKbps = 0}, "bitrate 0");
    refuses({640, 480}, {.minQp = 40, .maxQp = 30}, "quantiser bounds 40-30");
    refuses({640, 480}, {.gop = -1}, "keyframe interval -1");

    configure({640, 480});
    error.clear();
    EXPECT_FALSE(encoder_.encode(frame.pixels.data(), 640 * 4 - 4, false, picture, error));
    EXPECT_NE(error.find("shorter than 640 pixels"), std::string::npos) << error;
    EXPECT_FALSE(encoder_.encode(nullptr, frame.stride, false, picture, error));

    // Still usable, and still at the start of its stream.
    const EncodedPicture first = encode(frame);
    EXPECT_TRUE(first.idr);
    EXPECT_EQ(decode(first).size, (Size{640, 480}));
}

TEST_F(OpenH264EncoderTest, LargestSizeEncodes) {
    configure({3840, 2160});
    const capture::Frame frame = desktop({3840, 2160});
    const DecodedPicture decoded = decode(encode(frame));
    EXPECT_EQ(decoded.size, (Size{3840, 2160}));
    EXPECT_GE(psnr(frame, decoded), 32.0);
}

}  // namespace
}  // namespace encode
}  // namespace kvmvnc
