// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvnc-m2m-probe: encode::V4l2M2mEncoder driven by hand in the lab guest,
// on a real V4L2 memory-to-memory encoder (vicodec, which codes FWHT).
//
//   kvmvnc-m2m-probe DEVICE CODED[:RAW] STEP...
//
// CODED and RAW are fourccs (FWHT, XR24, YU12, NV12); without RAW the
// encoder chooses. One encoder lives through the steps, in order:
//   configure WxH   prints "configure WxH ok raw=XR24 max=WxH keyframes=reset|control"
//                   or "configure WxH error=<reason>"
//   encode N        N pictures (a pattern that moves a little each time);
//                   prints "picture K bytes=B idr=0|1" (FWHT: and " fwht=ENC:N:CHROMA",
//                   what its header says was coded: rgb or yuv, N components,
//                   444 or 420) or "picture K error=<reason>"
//   idr             the next picture is an IDR (requestIdr())
//   sh COMMAND      runs COMMAND (unbinding the device under the encoder)
//   close           what the destructor does (the drain); prints "closed drains=D
//                   configured=0"
// and "counters resets=R drains=D" after each configure. The stage's
// log goes to stderr.
#include <linux/videodev2.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "kvmvnc/base/log.h"
#include "kvmvnc/encode/v4l2_m2m_encoder.h"

namespace {

using namespace kvmvnc;
using namespace kvmvnc::encode;

uint32_t fourcc(const std::string &text) {
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i)
        value |= static_cast<uint32_t>(i < text.size() ? text[i] : ' ') << (8 * i);
    return value;
}

bool parseSize(const std::string &text, Size &size) {
    return std::sscanf(text.c_str(), "%dx%d", &size.width, &size.height) == 2;
}

// XRGB8888: a gradient whose stripes move `shift` pixels right.
void pattern(std::vector<uint8_t> &pixels, Size size, int shift) {
    pixels.resize(static_cast<size_t>(size.width) * size.height * 4);
    for (int y = 0; y < size.height; ++y) {
        for (int x = 0; x < size.width; ++x) {
            uint8_t *p = &pixels[(static_cast<size_t>(y) * size.width + x) * 4];
            p[0] = static_cast<uint8_t>(x + shift);
            p[1] = static_cast<uint8_t>(y);
            p[2] = static_cast<uint8_t>(((x + shift) / 32 + y / 32) % 2 != 0 ? 220 : 30);
            p[3] = 0;
        }
    }
}

// " fwht=yuv:3:420": the pixel encoding, components and chroma subsampling
// the FWHT header (struct fwht_cframe_hdr, flags 20 bytes in) names.
std::string fwhtCoding(const std::vector<uint8_t> &bytes) {
    if (bytes.size() < 24)
        return " fwht=short";
    const uint32_t flags = (uint32_t{bytes[20]} << 24) | (uint32_t{bytes[21]} << 16) |
                           (uint32_t{bytes[22]} << 8) | bytes[23];
    // (V4L2_FWHT_FL_PIXENC_MSK and _COMPONENTS_NUM_MSK use the kernel's
    // GENMASK, which user space lacks.)
    const uint32_t pixenc = flags & (3u << V4L2_FWHT_FL_PIXENC_OFFSET);
    const char *encoding = pixenc == V4L2_FWHT_FL_PIXENC_YUV   ? "yuv"
                           : pixenc == V4L2_FWHT_FL_PIXENC_RGB ? "rgb"
                                                               : "other";
    const unsigned components = ((flags >> V4L2_FWHT_FL_COMPONENTS_NUM_OFFSET) & 7u) + 1;
    const bool full = (flags & V4L2_FWHT_FL_CHROMA_FULL_WIDTH) != 0 &&
                      (flags & V4L2_FWHT_FL_CHROMA_FULL_HEIGHT) != 0;
    return std::string(" fwht=") + encoding + ":" + std::to_string(components) + ":" +
           (full ? "444" : "420");
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: kvmvnc-m2m-probe DEVICE FOURCC STEP...\n");
        return 2;
    }
    log::setLevel(log::Level::Info);
    const std::string formats = argv[2];
    const size_t colon = formats.find(':');
    const uint32_t coded = fourcc(formats.substr(0, colon));
    const uint32_t raw = colon == std::string::npos ? 0 : fourcc(formats.substr(colon + 1));
    auto encoder = std::make_unique<V4l2M2mEncoder>(argv[1], coded, raw);
    const std::vector<std::string> args(argv + 3, argv + argc);
    std::vector<uint8_t> pixels;
    int pictures = 0;
    int status = 0;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &step = args[i];
        const std::string arg = i + 1 < args.size() ? args[i + 1] : "";
        std::string error;
        if (step == "configure") {
            ++i;
            Size size;
            if (!parseSize(arg, size))
                return 2;
            if (encoder->configure(size, H264Options{}, error))
                std::printf("configure %s ok raw=%s max=%dx%d keyframes=%s\n", arg.c_str(),
                            V4l2M2mEncoder::fourccText(encoder->rawFormat()).c_str(),
                            encoder->maxSize().width, encoder->maxSize().height,
                            encoder->forcesKeyFrames() ? "control" : "reset");
            else
                std::printf("configure %s error=%s\n", arg.c_str(), error.c_str());
            std::printf("counters resets=%d drains=%d\n", encoder->resets(), encoder->drains());
        } else if (step == "encode") {
            ++i;
            const int count = std::atoi(arg.c_str());
            for (int n = 0; n < count; ++n) {
                ++pictures;
                const Size size = encoder->size().isEmpty() ? Size{640, 480} : encoder->size();
                pattern(pixels, size, pictures * 4);
                EncodedPicture out;
                if (encoder->encode(pixels.data(), size.width * 4, false, out, error))
                    std::printf("picture %d bytes=%zu idr=%d%s\n", pictures, out.bytes.size(),
                                out.idr ? 1 : 0,
                                coded == V4L2_PIX_FMT_FWHT ? fwhtCoding(out.bytes).c_str() : "");
                else
                    std::printf("picture %d error=%s\n", pictures, error.c_str());
            }
        } else if (step == "idr") {
            encoder->requestIdr();
        } else if (step == "sh") {
            ++i;
            status = std::system(arg.c_str());
            std::printf("sh status=%d\n", status);
        } else if (step == "close") {
            // What the destructor does.
            encoder->close();
            std::printf("closed drains=%d configured=%d\n", encoder->drains(),
                        encoder->size().isEmpty() ? 0 : 1);
            encoder.reset();
            break;
        } else {
            std::fprintf(stderr, "unknown step %s\n", step.c_str());
            return 2;
        }
        std::fflush(stdout);
    }
    return 0;
}
