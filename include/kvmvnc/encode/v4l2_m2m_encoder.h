// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/encode/h264_encoder.h"

namespace kvmvnc::encode {

// The hardware H.264 encoder: a V4L2 memory-to-memory stateful encoder
// (the kernel's Documentation/userspace-api/media/v4l/dev-encoder.rst), as
// the Raspberry Pi 4's bcm2835-codec offers at /dev/video11. The coded
// format is a constructor parameter so that the lab can prove this class on
// vicodec, which codes FWHT instead of H.264 (tests/lab/m2m_lab_test.cpp).
//
// Only the multi-planar API (V4L2_CAP_VIDEO_M2M_MPLANE), which
// bcm2835-codec uses (vicodec does with multiplanar=1), and MMAP buffers.
//
// The raw format is the first of these the device lists on its OUTPUT
// queue: XBGR32, ABGR32 or BGR32 (V4L2's names for our XRGB8888 byte order:
// a row copy), else YUV420 or NV12 (libyuv's BT.601 conversion). One
// picture is in the device at a time: encode() queues it and waits (1 s at
// most) for its coded buffer, matched by timestamp (an H.264 buffer of
// parameter sets alone, whatever its timestamp, is joined to the slice that
// follows: bcm2835-codec may send them apart). The controls
// (bitrate, I period, Constrained Baseline, level, quantiser bounds, SPS
// and PPS with every IDR, one slice, no B-frames, forcing a keyframe) are
// set where the device has them; one it lacks is logged once. NAL units
// viewers do not take (delimiters, filler) are dropped. Without FORCE_KEY_FRAME an IDR is made by a
// reset: drain, then CAPTURE off and on, which starts a new stream.
//
// Failures are return values with a one-line reason. A failed encode
// (timeout, an error buffer) sets the encoder up again at the next
// picture; a device that is gone (ENODEV) or broken (EIO) is closed and
// opened again at the next configure(), which fails while it stays away.
//
// Thread-bound, as the seam.
class V4l2M2mEncoder final : public H264Encoder {
public:
    static constexpr int kTimeoutMs = 1000;  // for one picture, and for a drain

    // `codedFormat`: the CAPTURE fourcc, V4L2_PIX_FMT_H264 when 0.
    // `rawFormat`: one of chooseRawFormat()'s to take instead of its choice
    // (the lab proves each on one device); 0: its choice.
    explicit V4l2M2mEncoder(std::string device, uint32_t codedFormat = 0, uint32_t rawFormat = 0);
    ~V4l2M2mEncoder() override;
    V4l2M2mEncoder(const V4l2M2mEncoder &) = delete;
    V4l2M2mEncoder &operator=(const V4l2M2mEncoder &) = delete;

    // Opens the device and checks that it is a multi-planar M2M encoder of
    // the coded format with a raw format we fill: false with `error`
    // otherwise. configure() calls it when the device is not open.
    bool open(std::string &error);

    // Drains the device (what it still holds is dropped), frees its
    // buffers and closes it: what destruction does. Unconfigured after.
    void close();

    bool configure(Size size, const H264Options &options, std::string &error) override;
    bool encode(const uint8_t *pixels, int stride, bool forceIdr, EncodedPicture &out,
                std::string &error) override;
    void requestIdr() override { idrRequested_ = true; }

    Size size() const override { return size_; }
    const char *name() const override { return name_.c_str(); }

    // What open() found (zero before): the raw format chosen, the largest
    // size the device codes (ENUM_FRAMESIZES; isEmpty() when it does not say),
    // whether it forces keyframes by control.
    uint32_t rawFormat() const { return rawFormat_; }
    Size maxSize() const { return maxSize_; }
    bool forcesKeyFrames() const { return forceKeyFrame_; }
    // Resets (drain, CAPTURE off and on) made for IDRs, and drains that
    // ended at the device's LAST buffer, since construction.
    int resets() const { return resets_; }
    int drains() const { return drains_; }

    // The raw format to ask for among `offered` (the OUTPUT queue's
    // fourccs, in the device's order): 0 when none fits.
    static uint32_t chooseRawFormat(const std::vector<uint32_t> &offered);
    // An empty string, or why `size` and `options` cannot be encoded.
    static std::string checkOptions(Size size, const H264Options &options);
    // The H.264 level_idc (31 for 3.1) a stream of `size` at `fps` needs:
    // 3.1, 4.0, 4.2 or 5.1.
    static int h264Level(Size size, int fps);
    // Whether an Annex B buffer holds SPS and PPS and nothing else.
    static bool parameterSetsOnly(const uint8_t *data, size_t size);
    // Drops the NAL units RFB viewers do not take (noVNC takes slices, SEI,
    // SPS and PPS; an access unit delimiter or filler it logs as unhandled).
    static void keepViewerNals(std::vector<uint8_t> &bytes);
    // Whether an FWHT picture (vicodec's header) is intra coded.
    static bool fwhtIntra(const uint8_t *data, size_t size);
    // "H264", "XR24": a fourcc as text.
    static std::string fourccText(uint32_t fourcc);

private:
    struct Buffer {
        void *address = nullptr;
        size_t length = 0;
        bool queued = false;
    };

    bool setUp(Size size, std::string &error);
    void tearDown();
    bool drain(std::string &error);
    bool restartCapture(std::string &error);
    bool queueCapture(unsigned index, std::string &error);
    void reclaimOutput();
    void setControls(Size size);
    bool setControl(uint32_t id, const char *what, int64_t value);
    void fill(const Buffer &buffer, const uint8_t *pixels, int stride);
    // Keeps `error` (errno `code`, negative) and closes the device when it
    // is gone or broken for good.
    bool fail(int code, const std::string &what, std::string &error);

    std::string device_;
    uint32_t coded_;
    uint32_t wantedRaw_;
    std::string name_;
    UniqueFd fd_;
    uint32_t rawFormat_ = 0;
    Size maxSize_;
    bool forceKeyFrame_ = false;
    std::set<uint32_t> missingLogged_;  // controls already logged as missing

    Size size_;   // configured; empty when unconfigured
    Size frame_;  // what the OUTPUT buffers hold (size_, or rounded up)
    uint32_t bytesPerLine_ = 0;
    uint32_t imageBytes_ = 0;  // a raw picture's size (the OUTPUT format's sizeimage)
    H264Options options_;
    std::vector<Buffer> output_;
    std::vector<Buffer> capture_;
    bool streaming_ = false;
    bool broken_ = false;  // the last encode failed: set up again first
    bool idrRequested_ = false;
    bool fresh_ = false;     // nothing coded since the stream (re)started
    uint64_t sequence_ = 0;  // the OUTPUT timestamps, in microseconds
    int resets_ = 0;
    int drains_ = 0;
};

}  // namespace kvmvnc::encode
