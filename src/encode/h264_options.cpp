// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/h264_encoder.h"

namespace kvmvnc::encode {

std::string checkH264Options(const H264Options &options, int maxFps) {
    if (options.bitrateKbps < 1 || options.bitrateKbps > 2'000'000)
        return "bitrate " + std::to_string(options.bitrateKbps) + " kbit/s is not in 1-2000000";
    if (options.maxFps < 1 || options.maxFps > maxFps)
        return "frame rate " + std::to_string(options.maxFps) + " is not in 1-" +
               std::to_string(maxFps);
    if (options.gop < 0)
        return "keyframe interval " + std::to_string(options.gop) + " is negative";
    if (options.minQp < 0 || options.maxQp > 51 || options.minQp > options.maxQp)
        return "quantiser bounds " + std::to_string(options.minQp) + "-" +
               std::to_string(options.maxQp) + " are not within 0-51, lowest first";
    return {};
}

}  // namespace kvmvnc::encode
