// SPDX-License-Identifier: GPL-2.0-or-later
// The capture -> framebuffer hot path, one stage at a time, next to what this
// machine can do at best on the same frames:
//
//   stage                              reference
//   convert/<format>  (pixel_format)   memcpy of the source picture
//   diff/<case>       (TileDiffer)     memcmp of two equal frames
//   decode/JpegDecoder                 tjDecompress2 of the same JPEG
//   encode/...        (TurboJPEG)      tjCompress2 of the whole frame, what
//                                      tjbench reports as Mpixels/sec
//
// bytes_per_second counts the bytes a stage must read: the source picture
// for a conversion and for memcpy, both frames for the diff and for memcmp,
// the XRGB8888 input for an encode. items_per_second counts pixels. The
// frames are rendered before anything is timed: the virtual target's desktop
// and a video-like frame (a colour field with sensor noise). After the usual
// table a second one gives each stage as a share of its reference (GB are
// 10^9 bytes there; Google Benchmark's G/s are 2^30).
//
// allocs/iter counts operator new calls per frame (C++ containers; not
// malloc inside libyuv or TurboJPEG).
//
//   kvmvnc_hot_path_bench [Google Benchmark flags] [--write-ppm=DIR]
//
// --write-ppm writes the 1080p frames as PPM for tjbench and exits:
//   tjbench DIR/desktop_1920x1080.ppm 92 -subsamp 444 -bgrx -benchtime 2
#include <benchmark/benchmark.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <libyuv.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "kvmvnc/capture/frame.h"
#include "kvmvnc/capture/jpeg_decoder.h"
#include "kvmvnc/capture/pixel_format.h"
#include "kvmvnc/diff/tile_differ.h"
#include "kvmvnc/target/virtual_machine.h"
#include "virtual_target_picture.h"

namespace {
std::atomic<uint64_t> allocations{0};
}  // namespace

// Counts what the stages allocate; a steady-state frame should allocate
// nothing. Out of line: inlined, GCC sees malloc() paired with operator
// delete or free() with operator new and warns (-Wmismatched-new-delete).
[[gnu::noinline]] void *operator new(size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void *p = std::malloc(size == 0 ? 1 : size))
        return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void *operator new[](size_t size) { return ::operator new(size); }
[[gnu::noinline]] void operator delete(void *p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void *p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void *p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void *p, size_t) noexcept { std::free(p); }

namespace kvmvnc::bench {

namespace {

using capture::Frame;
using capture::PixelFormat;
using capture::YuvEncoding;

constexpr Size kHd{1920, 1080};
constexpr Size kUhd{3840, 2160};

std::string sizeName(Size size) {
    return std::to_string(size.width) + "x" + std::to_string(size.height);
}

size_t frameBytes(Size size) {
    return static_cast<size_t>(size.width) * static_cast<size_t>(size.height) *
           Frame::kBytesPerPixel;
}

int64_t pixels(Size size) { return static_cast<int64_t>(size.width) * size.height; }

// --- Frames, rendered once --------------------------------------------------

Frame makeFrame(Size size, std::vector<uint8_t> pixelData) {
    Frame frame;
    frame.allocate(size.width, size.height);
    frame.pixels = std::move(pixelData);
    return frame;
}

// A colour field with independent noise in every channel of every pixel, as
// a camera or a video player shows: JPEG works hard on it and no two pixels
// next to each other are equal.
std::vector<uint8_t> videoPicture(Size size) {
    std::vector<uint8_t> out(frameBytes(size));
    uint32_t state = 12345;
    auto noisy = [&state](int value, int shift) {
        const int noise = static_cast<int>(state >> shift & 31) - 16;
        return static_cast<uint8_t>(std::clamp(value + noise, 0, 255));
    };
    uint8_t *p = out.data();
    for (int y = 0; y < size.height; ++y) {
        for (int x = 0; x < size.width; ++x) {
            state = state * 1664525u + 1013904223u;
            const int r = x * 255 / size.width;
            const int g = y * 255 / size.height;
            p[0] = noisy(255 - (r + g) / 2, 17);
            p[1] = noisy(g, 22);
            p[2] = noisy(r, 27);
            p[3] = 0;
            p += 4;
        }
    }
    return out;
}

struct Pictures {
    Frame desktop;
    Frame desktopTyped;  // the desktop with one more character typed
    Frame video;
    Frame videoNext;  // every pixel of `video` changed
};

const Pictures &pictures(Size size) {
    static std::map<std::pair<int, int>, std::unique_ptr<Pictures>> cache;
    std::unique_ptr<Pictures> &entry = cache[{size.width, size.height}];
    if (!entry) {
        entry = std::make_unique<Pictures>();
        using target::MachinePhase;
        target::InputView typed;
        typed.commandLine = "l";
        entry->desktop = makeFrame(size, testing::stillPicture(MachinePhase::Desktop, size));
        entry->desktopTyped =
            makeFrame(size, testing::stillPicture(MachinePhase::Desktop, size, typed));
        entry->video = makeFrame(size, videoPicture(size));
        entry->videoNext = entry->video;
        for (size_t i = 0; i < entry->videoNext.pixels.size(); i += 4)
            entry->videoNext.pixels[i] ^= 1;
    }
    return *entry;
}

// --- Ratios to the references ------------------------------------------------

enum class Per { Byte, Pixel };

struct Comparison {
    std::string stage;
    std::string reference;
    Per per;
};

std::vector<Comparison> &comparisons() {
    static std::vector<Comparison> list;
    return list;
}

void compare(std::string stage, std::string reference, Per per) {
    comparisons().push_back({std::move(stage), std::move(reference), per});
}

// Google Benchmark's console table, then each stage's throughput as a share
// of its reference's, from the best of --benchmark_repetitions (not with
// --benchmark_report_aggregates_only, which hides the single runs).
class RatioReporter : public benchmark::ConsoleReporter {
public:
    RatioReporter()
        : ConsoleReporter(isatty(STDOUT_FILENO) ? ConsoleReporter::OO_Color
                                                : ConsoleReporter::OO_None) {}

    void ReportRuns(const std::vector<Run> &runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run &run : runs) {
            if (run.run_type != Run::RT_Iteration || run.error_occurred)
                continue;
            // Best of the repetitions: on a shared machine the others
            // only ever slow a run down.
            Rates &rates = rates_[run.benchmark_name()];
            rates.bytes = std::max(rates.bytes, rate(run, "bytes_per_second"));
            rates.pixels = std::max(rates.pixels, rate(run, "items_per_second"));
        }
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        std::ostream &out = GetOutputStream();
        bool header = false;
        for (const Comparison &c : comparisons()) {
            auto stage = rates_.find(c.stage);
            auto reference = rates_.find(c.reference);
            if (stage == rates_.end() || reference == rates_.end())
                continue;
            const bool bytes = c.per == Per::Byte;
            const double s = bytes ? stage->second.bytes : stage->second.pixels;
            const double r = bytes ? reference->second.bytes : reference->second.pixels;
            if (s <= 0 || r <= 0)
                continue;
            if (!header) {
                out << "\nstage / reference (throughput share)\n";
                header = true;
            }
            char line[256];
            std::snprintf(line, sizeof(line), "  %-44s %8.1f %s  vs %-40s %8.1f  = %5.1f%%\n",
                          c.stage.c_str(), bytes ? s / 1e9 : s / 1e6, bytes ? "GB/s " : "Mpx/s",
                          c.reference.c_str(), bytes ? r / 1e9 : r / 1e6, 100.0 * s / r);
            out << line;
        }
    }

private:
    struct Rates {
        double bytes = 0;
        double pixels = 0;
    };

    static double rate(const Run &run, const char *name) {
        auto it = run.counters.find(name);
        return it == run.counters.end() ? 0.0 : static_cast<double>(it->second);
    }

    std::map<std::string, Rates> rates_;
};

// Per-frame operator new calls of the loop just timed.
class AllocationCount {
public:
    AllocationCount() : start_(allocations.load()) {}
    void report(benchmark::State &state) const {
        state.counters["allocs/iter"] = benchmark::Counter(
            static_cast<double>(allocations.load() - start_), benchmark::Counter::kAvgIterations);
    }

private:
    uint64_t start_;
};

void rates(benchmark::State &state, size_t bytesPerIteration, int64_t pixelsPerIteration) {
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytesPerIteration));
    state.SetItemsProcessed(state.iterations() * pixelsPerIteration);
}

// --- References ---------------------------------------------------------------

std::string memcpyName(size_t bytesPerPixel, Size size) {
    return "ref/memcpy_" + std::to_string(bytesPerPixel) + "Bpp/" + sizeName(size);
}

void memcpyReference(benchmark::State &state, Size size, size_t bytesPerPixel) {
    const size_t bytes = static_cast<size_t>(pixels(size)) * bytesPerPixel;
    std::vector<uint8_t> src(bytes, 1);
    std::vector<uint8_t> dst(bytes, 2);
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), bytes);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    rates(state, bytes, pixels(size));
}

// The diff's bound: it has to read both frames in full even when nothing
// changed.
void memcmpReference(benchmark::State &state, Size size) {
    const Frame &a = pictures(size).desktop;
    const std::vector<uint8_t> b = a.pixels;
    for (auto _ : state) {
        int result = std::memcmp(a.pixels.data(), b.data(), b.size());
        benchmark::DoNotOptimize(result);
    }
    rates(state, 2 * b.size(), pixels(size));
}

// --- JPEG encode ----------------------------------------------------------------

// libvncserver turns a viewer's Tight quality level into TurboJPEG quality
// and subsampling through tight2turbo_qual[] and tight2turbo_subsamp[]
// (rfbserver.c, the TigerVNC mapping): level 9 is quality 100 with 4:4:4,
// level 8 quality 92 with 4:4:4, level 6 quality 79 with 4:4:4; levels 0-2
// are the only ones with 4:2:0 (quality 15-41). tight.c calls tjCompress()
// into a preallocated buffer with flags 0 (accurate DCT), like tjbench
// without -fastdct. The 4:2:0 row at quality 92 shows what subsampling
// saves.
struct JpegSetting {
    const char *name;
    int quality;
    int subsampling;
};
constexpr JpegSetting kJpegSettings[] = {
    {"L8_q92_444", 92, TJSAMP_444},
    {"L9_q100_444", 100, TJSAMP_444},
    {"q92_420", 92, TJSAMP_420},
};

// Compresses `area` of `frame` `rows` rows at a time, each strip its own
// JPEG: rows == area height is one JPEG of the whole area.
void encode(benchmark::State &state, const Frame &frame, Rect area, int rows, JpegSetting setting) {
    tjhandle handle = tjInitCompress();
    std::vector<uint8_t> out(tjBufSize(area.width, rows, setting.subsampling));
    unsigned long lastSize = 0;
    for (auto _ : state) {
        for (int y = area.y; y < area.bottom(); y += rows) {
            const int h = std::min(rows, area.bottom() - y);
            unsigned char *dst = out.data();
            unsigned long size = out.size();
            const uint8_t *src = frame.row(y) + static_cast<size_t>(area.x) * 4;
            if (tjCompress2(handle, src, area.width, frame.stride, h, TJPF_BGRX, &dst, &size,
                            setting.subsampling, setting.quality, TJFLAG_NOREALLOC) != 0) {
                state.SkipWithError(tjGetErrorStr2(handle));
                break;
            }
            lastSize = size;
        }
    }
    tjDestroy(handle);
    const int64_t areaPixels = static_cast<int64_t>(area.width) * area.height;
    rates(state, static_cast<size_t>(areaPixels) * 4, areaPixels);
    state.counters["jpeg_bytes"] = static_cast<double>(lastSize);
}

std::vector<uint8_t> compressed(const Frame &frame, int quality, int subsampling) {
    tjhandle handle = tjInitCompress();
    unsigned char *jpeg = nullptr;
    unsigned long size = 0;
    tjCompress2(handle, frame.pixels.data(), frame.width, frame.stride, frame.height, TJPF_BGRX,
                &jpeg, &size, subsampling, quality, 0);
    std::vector<uint8_t> out(jpeg, jpeg + size);
    tjFree(jpeg);
    tjDestroy(handle);
    return out;
}

// --- Registration -------------------------------------------------------------

void add(const std::string &name, std::function<void(benchmark::State &)> fn) {
    benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State &state) {
        fn(state);
    })->Unit(benchmark::kMillisecond);
}

void registerReferences() {
    for (Size size : {kHd, kUhd}) {
        for (size_t bpp : {2, 3, 4})
            add(memcpyName(bpp, size), [=](auto &state) { memcpyReference(state, size, bpp); });
        add("ref/memcmp/" + sizeName(size), [=](auto &state) { memcmpReference(state, size); });
    }
}

void registerDiff() {
    struct Case {
        const char *name;
        const Frame Pictures::*first;
        const Frame Pictures::*second;
    };
    // Each iteration diffs the other frame of the pair against the
    // framebuffer, so every update sees the change (or, for static, none).
    constexpr Case kCases[] = {
        {"static", &Pictures::desktop, &Pictures::desktop},
        {"typed_char", &Pictures::desktop, &Pictures::desktopTyped},
        {"every_pixel", &Pictures::video, &Pictures::videoNext},
    };
    for (Size size : {kHd, kUhd}) {
        for (const Case &c : kCases) {
            const std::string name = std::string("diff/") + c.name + "/" + sizeName(size);
            add(name, [size, c](benchmark::State &state) {
                const Pictures &p = pictures(size);
                const Frame *frames[] = {&(p.*c.first), &(p.*c.second)};
                std::vector<uint8_t> framebuffer = frames[0]->pixels;
                std::vector<Rect> changed;
                changed.reserve(1024);
                diff::TileDiffer differ;
                differ.update(*frames[0], framebuffer.data(), frames[0]->stride, changed);
                size_t tiles = 0;
                size_t next = 1;
                AllocationCount count;
                for (auto _ : state) {
                    changed.clear();
                    tiles = differ.update(*frames[next], framebuffer.data(), frames[next]->stride,
                                          changed);
                    next ^= 1;
                }
                count.report(state);
                rates(state, 2 * frameBytes(size), pixels(size));
                state.counters["changed_tiles"] = static_cast<double>(tiles);
            });
            compare(name, "ref/memcmp/" + sizeName(size), Per::Byte);
        }
    }
}

void registerConversion() {
    struct Source {
        PixelFormat format;
        YuvEncoding encoding;
        const char *name;
    };
    // HDMI sends BT.709 limited range at HD modes: a TC358743 at 1080p is
    // UYVY_709L, the path through planar I422.
    constexpr Source kSources[] = {
        {PixelFormat::Yuyv, YuvEncoding::Bt601Limited, "YUYV_601L"},
        {PixelFormat::Yuyv, YuvEncoding::Bt709Limited, "YUYV_709L"},
        {PixelFormat::Uyvy, YuvEncoding::Bt601Limited, "UYVY_601L"},
        {PixelFormat::Uyvy, YuvEncoding::Bt709Limited, "UYVY_709L"},
        {PixelFormat::Uyvy, YuvEncoding::Bt709Full, "UYVY_709F"},
        {PixelFormat::Rgb24, YuvEncoding::Bt601Limited, "RGB24"},
        {PixelFormat::Bgr24, YuvEncoding::Bt601Limited, "BGR24"},
    };
    for (Size size : {kHd, kUhd}) {
        for (const Source &s : kSources) {
            const std::string name = std::string("convert/") + s.name + "/" + sizeName(size);
            add(name, [size, s](benchmark::State &state) {
                const Frame &desktop = pictures(size).desktop;
                const int bpp = capture::bytesPerPixel(s.format);
                const int stride = size.width * bpp;
                std::vector<uint8_t> source(static_cast<size_t>(stride) * size.height);
                const uint8_t *argb = desktop.pixels.data();
                switch (s.format) {
                case PixelFormat::Yuyv:
                    libyuv::ARGBToYUY2(argb, desktop.stride, source.data(), stride, size.width,
                                       size.height);
                    break;
                case PixelFormat::Uyvy:
                    libyuv::ARGBToUYVY(argb, desktop.stride, source.data(), stride, size.width,
                                       size.height);
                    break;
                case PixelFormat::Rgb24:
                    libyuv::ARGBToRAW(argb, desktop.stride, source.data(), stride, size.width,
                                      size.height);
                    break;
                case PixelFormat::Bgr24:
                    libyuv::ARGBToRGB24(argb, desktop.stride, source.data(), stride, size.width,
                                        size.height);
                    break;
                case PixelFormat::Mjpeg:
                    break;
                }
                Frame out;
                capture::convertToXrgb(s.format, source.data(), source.size(), size.width,
                                       size.height, stride, out, s.encoding);
                AllocationCount count;
                for (auto _ : state) {
                    if (capture::convertToXrgb(s.format, source.data(), source.size(), size.width,
                                               size.height, stride, out, s.encoding) != 0) {
                        state.SkipWithError("convertToXrgb failed");
                        break;
                    }
                    benchmark::DoNotOptimize(out.pixels.data());
                }
                count.report(state);
                rates(state, source.size(), pixels(size));
            });
            compare(name, memcpyName(capture::bytesPerPixel(s.format), size), Per::Byte);
        }
    }
}

void registerDecode() {
    // USB dongles (MS2109 and kin) send 4:2:2 MJPEG at about this quality.
    constexpr int kQuality = 80;
    for (const char *picture : {"desktop", "video"}) {
        const std::string suffix = std::string(picture) + "/" + sizeName(kHd);
        auto jpeg = [picture] {
            const Pictures &p = pictures(kHd);
            return compressed(std::string(picture) == "desktop" ? p.desktop : p.video, kQuality,
                              TJSAMP_422);
        };
        add("ref/tjDecompress2/" + suffix, [jpeg](benchmark::State &state) {
            const std::vector<uint8_t> data = jpeg();
            std::vector<uint8_t> out(frameBytes(kHd));
            tjhandle handle = tjInitDecompress();
            for (auto _ : state) {
                tjDecompress2(handle, data.data(), data.size(), out.data(), kHd.width,
                              kHd.width * 4, kHd.height, TJPF_BGRX, 0);
                benchmark::DoNotOptimize(out.data());
            }
            tjDestroy(handle);
            rates(state, frameBytes(kHd), pixels(kHd));
            state.counters["jpeg_bytes"] = static_cast<double>(data.size());
        });
        add("decode/JpegDecoder/" + suffix, [jpeg](benchmark::State &state) {
            const std::vector<uint8_t> data = jpeg();
            capture::JpegDecoder decoder;
            Frame out;
            decoder.decode(data.data(), data.size(), out);
            AllocationCount count;
            for (auto _ : state) {
                if (decoder.decode(data.data(), data.size(), out) !=
                    capture::JpegDecoder::Result::Ok) {
                    state.SkipWithError("decode failed");
                    break;
                }
                benchmark::DoNotOptimize(out.pixels.data());
            }
            count.report(state);
            rates(state, frameBytes(kHd), pixels(kHd));
        });
        compare("decode/JpegDecoder/" + suffix, "ref/tjDecompress2/" + suffix, Per::Pixel);
    }
}

void registerEncode() {
    // libvncserver's Tight cuts a rectangle wider than 2048 or larger than
    // 65536 pixels (TIGHT_MAX_RECT_WIDTH, TIGHT_MAX_RECT_SIZE) into strips,
    // each its own JPEG: a full 1080p update is 32 JPEGs of 1920x34.
    constexpr int kTightRows = 65536 / 1920;
    // A 64x64 tile with text on it: what one typed character costs.
    constexpr Rect kTile{64, 320, 64, 64};
    for (const char *picture : {"desktop", "video"}) {
        for (const JpegSetting &setting : kJpegSettings) {
            const std::string suffix =
                std::string(setting.name) + "/" + picture + "/" + sizeName(kHd);
            const bool desktop = std::string(picture) == "desktop";
            auto frame = [desktop]() -> const Frame & {
                return desktop ? pictures(kHd).desktop : pictures(kHd).video;
            };
            const std::string full = "ref/tjCompress2_frame/" + suffix;
            add(full, [=](benchmark::State &state) {
                encode(state, frame(), {0, 0, kHd.width, kHd.height}, kHd.height, setting);
            });
            const std::string strips = "encode/tight_strips/" + suffix;
            add(strips, [=](benchmark::State &state) {
                encode(state, frame(), {0, 0, kHd.width, kHd.height}, kTightRows, setting);
            });
            const std::string tile = "encode/tile64/" + suffix;
            add(tile, [=](benchmark::State &state) {
                encode(state, frame(), kTile, kTile.height, setting);
            });
            compare(strips, full, Per::Pixel);
            compare(tile, full, Per::Pixel);
        }
    }
}

bool writePpm(const std::string &path, const Frame &frame) {
    FILE *file = std::fopen(path.c_str(), "wb");
    if (file == nullptr)
        return false;
    std::fprintf(file, "P6\n%d %d\n255\n", frame.width, frame.height);
    std::vector<uint8_t> row(static_cast<size_t>(frame.width) * 3);
    for (int y = 0; y < frame.height; ++y) {
        libyuv::ARGBToRAW(frame.row(y), frame.stride, row.data(), frame.width * 3, frame.width, 1);
        std::fwrite(row.data(), 1, row.size(), file);
    }
    return std::fclose(file) == 0;
}

}  // namespace

}  // namespace kvmvnc::bench

int main(int argc, char **argv) {
    using namespace kvmvnc::bench;
    for (int i = 1; i < argc; ++i) {
        constexpr std::string_view kOption = "--write-ppm=";
        std::string_view arg = argv[i];
        if (arg.substr(0, kOption.size()) != kOption)
            continue;
        const std::string dir(arg.substr(kOption.size()));
        const Pictures &p = pictures(kHd);
        const std::pair<const char *, const Frame *> frames[] = {{"desktop", &p.desktop},
                                                                 {"video", &p.video}};
        for (const auto &[name, frame] : frames) {
            const std::string path = dir + "/" + name + "_" + sizeName(kHd) + ".ppm";
            if (!writePpm(path, *frame)) {
                std::perror(path.c_str());
                return 1;
            }
            std::printf("%s\n", path.c_str());
        }
        return 0;
    }

    registerReferences();
    registerDiff();
    registerConversion();
    registerDecode();
    registerEncode();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
