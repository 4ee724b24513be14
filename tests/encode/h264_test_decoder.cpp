// SPDX-License-Identifier: GPL-2.0-or-later
#include "h264_test_decoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}
#include <libyuv.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace kvmvnc::encode::testing {

namespace {

std::string avError(int code) {
    char text[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, text, sizeof(text));
    return text;
}

}  // namespace

H264TestDecoder::H264TestDecoder() {
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    if (codec == nullptr)
        throw std::runtime_error("libavcodec has no H.264 decoder");
    context_ = avcodec_alloc_context3(codec);
    frame_ = av_frame_alloc();
    packet_ = av_packet_alloc();
    if (context_ == nullptr || frame_ == nullptr || packet_ == nullptr)
        throw std::bad_alloc();
    context_->thread_count = 1;
    context_->flags |= AV_CODEC_FLAG_LOW_DELAY;
    if (avcodec_open2(context_, codec, nullptr) < 0)
        throw std::runtime_error("libavcodec cannot open its H.264 decoder");
}

H264TestDecoder::~H264TestDecoder() {
    av_packet_free(&packet_);
    av_frame_free(&frame_);
    avcodec_free_context(&context_);
}

bool H264TestDecoder::decode(const std::vector<uint8_t> &accessUnit, DecodedPicture &out,
                             std::string &error) {
    if (av_new_packet(packet_, static_cast<int>(accessUnit.size())) < 0) {
        error = "no memory for a packet";
        return false;
    }
    std::memcpy(packet_->data, accessUnit.data(), accessUnit.size());
    int ret = avcodec_send_packet(context_, packet_);
    av_packet_unref(packet_);
    if (ret < 0) {
        error = "avcodec_send_packet: " + avError(ret);
        return false;
    }
    ret = avcodec_receive_frame(context_, frame_);
    if (ret < 0) {
        error = "avcodec_receive_frame: " + avError(ret);
        return false;
    }
    if (frame_->format != AV_PIX_FMT_YUV420P) {
        error = "decoded pixel format " + std::to_string(frame_->format) + " is not YUV 4:2:0";
        av_frame_unref(frame_);
        return false;
    }
    if ((frame_->decode_error_flags != 0) || (frame_->flags & AV_FRAME_FLAG_CORRUPT) != 0) {
        error = "the decoder reports a damaged picture";
        av_frame_unref(frame_);
        return false;
    }
    out.size = {frame_->width, frame_->height};
    out.pixels.assign(static_cast<size_t>(frame_->width) * frame_->height * 4, 0);
    libyuv::I420ToARGB(frame_->data[0], frame_->linesize[0], frame_->data[1], frame_->linesize[1],
                       frame_->data[2], frame_->linesize[2], out.pixels.data(), frame_->width * 4,
                       frame_->width, frame_->height);
    out.keyFrame = frame_->key_frame != 0;
    out.colorRange = frame_->color_range;
    out.colorSpace = frame_->colorspace;
    out.colorPrimaries = frame_->color_primaries;
    out.colorTransfer = frame_->color_trc;
    av_frame_unref(frame_);
    // One access unit, one picture: a second would mean the encoder glued
    // two together, or the decoder held one back.
    ret = avcodec_receive_frame(context_, frame_);
    if (ret != AVERROR(EAGAIN)) {
        av_frame_unref(frame_);
        error = "more than one picture from one access unit";
        return false;
    }
    return true;
}

double psnr(const uint8_t *a, int strideA, const uint8_t *b, int strideB, Size area) {
    double sum = 0;
    for (int y = 0; y < area.height; ++y) {
        const uint8_t *rowA = a + static_cast<size_t>(y) * strideA;
        const uint8_t *rowB = b + static_cast<size_t>(y) * strideB;
        for (int x = 0; x < area.width * 4; ++x) {
            if (x % 4 == 3)
                continue;  // the padding byte
            const double d = static_cast<double>(rowA[x]) - rowB[x];
            sum += d * d;
        }
    }
    const double mse = sum / (3.0 * area.width * area.height);
    return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace kvmvnc::encode::testing
