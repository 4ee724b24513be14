// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvmvnc/encode/h264_encoder.h"

class ISVCEncoder;

namespace kvmvnc::encode {

// The software H.264 encoder: Cisco's OpenH264 (BSD; Debian's
// libopenh264-dev), for boards without a hardware encoder and for PCs.
// Chosen over x264 for its licence and size, and because its
// source shows every property the seam promises.
//
// Pictures go to I420 through libyuv's ARGBToI420, which is BT.601 with
// limited range (16-235): the VUI says so (matrix SMPTE 170M, limited
// range), so decoders that follow it (Chromium, TigerVNC's swscale) turn
// them back into the same colours. Odd sizes cannot be coded in 4:2:0, so
// they are padded by one row or column (a copy of the last) and the picture
// decodes one pixel larger, which RFB allows: viewers crop to the rectangle.
// Other sizes not a multiple of 16 are cropped exactly in the SPS.
//
// Limits (OpenH264 2.3.1): 16x16 up to 36864 macroblocks (4096x2304),
// 1-60 fps.
//
// Thread-bound, as the seam.
class OpenH264Encoder final : public H264Encoder {
public:
    static constexpr int kMinDimension = 16;
    static constexpr int kMaxMacroblocks = 36864;
    static constexpr int kMaxFps = 60;

    OpenH264Encoder() = default;
    ~OpenH264Encoder() override;
    OpenH264Encoder(const OpenH264Encoder &) = delete;
    OpenH264Encoder &operator=(const OpenH264Encoder &) = delete;

    bool configure(Size size, const H264Options &options, std::string &error) override;
    bool encode(const uint8_t *pixels, int stride, bool forceIdr, EncodedPicture &out,
                std::string &error) override;
    void requestIdr() override { idrRequested_ = true; }

    Size size() const override { return size_; }
    const char *name() const override { return "OpenH264"; }

private:
    void release();
    void toI420(const uint8_t *pixels, int stride);

    ISVCEncoder *encoder_ = nullptr;
    Size size_;
    Size coded_;  // size_ rounded up to even: what OpenH264 encodes
    H264Options options_;
    std::vector<uint8_t> y_;
    std::vector<uint8_t> u_;
    std::vector<uint8_t> v_;
    int64_t pictures_ = 0;  // encoded since configure(): their timestamps
    bool idrRequested_ = false;
};

}  // namespace kvmvnc::encode
