// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/jpeg_decoder.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace kvmvnc::capture {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int kWidth = 64;
constexpr int kHeight = 48;
constexpr int kBlock = 16;  // solid blocks on MCU boundaries decode nearly exactly
constexpr int kTolerance = 6;

struct Rgb {
    uint8_t r, g, b;
};

Rgb colourAt(int x, int y) {
    static constexpr Rgb kColours[] = {{255, 0, 0},     {0, 255, 0},   {0, 0, 255},
                                       {255, 255, 255}, {0, 0, 0},     {128, 128, 128},
                                       {255, 255, 0},   {40, 90, 200}, {200, 60, 120}};
    int block = (x / kBlock) + (y / kBlock) * (kWidth / kBlock);
    return kColours[block % std::size(kColours)];
}

// The test picture as XRGB8888 (B, G, R, X in memory).
Bytes makePicture() {
    Bytes pixels(static_cast<size_t>(kWidth) * kHeight * 4);
    for (int y = 0; y < kHeight; ++y) {
        for (int x = 0; x < kWidth; ++x) {
            Rgb c = colourAt(x, y);
            uint8_t *px = &pixels[(static_cast<size_t>(y) * kWidth + x) * 4];
            px[0] = c.b, px[1] = c.g, px[2] = c.r, px[3] = 0;
        }
    }
    return pixels;
}

// TurboJPEG writes the standard Annex K.3 Huffman tables unless asked to
// optimise them, which is what UVC dongles imply when they leave DHT out.
Bytes encode(int subsampling = TJSAMP_422, int quality = 95) {
    Bytes pixels = makePicture();
    tjhandle handle = tjInitCompress();
    EXPECT_NE(handle, nullptr);
    unsigned char *jpeg = nullptr;
    unsigned long size = 0;
    int ret = tjCompress2(handle, pixels.data(), kWidth, 0, kHeight, TJPF_BGRX, &jpeg, &size,
                          subsampling, quality, 0);
    EXPECT_EQ(ret, 0) << tjGetErrorStr2(handle);
    Bytes out(jpeg, jpeg + size);
    tjFree(jpeg);
    tjDestroy(handle);
    return out;
}

// Removes every DHT segment before the first SOS. Returns how many there were.
int stripHuffmanTables(Bytes &jpeg) {
    Bytes out(jpeg.begin(), jpeg.begin() + 2);
    size_t pos = 2;
    int removed = 0;
    while (pos + 4 <= jpeg.size()) {
        EXPECT_EQ(jpeg[pos], 0xff);
        uint8_t marker = jpeg[pos + 1];
        if (marker == 0xda) {
            out.insert(out.end(), jpeg.begin() + static_cast<ptrdiff_t>(pos), jpeg.end());
            break;
        }
        size_t length = static_cast<size_t>(jpeg[pos + 2]) << 8 | jpeg[pos + 3];
        if (marker == 0xc4)
            ++removed;
        else
            out.insert(out.end(), jpeg.begin() + static_cast<ptrdiff_t>(pos),
                       jpeg.begin() + static_cast<ptrdiff_t>(pos + 2 + length));
        pos += 2 + length;
    }
    jpeg = std::move(out);
    return removed;
}

// Compares the inside of each block: chroma subsampling blurs colour across
// the 2 pixels next to a block edge by design.
void expectPicture(const Frame &frame) {
    constexpr int kEdge = 2;
    ASSERT_EQ(frame.width, kWidth);
    ASSERT_EQ(frame.height, kHeight);
    ASSERT_EQ(frame.stride, kWidth * Frame::kBytesPerPixel);
    int worst = 0;
    for (int y = 0; y < kHeight; ++y) {
        for (int x = 0; x < kWidth; ++x) {
            if (x % kBlock < kEdge || x % kBlock >= kBlock - kEdge || y % kBlock < kEdge ||
                y % kBlock >= kBlock - kEdge)
                continue;
            Rgb c = colourAt(x, y);
            const uint8_t *px = frame.row(y) + x * 4;
            worst = std::max(
                {worst, std::abs(px[0] - c.b), std::abs(px[1] - c.g), std::abs(px[2] - c.r)});
        }
    }
    EXPECT_LE(worst, kTolerance);
}

TEST(JpegDecoderTest, DecodesPicture) {
    for (int subsampling : {TJSAMP_444, TJSAMP_422, TJSAMP_420}) {
        SCOPED_TRACE("subsampling " + std::to_string(subsampling));
        Bytes jpeg = encode(subsampling);
        JpegDecoder decoder;
        Frame frame;
        ASSERT_EQ(decoder.decode(jpeg.data(), jpeg.size(), frame), JpegDecoder::Result::Ok);
        expectPicture(frame);
        EXPECT_EQ(decoder.repairedFrames(), 0u);
        EXPECT_EQ(decoder.rejectedFrames(), 0u);
    }
}

// The UVC MJPEG case. libjpeg-turbo 2.1.5 substitutes the Annex K.3 tables
// itself; this guards that, and that the decoder counts such frames.
TEST(JpegDecoderTest, DecodesFrameWithoutHuffmanTables) {
    Bytes jpeg = encode();
    JpegDecoder decoder;
    Frame reference;
    ASSERT_EQ(decoder.decode(jpeg.data(), jpeg.size(), reference), JpegDecoder::Result::Ok);

    ASSERT_GT(stripHuffmanTables(jpeg), 0);
    Frame frame;
    ASSERT_EQ(decoder.decode(jpeg.data(), jpeg.size(), frame), JpegDecoder::Result::Ok);
    expectPicture(frame);
    // The implied tables are the ones the encoder used: bit-exact.
    EXPECT_EQ(frame.pixels, reference.pixels);
    EXPECT_EQ(decoder.repairedFrames(), 1u);
    EXPECT_EQ(decoder.rejectedFrames(), 0u);
}

TEST(JpegDecoderTest, RejectsFrameCutInTheMiddle) {
    Bytes jpeg = encode();
    jpeg.resize(jpeg.size() / 2);
    JpegDecoder decoder;
    Frame frame;
    EXPECT_EQ(decoder.decode(jpeg.data(), jpeg.size(), frame), JpegDecoder::Result::Truncated);
    EXPECT_EQ(decoder.rejectedFrames(), 1u);
}

TEST(JpegDecoderTest, RejectsFrameCutBeforeEoi) {
    Bytes jpeg = encode();
    ASSERT_EQ(jpeg[jpeg.size() - 2], 0xff);
    ASSERT_EQ(jpeg[jpeg.size() - 1], 0xd9);
    JpegDecoder decoder;
    Frame frame;
    EXPECT_EQ(decoder.decode(jpeg.data(), jpeg.size() - 2, frame), JpegDecoder::Result::Truncated);
    EXPECT_EQ(decoder.decode(jpeg.data(), jpeg.size() - 1, frame), JpegDecoder::Result::Truncated);
    // Cut before EOI and then padded: still torn.
    Bytes padded(jpeg.begin(), jpeg.end() - 2);
    padded.resize(padded.size() + 64, 0);
    EXPECT_EQ(decoder.decode(padded.data(), padded.size(), frame), JpegDecoder::Result::Truncated);
}

TEST(JpegDecoderTest, AcceptsZeroPaddingAfterEoi) {
    Bytes jpeg = encode();
    jpeg.resize(jpeg.size() + 4096, 0);
    JpegDecoder decoder;
    Frame frame;
    ASSERT_EQ(decoder.decode(jpeg.data(), jpeg.size(), frame), JpegDecoder::Result::Ok);
    expectPicture(frame);
}

TEST(JpegDecoderTest, RejectsSoiOnly) {
    const uint8_t soi[] = {0xff, 0xd8};
    JpegDecoder decoder;
    Frame frame;
    EXPECT_EQ(decoder.decode(soi, sizeof(soi), frame), JpegDecoder::Result::Truncated);
    EXPECT_EQ(decoder.decode(soi, 0, frame), JpegDecoder::Result::Truncated);
    EXPECT_EQ(decoder.decode(nullptr, 0, frame), JpegDecoder::Result::Truncated);
}

TEST(JpegDecoderTest, RejectsGarbage) {
    std::mt19937 random(42);
    Bytes garbage(4096);
    for (uint8_t &byte : garbage)
        byte = static_cast<uint8_t>(random());
    JpegDecoder decoder;
    Frame frame;
    JpegDecoder::Result result = decoder.decode(garbage.data(), garbage.size(), frame);
    EXPECT_NE(result, JpegDecoder::Result::Ok);

    // Framed like a JPEG but without a picture inside: the decoder must say so.
    garbage[0] = 0xff, garbage[1] = 0xd8;
    garbage[garbage.size() - 2] = 0xff, garbage[garbage.size() - 1] = 0xd9;
    EXPECT_EQ(decoder.decode(garbage.data(), garbage.size(), frame), JpegDecoder::Result::Corrupt);
    const uint8_t empty[] = {0xff, 0xd8, 0xff, 0xd9};
    EXPECT_EQ(decoder.decode(empty, sizeof(empty), frame), JpegDecoder::Result::Corrupt);
    EXPECT_EQ(decoder.rejectedFrames(), 3u);
}

TEST(JpegDecoderTest, RejectsDamagedHeader) {
    Bytes jpeg = encode();
    // Find SOF0 and claim a zero height.
    for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
        if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) {
            jpeg[i + 5] = 0;
            jpeg[i + 6] = 0;
            break;
        }
    }
    JpegDecoder decoder;
    Frame frame;
    EXPECT_EQ(decoder.decode(jpeg.data(), jpeg.size(), frame), JpegDecoder::Result::Corrupt);
}

TEST(JpegDecoderTest, DecoderKeepsWorkingAfterErrors) {
    Bytes jpeg = encode();
    JpegDecoder decoder;
    Frame frame;
    const uint8_t empty[] = {0xff, 0xd8, 0xff, 0xd9};
    EXPECT_EQ(decoder.decode(empty, sizeof(empty), frame), JpegDecoder::Result::Corrupt);
    ASSERT_EQ(decoder.decode(jpeg.data(), jpeg.size(), frame), JpegDecoder::Result::Ok);
    expectPicture(frame);
}

// The size a dongle's JPEG claims, read from its header alone (V4l2Capture
// compares it with the negotiated one): the whole picture need not be there.
TEST(JpegDecoderTest, PictureSizeReadsTheHeaderOnly) {
    Bytes jpeg = encode();
    JpegDecoder decoder;
    EXPECT_EQ(decoder.pictureSize(jpeg.data(), jpeg.size()), (Size{kWidth, kHeight}));
    // Cut a little into the scan.
    size_t scan = 2;
    while (scan + 1 < jpeg.size() && !(jpeg[scan] == 0xff && jpeg[scan + 1] == 0xda))
        ++scan;
    ASSERT_LT(scan + 20, jpeg.size());
    EXPECT_EQ(decoder.pictureSize(jpeg.data(), scan + 20), (Size{kWidth, kHeight}));
    EXPECT_EQ(decoder.pictureSize(jpeg.data(), 20), std::nullopt);
    EXPECT_EQ(decoder.pictureSize(nullptr, 0), std::nullopt);
    EXPECT_EQ(decoder.rejectedFrames(), 0u);
}

}  // namespace
}  // namespace kvmvnc::capture
