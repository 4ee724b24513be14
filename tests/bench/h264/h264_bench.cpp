// SPDX-License-Identifier: GPL-2.0-or-later
// What a picture costs as H.264 (OpenH264Encoder, 5 Mbit/s at 30 fps, the
// [h264] defaults) next to what it costs today as Tight/JPEG, on the same
// frames of the same workload, in one run:
//
//   h264/<workload>/<size>      OpenH264Encoder::encode of frame n, a P
//                               picture (the stream's IDR, frame 0, is
//                               encoded before timing and reported apart)
//   jpeg_q80/<workload>/<size>  tjCompress2 of the whole frame n at quality
//                               80 with 4:4:4 (noVNC's default, Tight level
//                               6, is quality 79 with 4:4:4): what a viewer
//                               costs when the whole screen changes
//
// Workloads (tests/bench/workload.h): window-drag, a 640x400 window moving
// 8 pixels a frame over the desktop; video, every pixel changing. Time is
// per picture; bytes_per_picture is the mean over the timed pictures,
// idr_bytes the first picture's; psnr_db the mean PSNR (R, G, B) of the
// pictures as libavcodec's H.264 decoder and TurboJPEG decode them. Drawing
// the next frame and decoding are not timed.
//
//   kvmvnc_h264_bench [Google Benchmark flags]
#include <benchmark/benchmark.h>
#include <turbojpeg.h>

#include <string>
#include <vector>

#include "h264_test_decoder.h"
#include "kvmvnc/capture/frame.h"
#include "kvmvnc/encode/openh264_encoder.h"
#include "workload.h"

namespace kvmvnc::bench {

namespace {

using capture::Frame;

constexpr Size kSizes[] = {{1920, 1080}, {1280, 720}};
constexpr WorkloadKind kWorkloads[] = {WorkloadKind::WindowDrag, WorkloadKind::Video};
constexpr int kJpegQuality = 80;

std::string sizeName(Size size) {
    return std::to_string(size.width) + "x" + std::to_string(size.height);
}

// Frame n of a workload, advanced one frame at a time.
class Player {
public:
    Player(WorkloadKind kind, Size size) : workload_(kind, size), frame_(workload_.firstFrame()) {}

    const Frame &frame() const { return frame_; }
    void next() {
        dirty_.clear();
        workload_.advance(frame_, ++n_, dirty_);
    }

private:
    Workload workload_;
    Frame frame_;
    std::vector<Rect> dirty_;
    uint32_t n_ = 0;
};

void h264(benchmark::State &state, WorkloadKind kind, Size size) {
    Player player(kind, size);
    encode::OpenH264Encoder encoder;
    encode::EncodedPicture picture;
    std::string error;
    if (!encoder.configure(size, {}, error) ||
        !encoder.encode(player.frame().pixels.data(), player.frame().stride, false, picture,
                        error)) {
        state.SkipWithError(error.c_str());
        return;
    }
    encode::testing::H264TestDecoder decoder;
    encode::testing::DecodedPicture decoded;
    const size_t idrBytes = picture.bytes.size();
    size_t bytes = 0;
    double psnrSum = 0;
    for (auto _ : state) {
        state.PauseTiming();
        if (!decoder.decode(picture.bytes, decoded, error)) {
            state.SkipWithError(error.c_str());
            return;
        }
        psnrSum += encode::testing::psnr(player.frame().pixels.data(), player.frame().stride,
                                         decoded.pixels.data(), decoded.size.width * 4, size);
        player.next();
        state.ResumeTiming();
        if (!encoder.encode(player.frame().pixels.data(), player.frame().stride, false, picture,
                            error)) {
            state.SkipWithError(error.c_str());
            return;
        }
        bytes += picture.bytes.size();
    }
    const auto pictures = static_cast<double>(state.iterations());
    state.counters["bytes_per_picture"] = static_cast<double>(bytes) / pictures;
    state.counters["idr_bytes"] = static_cast<double>(idrBytes);
    // The first decoded picture is the IDR, the last encoded one is not decoded.
    state.counters["psnr_db"] = psnrSum / pictures;
}

void jpeg(benchmark::State &state, WorkloadKind kind, Size size) {
    Player player(kind, size);
    tjhandle handle = tjInitCompress();
    tjhandle decompressor = tjInitDecompress();
    std::vector<uint8_t> out(tjBufSize(size.width, size.height, TJSAMP_444));
    std::vector<uint8_t> decoded(static_cast<size_t>(size.width) * size.height * 4);
    unsigned long jpegSize = 0;
    size_t bytes = 0;
    double psnrSum = 0;
    for (auto _ : state) {
        state.PauseTiming();
        if (jpegSize != 0) {
            tjDecompress2(decompressor, out.data(), jpegSize, decoded.data(), size.width,
                          size.width * 4, size.height, TJPF_BGRX, 0);
            psnrSum += encode::testing::psnr(player.frame().pixels.data(), player.frame().stride,
                                             decoded.data(), size.width * 4, size);
        }
        player.next();
        state.ResumeTiming();
        unsigned char *dst = out.data();
        jpegSize = out.size();
        const Frame &frame = player.frame();
        if (tjCompress2(handle, frame.pixels.data(), frame.width, frame.stride, frame.height,
                        TJPF_BGRX, &dst, &jpegSize, TJSAMP_444, kJpegQuality,
                        TJFLAG_NOREALLOC) != 0) {
            state.SkipWithError(tjGetErrorStr2(handle));
            break;
        }
        bytes += jpegSize;
    }
    tjDestroy(decompressor);
    tjDestroy(handle);
    const auto pictures = static_cast<double>(state.iterations());
    state.counters["bytes_per_picture"] = static_cast<double>(bytes) / pictures;
    if (state.iterations() > 1)
        state.counters["psnr_db"] = psnrSum / (pictures - 1);
}

void registerAll() {
    for (WorkloadKind kind : kWorkloads) {
        for (Size size : kSizes) {
            const std::string suffix = std::string(workloadName(kind)) + "/" + sizeName(size);
            benchmark::RegisterBenchmark(("h264/" + suffix).c_str(), h264, kind, size)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("jpeg_q80/" + suffix).c_str(), jpeg, kind, size)
                ->Unit(benchmark::kMillisecond);
        }
    }
}

}  // namespace

}  // namespace kvmvnc::bench

int main(int argc, char **argv) {
    kvmvnc::bench::registerAll();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
