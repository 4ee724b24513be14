// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"

struct AVCodecContext;
struct AVFrame;
struct AVPacket;

namespace kvmvnc::encode::testing {

// A decoded picture in XRGB8888 (tightly packed rows), at the size the
// stream codes, and what the stream's VUI said about its colours (FFmpeg's
// enum values, AVCOL_*).
struct DecodedPicture {
    Size size;
    std::vector<uint8_t> pixels;
    bool keyFrame = false;
    int colorRange = 0;
    int colorSpace = 0;
    int colorPrimaries = 0;
    int colorTransfer = 0;
};

// libavcodec's H.264 decoder, the judge independent of the encoder: one
// access unit in, its picture out at once (no frame threads, low delay, as
// TigerVNC's viewer expects). YUV back to XRGB with libyuv's BT.601
// limited-range matrix, the inverse of what OpenH264Encoder feeds in.
class H264TestDecoder {
public:
    H264TestDecoder();
    ~H264TestDecoder();
    H264TestDecoder(const H264TestDecoder &) = delete;
    H264TestDecoder &operator=(const H264TestDecoder &) = delete;

    // False, with `error`, when libavcodec rejects the bytes or gives no
    // picture for them.
    bool decode(const std::vector<uint8_t> &accessUnit, DecodedPicture &out, std::string &error);

private:
    AVCodecContext *context_ = nullptr;
    AVFrame *frame_ = nullptr;
    AVPacket *packet_ = nullptr;
};

// PSNR in dB over the R, G and B samples of the top-left `area` of two
// XRGB8888 pictures; 99 for equal pictures.
double psnr(const uint8_t *a, int strideA, const uint8_t *b, int strideB, Size area);

}  // namespace kvmvnc::encode::testing
