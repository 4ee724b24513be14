// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"

namespace kvmvnc::encode {

// How a stream is to be encoded; the [h264] keys of the configuration.
struct H264Options {
    int bitrateKbps = 5000;  // what rate control aims at
    int maxFps = 30;         // pictures per second rate control plans for
    int gop = 3600;          // pictures from one IDR to the next; 0: only when asked
    int minQp = 16;          // quantiser bounds: lower is sharper and larger
    int maxQp = 32;
};

// What is wrong with `options` for an encoder that takes up to `maxFps`
// pictures a second; empty when nothing is. For the encoders' configure().
std::string checkH264Options(const H264Options &options, int maxFps);

// One picture as H.264 Annex B: NAL units behind 4-byte start codes, one
// access unit, whole (what RFB encoding 50 carries).
struct EncodedPicture {
    std::vector<uint8_t> bytes;
    bool idr = false;  // an IDR, with SPS and PPS in front: a decoder may start here
};

// The H.264 encoder seam: one stream of XRGB8888 pictures of one size in,
// one access unit per picture out, at once (no B-frames, no lookahead), in
// the form every RFB viewer that decodes encoding 50 takes: Constrained
// Baseline, one slice per picture (noVNC starts a frame at every slice NAL
// unit), SPS and PPS before every IDR, a VUI that names the colours.
//
// Failures are return values with a one-line reason; a failed encode leaves
// the encoder usable, and the next picture is an IDR (a decoder may have
// missed what came before).
//
// Thread-bound: one thread configures and encodes.
class H264Encoder {
public:
    virtual ~H264Encoder() = default;

    // Starts a new stream of `size` pictures: the next picture is an IDR.
    // False, with `error`, for a size or options the encoder cannot take;
    // the encoder is then unconfigured.
    virtual bool configure(Size size, const H264Options &options, std::string &error) = 0;
    // Encodes the picture at `pixels` (XRGB8888, `stride` bytes a row, the
    // configured size) into `out`, replacing what it held; an IDR when
    // `forceIdr` or after requestIdr().
    virtual bool encode(const uint8_t *pixels, int stride, bool forceIdr, EncodedPicture &out,
                        std::string &error) = 0;
    // The next picture is an IDR.
    virtual void requestIdr() = 0;

    // The configured size; empty when unconfigured.
    virtual Size size() const = 0;
    // For log lines: which encoder this is.
    virtual const char *name() const = 0;
};

}  // namespace kvmvnc::encode
