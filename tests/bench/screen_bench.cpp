// SPDX-License-Identifier: GPL-2.0-or-later
// How fast the screen follows the target and what it costs, in one run:
// kvmvnc's pipeline (tile differ -> libvncserver) against the whole-frame
// approach of PiKVM's and OpenBMC's VNC servers, on deterministic workloads
// (tests/bench/workload.h), with real viewers (libvncclient, Tight JPEG)
// behind links with an added round-trip time.
//
// One process: RfbServer behind the front door, a source thread that plays
// the workload at a fixed frame rate, and per viewer a LinkProxy and a
// thread pumping a TestViewer. Each frame carries its number in its pixels;
// a viewer reads it back after every update, which gives frames delivered
// and the latency from the frame reaching the server to the viewer holding
// its pixels. Server CPU is the process's CPU time minus what the viewers,
// the proxies and the workload's drawing used (each measured per thread).
//
// The suites:
//   workloads  the five workloads at 1920x1080, kvmvnc and whole-frame
//   4k         video at 3840x2160, both
//   rtt        window drag at 0, 20 and 100 ms round trip, with and without
//              continuous updates
//   scale      video to 1, 4 and 16 viewers
//   jpeg       the PiKVM / obmc-ikvm model: every changed frame compressed
//              whole with TurboJPEG at the quality Tight uses (encoder only)
//   h264       video, window drag and scrolling at 1920x1080 and 1280x720,
//              to 1 and 16 viewers: Tight/JPEG (today's viewers) against
//              H.264 in software (the server with an H264Stream and an
//              OpenH264 encoder thread at the [h264] defaults, viewers that
//              list encoding 50 and decode it with libavcodec), with the
//              PSNR of sampled pictures against the source frames and the
//              encoder's time per picture; needs OpenH264 and libavcodec
//
//   kvmvnc_screen_bench [--seconds S] [--quality 0-9] [--fps N] [--max-viewers N]
//                       [--suites workloads,4k,rtt,scale,jpeg,h264] [--json FILE]
#include <pthread.h>
#include <turbojpeg.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench_report.h"
#include "bench_viewer.h"
#include "kvmvnc/base/geometry.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/diff/scroll_finder.h"
#include "kvmvnc/diff/tile_differ.h"
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "link_proxy.h"
#include "loopback_door.h"
#include "test_viewer.h"
#include "workload.h"

#ifdef KVMVNC_BENCH_H264
#include "h264_viewer.h"
#include "kvmvnc/encode/h264_encoder_thread.h"
#include "kvmvnc/encode/h264_stream.h"
#include "kvmvnc/encode/openh264_encoder.h"
#endif

namespace kvmvnc::bench {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr Size k720p{1280, 720};
constexpr Size k1080p{1920, 1080};
constexpr Size k2160p{3840, 2160};

// libvncserver's map from Tight quality levels to TurboJPEG quality and
// subsampling (rfbserver.c, as TigerVNC's server does it).
constexpr int kJpegQuality[10] = {15, 29, 41, 42, 62, 77, 79, 86, 92, 100};
constexpr TJSAMP kJpegSubsampling[10] = {TJSAMP_420, TJSAMP_420, TJSAMP_420, TJSAMP_422,
                                         TJSAMP_422, TJSAMP_422, TJSAMP_444, TJSAMP_444,
                                         TJSAMP_444, TJSAMP_444};

// TileDiff is today's kvmvnc with Tight viewers; H264 the same server with
// an H.264 stream attached and viewers that list encoding 50.
enum class Method { TileDiff, WholeFrame, H264 };

const char *methodName(Method method) {
    switch (method) {
    case Method::TileDiff:
        return "kvmvnc";
    case Method::WholeFrame:
        return "whole-frame";
    case Method::H264:
        return "kvmvnc-h264";
    }
    return "?";
}

// The h264 suite's targets (issue 18), printed next to the figures.
constexpr double kTargetVideoBytesRatio = 1.0 / 20;
constexpr double kTargetVideoPsnr = 32.0;
constexpr double kTargetViewerCpuRatio = 1.3;
constexpr double kTargetEncodeMsAt1080p = 10.0;

struct Settings {
    double seconds = 3.0;
    int quality = 6;  // noVNC's default; JPEG quality 79, 4:4:4 (PiKVM's default is 80)
    int fps = 60;
    // h264 runs on its own (--suites h264): about 3 minutes at 3 s a row.
    std::set<std::string> suites{"workloads", "4k", "rtt", "scale", "jpeg"};
    const char *jsonPath = nullptr;
    int maxViewers = 16;  // rows with more viewers are left out (the smoke test's 1)
};

struct Run {
    std::string suite;
    WorkloadKind workload;
    Size size;
    Method method;
    milliseconds roundTrip{0};
    bool continuous = false;
    int viewers = 1;
};

struct Outcome {
    Run run;
    uint32_t framesOffered = 0;
    uint64_t framesDelivered = 0;  // summed over viewers
    uint64_t updates = 0;
    uint64_t bytes = 0;  // what the server sent, all viewers
    uint64_t unreadable = 0;
    double seconds = 0.0;  // frames were offered this long
    double elapsed = 0.0;  // the measurement, with the frames in flight at the end
    double serverCpu = 0.0;
    std::vector<double> latencyMs;
    int continuousViewers = 0;
    // Sampled pictures of the first viewer against the source frames
    // (the h264 suite); NaN when none.
    double psnrMean = std::nan("");
    double psnrMin = std::nan("");
    int psnrSamples = 0;
    // H.264 rows: the encoder's wall time per picture, what was encoded,
    // and what the viewers received.
    std::vector<double> encodeMs;
    uint64_t encoded = 0;
    uint64_t h264Rects = 0;
    uint64_t decodeErrors = 0;
};

// PSNR (R, G, B) of two XRGB8888 pictures of `size`, at most 99 dB (equal).
double psnrOf(const uint8_t *a, int strideA, const uint8_t *b, int strideB, Size size) {
    double sum = 0;
    for (int y = 0; y < size.height; ++y) {
        const uint8_t *rowA = a + static_cast<size_t>(y) * strideA;
        const uint8_t *rowB = b + static_cast<size_t>(y) * strideB;
        for (int x = 0; x < size.width * 4; ++x) {
            if (x % 4 == 3)
                continue;  // the padding byte
            const double d = static_cast<double>(rowA[x]) - rowB[x];
            sum += d * d;
        }
    }
    const double mse = sum / (3.0 * size.width * size.height);
    return mse == 0 ? 99.0 : std::min(99.0, 10.0 * std::log10(255.0 * 255.0 / mse));
}

// Plays the workload again up to the last sampled frame and compares each
// sample with the frame it shows (the workload is deterministic).
void comparePictures(const Workload &workload, std::vector<PictureSample> samples,
                     Outcome &outcome) {
    std::sort(samples.begin(), samples.end(),
              [](const PictureSample &a, const PictureSample &b) { return a.frame < b.frame; });
    capture::Frame frame = workload.firstFrame();
    std::vector<Rect> dirty;
    uint32_t n = 0;
    double sum = 0;
    double least = 99.0;
    for (const PictureSample &sample : samples) {
        if (sample.size != workload.size())
            continue;
        while (n < sample.frame) {
            dirty.clear();
            workload.advance(frame, ++n, dirty);
        }
        const double db = psnrOf(sample.pixels.data(), sample.size.width * 4, frame.pixels.data(),
                                 frame.stride, sample.size);
        sum += db;
        least = std::min(least, db);
        ++outcome.psnrSamples;
    }
    if (outcome.psnrSamples > 0) {
        outcome.psnrMean = sum / outcome.psnrSamples;
        outcome.psnrMin = least;
    }
}

#ifdef KVMVNC_BENCH_H264
// OpenH264Encoder, timed: each picture's encode in wall time, on the
// encoder thread (read once the thread has stopped).
class TimedEncoder final : public encode::H264Encoder {
public:
    explicit TimedEncoder(std::vector<double> &encodeMs) : encodeMs_(encodeMs) {}

    bool configure(Size size, const encode::H264Options &options, std::string &error) override {
        return encoder_.configure(size, options, error);
    }
    bool encode(const uint8_t *pixels, int stride, bool forceIdr, encode::EncodedPicture &out,
                std::string &error) override {
        const Clock::time_point start = Clock::now();
        const bool encoded = encoder_.encode(pixels, stride, forceIdr, out, error);
        encodeMs_.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        return encoded;
    }
    void requestIdr() override { encoder_.requestIdr(); }
    Size size() const override { return encoder_.size(); }
    const char *name() const override { return encoder_.name(); }

private:
    encode::OpenH264Encoder encoder_;
    std::vector<double> &encodeMs_;
};
#endif

Outcome measure(const Run &run, const Settings &settings) {
    rfb::RfbServerOptions options;
    options.initialSize = run.size;
    options.maxClients = 64;
#ifdef KVMVNC_BENCH_H264
    // As the daemon wires it: the stream outlives the server, the encoder
    // thread wakes the server's H.264 viewers after each unit.
    encode::H264Stream stream;
    std::vector<double> encodeMs;
    H264ViewerCounts h264Counts;
#endif
    rfb::RfbServer server(options);
    const auto door = testing::loopbackDoor(server);
#ifdef KVMVNC_BENCH_H264
    std::unique_ptr<encode::H264EncoderThread> encoder;
    if (run.method == Method::H264) {
        server.attachH264Stream(&stream);
        encoder = std::make_unique<encode::H264EncoderThread>(
            std::make_unique<TimedEncoder>(encodeMs), encode::H264Options{}, stream,
            [&server](uint64_t) { server.wakeH264Viewers(); });
        encoder->start();
    }
#else
    struct {
        void submit(const uint8_t *, int, Size) {}
    } *encoder = nullptr;
#endif
    // What FramePump::followMotion does: once motion ends, the H.264
    // viewers are woken to leave H.264 (and get the sharp picture).
    bool h264Wanted = false;
    const auto followMotion = [&] {
        const bool wanted = server.h264Wanted();
        if (h264Wanted && !wanted)
            server.wakeH264Viewers();
        h264Wanted = wanted;
    };

    const Workload workload(run.workload, run.size);
    std::memcpy(server.framebuffer(), workload.firstFrame().pixels.data(),
                workload.firstFrame().pixels.size());
    server.markModified({{0, 0, run.size.width, run.size.height}});

    FrameTimes times(static_cast<size_t>((settings.seconds + 5) * settings.fps) + 16);
    std::vector<std::unique_ptr<LinkProxy>> links;
    std::vector<std::unique_ptr<ViewerThread>> viewers;
    // One viewer at a time, as the front door lets only a few handshakes
    // from one address run at once.
    for (int i = 0; i < run.viewers; ++i) {
        links.push_back(std::make_unique<LinkProxy>(door->port(), run.roundTrip));
        ViewerThread::Options viewerOptions;
        viewerOptions.port = links.back()->port();
        viewerOptions.quality = settings.quality;
        viewerOptions.continuousUpdates = run.continuous;
        viewerOptions.counted = run.workload != WorkloadKind::Static;
        if (run.suite == "h264" && i == 0)
            viewerOptions.sampleEvery = std::max(
                milliseconds{100}, milliseconds{static_cast<int>(settings.seconds * 1000 / 12)});
#ifdef KVMVNC_BENCH_H264
        if (run.method == Method::H264)
            viewerOptions.makeViewer = [&h264Counts](const ViewerThread::Options &o) {
                return std::make_unique<H264Viewer>(o.port, o.quality, h264Counts);
            };
#endif
        viewers.push_back(std::make_unique<ViewerThread>(viewerOptions, times));
        if (!viewers.back()->waitReady(std::chrono::seconds{30})) {
            std::fprintf(stderr, "viewer %d did not get the first picture\n", i + 1);
            std::exit(1);
        }
    }
    std::this_thread::sleep_for(milliseconds{300} + run.roundTrip * 3);  // settle

    Outcome outcome;
    outcome.run = run;
    double proxyCpuBefore = 0.0;
    uint64_t bytesBefore = 0;
    for (const auto &link : links) {
        proxyCpuBefore += link->cpuSeconds();
        bytesBefore += link->serverBytes();
    }
    for (const auto &viewer : viewers)
        viewer->startMeasuring();
    const double processBefore = processCpuSeconds();
    const Clock::time_point start = Clock::now();

    double drawingCpu = 0.0;
    std::thread source([&] {
        pthread_setname_np(pthread_self(), "bench-source");
        diff::ScrollFinder scrolls;
        diff::TileDiffer differ;
        std::vector<diff::Move> moves;
        capture::Frame frame = workload.firstFrame();
        std::vector<Rect> dirty;
        std::vector<Rect> changed;
        const auto period = std::chrono::nanoseconds{1000000000 / settings.fps};
        const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(settings.seconds));
        Clock::time_point next = start;
        for (uint32_t n = 1; n + 1 < times.capacity() && Clock::now() < end; ++n) {
            std::this_thread::sleep_until(next);
            next += period;
            const double before = threadCpuSeconds();
            dirty.clear();
            workload.advance(frame, n, dirty);
            drawingCpu += threadCpuSeconds() - before;
            outcome.framesOffered = n;
            times.mark(n);  // the frame is at the server from here
            changed.clear();
            if (run.method != Method::WholeFrame) {
                // What FramePump does: scrolls as copies, then the differ.
                moves.clear();
                scrolls.find(frame, server.framebuffer(), server.stride(), moves);
                for (const diff::Move &move : moves)
                    server.moveArea(move.to, move.fromX, move.fromY);
                const size_t tiles =
                    differ.update(frame, server.framebuffer(), server.stride(), changed);
                scrolls.noteChanges(changed, moves);
                if (tiles > 0 || !moves.empty()) {
                    server.markModified(changed);
                    if (encoder && server.h264Wanted())
                        encoder->submit(server.framebuffer(), server.stride(), server.size());
                }
                if (encoder)
                    followMotion();
            } else if (std::memcmp(frame.pixels.data(), server.framebuffer(),
                                   frame.pixels.size()) != 0) {
                std::memcpy(server.framebuffer(), frame.pixels.data(), frame.pixels.size());
                server.markModified({{0, 0, run.size.width, run.size.height}});
            }
        }
    });
    source.join();
    // What was sent before the end still arrives: a frame in flight counts.
    // In the h264 suite, also the end of motion: the areas that changed
    // during it go again as pixels, sharp, a cost of H.264 as noVNC sees it.
    const milliseconds tail = run.suite == "h264"
                                  ? rfb::MotionPolicy::Options{}.still + milliseconds{500}
                                  : milliseconds{300} + run.roundTrip * 2;
    for (const Clock::time_point end = Clock::now() + tail; Clock::now() < end;) {
        std::this_thread::sleep_for(milliseconds{20});
        if (encoder)
            followMotion();
    }
    for (const auto &viewer : viewers)
        viewer->stopMeasuring();
    const double processCpu = processCpuSeconds() - processBefore;
    outcome.seconds = settings.seconds;
    outcome.elapsed = std::chrono::duration<double>(Clock::now() - start).count();

    double viewerCpu = 0.0;
    double proxyCpu = -proxyCpuBefore;
    for (const auto &link : links) {
        proxyCpu += link->cpuSeconds();
        outcome.bytes += link->serverBytes();
    }
    outcome.bytes -= bytesBefore;
    std::vector<PictureSample> samples;
    for (const auto &viewer : viewers) {
        viewerCpu += viewer->cpuSeconds;
        outcome.framesDelivered += viewer->delivered;
        outcome.updates += viewer->updates;
        outcome.unreadable += viewer->unreadable;
        outcome.continuousViewers += viewer->continuousOn ? 1 : 0;
        outcome.latencyMs.insert(outcome.latencyMs.end(), viewer->latencyMs.begin(),
                                 viewer->latencyMs.end());
    }
    outcome.serverCpu = std::max(0.0, processCpu - viewerCpu - proxyCpu - drawingCpu);
    viewers.front()->samples.swap(samples);
    viewers.clear();
    links.clear();
#ifdef KVMVNC_BENCH_H264
    if (encoder) {
        encoder->stop();
        outcome.encodeMs = std::move(encodeMs);
        outcome.encoded = encoder->stats().encoded;
        outcome.h264Rects = h264Counts.rects.load();
        outcome.decodeErrors = h264Counts.decodeErrors.load();
    }
#endif
    comparePictures(workload, std::move(samples), outcome);
    return outcome;
}

// The whole-frame JPEG model: what compressing every changed frame whole
// costs and weighs.
struct JpegModel {
    WorkloadKind workload;
    Size size;
    int frames = 0;
    uint64_t bytes = 0;
    double cpuSeconds = 0.0;
};

JpegModel measureJpegModel(WorkloadKind kind, Size size, const Settings &settings) {
    JpegModel model;
    model.workload = kind;
    model.size = size;
    const Workload workload(kind, size);
    capture::Frame frame = workload.firstFrame();
    std::vector<Rect> dirty;
    tjhandle compressor = tjInitCompress();
    unsigned char *jpeg = nullptr;
    unsigned long jpegSize = 0;
    const int frames = std::max(10, static_cast<int>(settings.seconds * settings.fps / 3));
    for (uint32_t n = 1; n <= static_cast<uint32_t>(frames); ++n) {
        dirty.clear();
        workload.advance(frame, n, dirty);
        if (dirty.empty())
            continue;  // ustreamer drops frames that did not change
        const double before = threadCpuSeconds();
        if (tjCompress2(compressor, frame.pixels.data(), size.width, frame.stride, size.height,
                        TJPF_BGRX, &jpeg, &jpegSize, kJpegSubsampling[settings.quality],
                        kJpegQuality[settings.quality], TJFLAG_FASTDCT) != 0) {
            std::fprintf(stderr, "tjCompress2: %s\n", tjGetErrorStr2(compressor));
            std::exit(1);
        }
        model.cpuSeconds += threadCpuSeconds() - before;
        model.bytes += jpegSize + 12 + 4;  // plus the rectangle and Tight headers
        ++model.frames;
    }
    tjFree(jpeg);
    tjDestroy(compressor);
    return model;
}

std::string sizeName(Size size) {
    return std::to_string(size.width) + "x" + std::to_string(size.height);
}

struct Figures {
    double deliveredFps;  // per viewer
    double bytesPerSecond;
    double bytesPerFrame;  // per delivered frame and viewer
    double latencyMedian;
    double latencyP99;
    double cpuShare;     // % of one core
    double cpuPerFrame;  // ms per delivered frame (all viewers)
};

Figures figuresOf(const Outcome &o) {
    Figures f{};
    f.deliveredFps = static_cast<double>(o.framesDelivered) / o.run.viewers / o.seconds;
    f.bytesPerSecond = static_cast<double>(o.bytes) / o.seconds;
    f.bytesPerFrame = o.framesDelivered
                          ? static_cast<double>(o.bytes) / static_cast<double>(o.framesDelivered)
                          : std::nan("");
    f.latencyMedian = quantile(o.latencyMs, 0.5);
    f.latencyP99 = quantile(o.latencyMs, 0.99);
    f.cpuShare = 100.0 * o.serverCpu / o.elapsed;
    f.cpuPerFrame = o.framesDelivered
                        ? 1000.0 * o.serverCpu / static_cast<double>(o.framesDelivered)
                        : std::nan("");
    return f;
}

void printRow(const Outcome &o) {
    const Figures f = figuresOf(o);
    char cu[8];
    std::snprintf(cu, sizeof(cu), "%s", o.run.continuous ? "on" : "off");
    char psnr[16] = "-";  // sampled in the h264 suite only
    if (o.psnrSamples > 0)
        std::snprintf(psnr, sizeof(psnr), "%.1f", o.psnrMean);
    std::printf(
        "%-9s %-11s %-9s %-11s %4lld %3s %3d %7.1f %7.1f %9.2f %9.1f %8.1f %8.1f %7.1f "
        "%8.2f %6s\n",
        o.run.suite.c_str(), workloadName(o.run.workload), sizeName(o.run.size).c_str(),
        methodName(o.run.method), static_cast<long long>(o.run.roundTrip.count()), cu,
        o.run.viewers, o.framesOffered / o.seconds, f.deliveredFps, f.bytesPerSecond / 1e6,
        f.bytesPerFrame / 1e3, f.latencyMedian, f.latencyP99, f.cpuShare, f.cpuPerFrame, psnr);
    std::fflush(stdout);
}

std::string jsonOf(const Outcome &o) {
    const Figures f = figuresOf(o);
    return JsonObject()
        .add("suite", o.run.suite)
        .add("workload", workloadName(o.run.workload))
        .add("size", sizeName(o.run.size))
        .add("server", methodName(o.run.method))
        .add("rtt_ms", static_cast<double>(o.run.roundTrip.count()))
        .add("continuous_updates", o.run.continuous)
        .add("continuous_viewers", static_cast<double>(o.continuousViewers))
        .add("viewers", static_cast<double>(o.run.viewers))
        .add("seconds", o.seconds)
        .add("frames_offered", static_cast<double>(o.framesOffered))
        .add("frames_delivered", static_cast<double>(o.framesDelivered))
        .add("updates", static_cast<double>(o.updates))
        .add("unreadable_updates", static_cast<double>(o.unreadable))
        .add("delivered_fps", f.deliveredFps)
        .add("bytes", static_cast<double>(o.bytes))
        .add("bytes_per_s", f.bytesPerSecond)
        .add("bytes_per_frame", f.bytesPerFrame)
        .add("latency_ms_median", f.latencyMedian)
        .add("latency_ms_p99", f.latencyP99)
        .add("server_cpu_s", o.serverCpu)
        .add("server_cpu_percent", f.cpuShare)
        .add("server_cpu_ms_per_frame", f.cpuPerFrame)
        .add("psnr_db_mean", o.psnrMean)
        .add("psnr_db_min", o.psnrMin)
        .add("psnr_samples", static_cast<double>(o.psnrSamples))
        .add("h264_pictures_encoded", static_cast<double>(o.encoded))
        .add("h264_encode_ms_median", quantile(o.encodeMs, 0.5))
        .add("h264_encode_ms_p99", quantile(o.encodeMs, 0.99))
        .add("h264_rects", static_cast<double>(o.h264Rects))
        .add("h264_decode_errors", static_cast<double>(o.decodeErrors))
        .str();
}

const Outcome *find(const std::vector<Outcome> &outcomes, const std::string &suite,
                    WorkloadKind workload, Method method, milliseconds rtt = milliseconds{0},
                    bool continuous = false, int viewers = 1, Size size = k1080p) {
    for (const Outcome &o : outcomes)
        if (o.run.suite == suite && o.run.workload == workload && o.run.method == method &&
            o.run.roundTrip == rtt && o.run.continuous == continuous && o.run.viewers == viewers &&
            o.run.size == size)
            return &o;
    return nullptr;
}

double ratio(double a, double b) { return b > 0 ? a / b : std::nan(""); }

constexpr WorkloadKind kH264Workloads[] = {WorkloadKind::Video, WorkloadKind::WindowDrag,
                                           WorkloadKind::Scrolling};

const char *verdict(bool met) { return met ? "met" : "missed"; }

// The h264 suite's comparison, row by row against the Tight row of the
// same run, with the targets; JSON objects for "ratios".
void printH264Comparison(const std::vector<Outcome> &outcomes, std::vector<std::string> &json) {
    bool headed = false;
    for (WorkloadKind kind : kH264Workloads) {
        for (Size size : {k1080p, k720p}) {
            const auto at = [&](Method method, int viewers) {
                return find(outcomes, "h264", kind, method, milliseconds{0}, false, viewers, size);
            };
            const Outcome *tight[2] = {at(Method::TileDiff, 1), at(Method::TileDiff, 16)};
            const Outcome *h264[2] = {at(Method::H264, 1), at(Method::H264, 16)};
            if (!headed && (h264[0] || h264[1])) {
                std::printf(
                    "\nH.264 (OpenH264 in software, the [h264] defaults: 5 Mbit/s, at most 30 "
                    "fps) against Tight in the same run; targets (issue 18) in brackets\n");
                headed = true;
            }
            for (int i = 0; i < 2; ++i) {
                if (!tight[i] || !h264[i])
                    continue;
                const Figures t = figuresOf(*tight[i]);
                const Figures h = figuresOf(*h264[i]);
                const double bytes = ratio(h.bytesPerSecond, t.bytesPerSecond);
                const double encodeP50 = quantile(h264[i]->encodeMs, 0.5);
                const double encodeP99 = quantile(h264[i]->encodeMs, 0.99);
                if (h264[i]->h264Rects == 0) {
                    std::printf(
                        "  %-11s %-9s %2d vw: no H.264 sent (no motion: the changes cover "
                        "less than motion_percent of the screen); bytes x%.3f of Tight\n",
                        workloadName(kind), sizeName(size).c_str(), h264[i]->run.viewers, bytes);
                    continue;
                }
                std::printf("  %-11s %-9s %2d vw: bytes x%.3f of Tight", workloadName(kind),
                            sizeName(size).c_str(), h264[i]->run.viewers, bytes);
                if (kind == WorkloadKind::Video)
                    std::printf(" [<= %.3f at >= %.0f dB: %s]", kTargetVideoBytesRatio,
                                kTargetVideoPsnr,
                                verdict(bytes <= kTargetVideoBytesRatio &&
                                        h264[i]->psnrMean >= kTargetVideoPsnr));
                std::printf(
                    ", PSNR %.1f dB (min %.1f; Tight %.1f), fps %.1f (Tight %.1f), latency "
                    "p50 %.1f ms (Tight %.1f), encode p50 %.1f ms p99 %.1f ms",
                    h264[i]->psnrMean, h264[i]->psnrMin, tight[i]->psnrMean, h.deliveredFps,
                    t.deliveredFps, h.latencyMedian, t.latencyMedian, encodeP50, encodeP99);
                if (size == k1080p)
                    std::printf(" [p50 < %.0f ms: %s]", kTargetEncodeMsAt1080p,
                                verdict(encodeP50 < kTargetEncodeMsAt1080p));
                std::printf(", %llu of %llu updates H.264, %llu decode errors\n",
                            static_cast<unsigned long long>(h264[i]->h264Rects),
                            static_cast<unsigned long long>(h264[i]->updates),
                            static_cast<unsigned long long>(h264[i]->decodeErrors));
                json.push_back(JsonObject()
                                   .add("suite", "h264")
                                   .add("workload", workloadName(kind))
                                   .add("size", sizeName(size))
                                   .add("viewers", static_cast<double>(h264[i]->run.viewers))
                                   .add("bytes_h264_over_tight", bytes)
                                   .add("psnr_db_h264", h264[i]->psnrMean)
                                   .add("psnr_db_tight", tight[i]->psnrMean)
                                   .add("fps_h264", h.deliveredFps)
                                   .add("fps_tight", t.deliveredFps)
                                   .add("latency_ms_median_h264", h.latencyMedian)
                                   .add("latency_ms_median_tight", t.latencyMedian)
                                   .add("encode_ms_median", encodeP50)
                                   .add("encode_ms_p99", encodeP99)
                                   .str());
            }
            if (tight[0] && tight[1] && h264[0] && h264[1] && h264[0]->h264Rects > 0 &&
                h264[1]->h264Rects > 0) {
                // Server CPU over the same time, whatever the frames delivered;
                // and per picture encoded, which holds when the machine is
                // saturated and the encoder thread gets fewer pictures done.
                const double h = ratio(figuresOf(*h264[1]).cpuShare, figuresOf(*h264[0]).cpuShare);
                const double perPicture =
                    ratio(h264[1]->serverCpu / static_cast<double>(h264[1]->encoded),
                          h264[0]->serverCpu / static_cast<double>(h264[0]->encoded));
                const double t =
                    ratio(figuresOf(*tight[1]).cpuShare, figuresOf(*tight[0]).cpuShare);
                std::printf(
                    "  %-11s %-9s server CPU, 16 viewers / 1 viewer: H.264 x%.2f [<= %.1f: %s], "
                    "per picture encoded x%.2f [%s] (%llu and %llu pictures); Tight x%.2f\n",
                    workloadName(kind), sizeName(size).c_str(), h, kTargetViewerCpuRatio,
                    verdict(h <= kTargetViewerCpuRatio), perPicture,
                    verdict(perPicture <= kTargetViewerCpuRatio),
                    static_cast<unsigned long long>(h264[1]->encoded),
                    static_cast<unsigned long long>(h264[0]->encoded), t);
                json.push_back(JsonObject()
                                   .add("suite", "h264")
                                   .add("workload", workloadName(kind))
                                   .add("size", sizeName(size))
                                   .add("cpu_16_over_1_viewer_h264", h)
                                   .add("cpu_per_picture_16_over_1_viewer_h264", perPicture)
                                   .add("cpu_16_over_1_viewer_tight", t)
                                   .str());
            }
        }
    }
}

Settings parse(int argc, char **argv) {
    Settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const char *value = argv[i + 1];
        if (key == "--seconds")
            s.seconds = std::atof(value);
        else if (key == "--quality")
            s.quality = std::clamp(std::atoi(value), 0, 9);
        else if (key == "--fps")
            s.fps = std::clamp(std::atoi(value), 1, 240);
        else if (key == "--json")
            s.jsonPath = value;
        else if (key == "--max-viewers")
            s.maxViewers = std::max(std::atoi(value), 1);
        else if (key == "--suites") {
            s.suites.clear();
            std::string list = value;
            for (size_t at = 0; at <= list.size();) {
                const size_t comma = std::min(list.find(',', at), list.size());
                s.suites.insert(list.substr(at, comma - at));
                at = comma + 1;
            }
        } else {
            std::fprintf(stderr, "unknown option %s\n", key.c_str());
            std::exit(2);
        }
    }
    return s;
}

}  // namespace

int run(int argc, char **argv) {
    const Settings settings = parse(argc, argv);
    log::setLevel(log::Level::Warning);

    std::vector<Run> runs;
    if (settings.suites.count("workloads"))
        for (WorkloadKind kind : kAllWorkloads)
            for (Method method : {Method::TileDiff, Method::WholeFrame})
                runs.push_back({"workloads", kind, k1080p, method});
    if (settings.suites.count("4k"))
        for (Method method : {Method::TileDiff, Method::WholeFrame})
            runs.push_back({"4k", WorkloadKind::Video, k2160p, method});
    if (settings.suites.count("rtt"))
        for (int rtt : {0, 20, 100})
            for (bool continuous : {false, true})
                runs.push_back({"rtt", WorkloadKind::WindowDrag, k1080p, Method::TileDiff,
                                milliseconds{rtt}, continuous});
    if (settings.suites.count("scale"))
        for (int viewers : {1, 4, 16})
            runs.push_back({"scale", WorkloadKind::Video, k1080p, Method::TileDiff, milliseconds{0},
                            true, viewers});
#ifdef KVMVNC_BENCH_H264
    // Each H.264 row right after its Tight row: what else runs on the
    // machine weighs on both alike.
    if (settings.suites.count("h264"))
        for (WorkloadKind kind : kH264Workloads)
            for (Size size : {k1080p, k720p})
                for (int viewers : {1, 16})
                    for (Method method : {Method::TileDiff, Method::H264})
                        runs.push_back(
                            {"h264", kind, size, method, milliseconds{0}, false, viewers});
#endif

    std::printf("kvmvnc screen benchmark on %s\n", machineDescription().c_str());
    std::printf(
        "%d fps offered for %.1f s per row; Tight JPEG quality level %d (JPEG quality %d, "
        "%s); latency from the frame reaching the server to the viewer holding it\n\n",
        settings.fps, settings.seconds, settings.quality, kJpegQuality[settings.quality],
        kJpegSubsampling[settings.quality] == TJSAMP_444   ? "4:4:4"
        : kJpegSubsampling[settings.quality] == TJSAMP_422 ? "4:2:2"
                                                           : "4:2:0");
    std::erase_if(runs, [&](const Run &run) { return run.viewers > settings.maxViewers; });
#ifndef KVMVNC_BENCH_H264
    if (settings.suites.count("h264"))
        std::printf("suite h264 skipped: built without OpenH264 or libavcodec\n\n");
#endif
    std::printf("%-9s %-11s %-9s %-11s %4s %3s %3s %7s %7s %9s %9s %8s %8s %7s %8s %6s\n", "suite",
                "workload", "size", "server", "rtt", "cu", "vw", "offered", "fps", "MB/s",
                "KB/frame", "lat p50", "lat p99", "CPU %", "ms/frame", "PSNR");
    std::vector<Outcome> outcomes;
    for (const Run &r : runs) {
        outcomes.push_back(measure(r, settings));
        printRow(outcomes.back());
    }

    std::vector<JpegModel> models;
    if (settings.suites.count("jpeg")) {
        std::printf(
            "\nWhole-frame JPEG model (every changed frame compressed whole, encoder "
            "only):\n%-11s %-9s %8s %10s %10s\n",
            "workload", "size", "frames", "KB/frame", "ms/frame");
        for (WorkloadKind kind : kAllWorkloads) {
            models.push_back(measureJpegModel(kind, k1080p, settings));
            const JpegModel &m = models.back();
            std::printf("%-11s %-9s %8d %10.1f %10.2f\n", workloadName(kind),
                        sizeName(m.size).c_str(), m.frames,
                        m.frames ? m.bytes / 1e3 / m.frames : 0.0,
                        m.frames ? m.cpuSeconds * 1e3 / m.frames : 0.0);
        }
    }

    // Ratios: how many times more the baselines send and spend.
    std::vector<std::string> ratioJson;
    std::printf("\nRatios (baseline / kvmvnc; > 1: kvmvnc ahead)\n");
    for (WorkloadKind kind : kAllWorkloads) {
        const Outcome *ours = find(outcomes, "workloads", kind, Method::TileDiff);
        const Outcome *whole = find(outcomes, "workloads", kind, Method::WholeFrame);
        if (!ours || !whole)
            continue;
        const Figures o = figuresOf(*ours);
        const Figures w = figuresOf(*whole);
        JsonObject json;
        json.add("workload", workloadName(kind))
            .add("bytes_per_frame_whole_frame", ratio(w.bytesPerFrame, o.bytesPerFrame))
            .add("cpu_per_frame_whole_frame", ratio(w.cpuPerFrame, o.cpuPerFrame))
            .add("cpu_whole_frame", ratio(whole->serverCpu, ours->serverCpu));
        std::printf("  %-11s whole-frame: bytes/frame x%.1f, CPU/frame x%.1f, CPU x%.1f",
                    workloadName(kind), ratio(w.bytesPerFrame, o.bytesPerFrame),
                    ratio(w.cpuPerFrame, o.cpuPerFrame), ratio(whole->serverCpu, ours->serverCpu));
        for (const JpegModel &m : models) {
            if (m.workload != kind || m.frames == 0 || ours->framesOffered == 0)
                continue;
            // Per offered frame: the model sends every changed frame.
            const double modelBytes = static_cast<double>(m.bytes) / m.frames;
            const double oursBytes = static_cast<double>(ours->bytes) / ours->framesOffered;
            const double modelCpu = m.cpuSeconds / m.frames;
            const double oursCpu = ours->serverCpu / ours->framesOffered;
            json.add("bytes_full_jpeg", ratio(modelBytes, oursBytes))
                .add("cpu_full_jpeg_encode_only", ratio(modelCpu, oursCpu));
            std::printf("; full JPEG: bytes x%.1f, CPU x%.1f (encode only)",
                        ratio(modelBytes, oursBytes), ratio(modelCpu, oursCpu));
        }
        std::printf("\n");
        ratioJson.push_back(json.str());
    }
    for (int rtt : {0, 20, 100}) {
        const Outcome *off =
            find(outcomes, "rtt", WorkloadKind::WindowDrag, Method::TileDiff, milliseconds{rtt});
        const Outcome *on = find(outcomes, "rtt", WorkloadKind::WindowDrag, Method::TileDiff,
                                 milliseconds{rtt}, true);
        if (!off || !on)
            continue;
        const Figures a = figuresOf(*off);
        const Figures b = figuresOf(*on);
        std::printf(
            "  rtt %3d ms  continuous updates: %.1f fps (without: %.1f), latency p50 %.1f "
            "ms (without: %.1f)\n",
            rtt, b.deliveredFps, a.deliveredFps, b.latencyMedian, a.latencyMedian);
        ratioJson.push_back(JsonObject()
                                .add("rtt_ms", static_cast<double>(rtt))
                                .add("fps_continuous", b.deliveredFps)
                                .add("fps_requested", a.deliveredFps)
                                .add("latency_ms_continuous", b.latencyMedian)
                                .add("latency_ms_requested", a.latencyMedian)
                                .str());
    }
    for (const Outcome &o : outcomes) {
        if (o.run.suite != "scale")
            continue;
        const Figures f = figuresOf(o);
        std::printf(
            "  %2d viewers  %.1f fps each, server CPU %.1f%% of a core, %.1f%% per viewer\n",
            o.run.viewers, f.deliveredFps, f.cpuShare, f.cpuShare / o.run.viewers);
    }
    printH264Comparison(outcomes, ratioJson);

    if (settings.jsonPath) {
        std::vector<std::string> runJson;
        for (const Outcome &o : outcomes)
            runJson.push_back(jsonOf(o));
        std::vector<std::string> modelJson;
        for (const JpegModel &m : models)
            modelJson.push_back(
                JsonObject()
                    .add("workload", workloadName(m.workload))
                    .add("size", sizeName(m.size))
                    .add("frames", static_cast<double>(m.frames))
                    .add("bytes_per_frame", m.frames ? double(m.bytes) / m.frames : 0)
                    .add("cpu_ms_per_frame", m.frames ? m.cpuSeconds * 1e3 / m.frames : 0)
                    .str());
        const std::string json =
            benchmarkHeader("screen", settings.fps, settings.seconds, settings.quality)
                .raw("runs", jsonArray(runJson))
                .raw("full_jpeg_model", jsonArray(modelJson))
                .raw("ratios", jsonArray(ratioJson))
                .str();
        if (!writeJsonFile(settings.jsonPath, json))
            return 1;
    }
    return 0;
}

}  // namespace kvmvnc::bench

int main(int argc, char **argv) { return kvmvnc::bench::run(argc, argv); }
