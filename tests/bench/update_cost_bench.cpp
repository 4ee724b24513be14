// SPDX-License-Identifier: GPL-2.0-or-later
// What an update costs the server, in CPU and bytes on the wire, at
// 1920x1080: a static screen, a small change (one character typed per
// frame) and a full-screen change, through kvmvnc's tile differ and through
// the whole-frame approach of PiKVM's and OpenBMC's VNC servers (every
// changed frame marked modified in full), measured in the same run.
//
// One process: RfbServer, a scripted source on a feeder thread, and a
// libvncclient viewer (Tight JPEG) behind a byte-counting TCP proxy. Server
// CPU is the process's CPU time minus the viewer's, the proxy's and the time
// spent generating frames.
//
//   kvmvnc_update_cost_bench [--seconds S] [--quality Q] [--json FILE]
#include <arpa/inet.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/base/log.h"
#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/capture/frame.h"
#include "kvmvnc/diff/tile_differ.h"
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/gfx/canvas.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "kvmvnc/target/virtual_screen.h"
#include "test_viewer.h"
#include "virtual_target_picture.h"

namespace kvmvnc::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr Size kSize{1920, 1080};
constexpr int kFps = 30;

double threadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double processCpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval &tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int listenLoopback(int &port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length);
    ::listen(fd, 1);
    port = ntohs(address.sin_port);
    return fd;
}

// Forwards one connection to the server and counts what the server sends.
class CountingProxy {
public:
    explicit CountingProxy(int serverPort) : serverPort_(serverPort) {
        listen_.reset(listenLoopback(port_));
        thread_ = std::thread([this] { run(); });
    }
    ~CountingProxy() {
        stop_ = true;
        thread_.join();
    }
    int port() const { return port_; }
    uint64_t serverBytes() const { return serverBytes_.load(); }
    double cpuSeconds() const { return cpu_.load(); }

private:
    void run() {
        const double start = threadCpuSeconds();
        UniqueFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        UniqueFd server(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(serverPort_));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(server.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address));
        std::vector<char> buffer(1 << 20);
        while (!stop_) {
            pollfd fds[2] = {{client.get(), POLLIN, 0}, {server.get(), POLLIN, 0}};
            if (::poll(fds, 2, 50) <= 0)
                continue;
            for (int i = 0; i < 2; ++i) {
                if (!(fds[i].revents & (POLLIN | POLLHUP)))
                    continue;
                ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
                if (n <= 0) {
                    stop_ = true;
                    break;
                }
                int to = i == 0 ? server.get() : client.get();
                for (ssize_t sent = 0; sent < n;) {
                    ssize_t w = ::write(to, buffer.data() + sent, static_cast<size_t>(n - sent));
                    if (w <= 0)
                        break;
                    sent += w;
                }
                if (i == 1)
                    serverBytes_ += static_cast<uint64_t>(n);
            }
            cpu_ = threadCpuSeconds() - start;
        }
        cpu_ = threadCpuSeconds() - start;
    }

    int serverPort_;
    int port_ = 0;
    UniqueFd listen_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> serverBytes_{0};
    std::atomic<double> cpu_{0.0};
    std::thread thread_;
};

enum class Workload { Static, Typing, FullScreen };
enum class Method { TileDiff, WholeFrame };

const char *workloadName(Workload w) {
    switch (w) {
    case Workload::Static:
        return "static screen";
    case Workload::Typing:
        return "small change (typing)";
    case Workload::FullScreen:
        return "full-screen change";
    }
    return "";
}

// Draws frame `n` of a workload into `frame`, starting from the still desktop.
void renderWorkload(Workload workload, int n, const capture::Frame &desktop,
                    capture::Frame &frame) {
    frame.pixels = desktop.pixels;  // same capacity: no allocation after the first frame
    if (workload == Workload::Typing) {
        // One more character in the terminal each frame, as typing does.
        const int column = n % 60;
        const int row = n / 60 % 6;
        gfx::Canvas canvas(frame.pixels.data(), frame.width, frame.height, frame.stride);
        std::string typed(static_cast<size_t>(column + 1), 'x');
        canvas.drawText(56, 364 + row * 36, typed, gfx::rgb(0xc8, 0xd0, 0xc8), 2);
    } else if (workload == Workload::FullScreen) {
        // Every pixel changes: the picture scrolls sideways by 8 pixels a frame.
        const int shift = (n * 8) % frame.width * 4;
        for (int y = 0; y < frame.height; ++y) {
            const uint8_t *src = desktop.row(y);
            uint8_t *dst = frame.row(y);
            std::memcpy(dst, src + shift, static_cast<size_t>(frame.stride - shift));
            std::memcpy(dst + frame.stride - shift, src, static_cast<size_t>(shift));
        }
    }
}

struct Result {
    Workload workload;
    Method method;
    int frames = 0;
    uint64_t updates = 0;
    uint64_t bytes = 0;
    double serverCpu = 0.0;
    double seconds = 0.0;
};

Result measure(Workload workload, Method method, double seconds, int quality) {
    rfb::RfbServerOptions options;
    options.initialSize = kSize;
    rfb::RfbServer server(options);
    // Viewers come in through the front door, as in kvmvncd.
    door::FrontDoorOptions doorOptions;
    doorOptions.listen = "127.0.0.1";
    doorOptions.port = 0;
    doorOptions.handoff = [&server](UniqueFd fd, const rfb::ViewerIdentity &viewer) {
        return server.adopt(std::move(fd), viewer);
    };
    door::FrontDoor door(std::move(doorOptions));

    capture::Frame desktop;
    desktop.allocate(kSize.width, kSize.height);
    desktop.pixels = testing::stillPicture(target::MachinePhase::Desktop, kSize);

    CountingProxy proxy(door.port());
    testing::ViewerOptions viewerOptions;
    viewerOptions.port = proxy.port();
    viewerOptions.encodings = "tight copyrect";
    viewerOptions.qualityLevel = quality;
    testing::TestViewer viewer(viewerOptions);

    // Show the first picture, then let the viewer settle before measuring.
    std::memcpy(server.framebuffer(), desktop.pixels.data(), desktop.pixels.size());
    server.markModified({{0, 0, kSize.width, kSize.height}});
    if (!viewer.connect() ||
        !viewer.pumpUntil([&] { return viewer.updates() > 0; }, std::chrono::seconds{10})) {
        std::fprintf(stderr, "viewer did not connect\n");
        std::exit(1);
    }
    viewer.pump(std::chrono::milliseconds{300});
    viewer.resetCounters();

    Result result{workload, method};
    std::atomic<bool> feeding{true};
    std::atomic<double> generationCpu{0.0};
    std::atomic<double> feederCpu{0.0};
    const uint64_t bytesBefore = proxy.serverBytes();
    const double processBefore = processCpuSeconds();
    const Clock::time_point start = Clock::now();

    std::thread feeder([&] {
        const double cpuStart = threadCpuSeconds();
        diff::TileDiffer differ;
        std::vector<Rect> changed;
        capture::Frame frame = desktop;
        double generating = 0.0;
        Clock::time_point next = Clock::now();
        for (int n = 1; feeding; ++n) {
            std::this_thread::sleep_until(next);
            next += std::chrono::microseconds{1000000 / kFps};
            const double before = threadCpuSeconds();
            renderWorkload(workload, n, desktop, frame);
            generating += threadCpuSeconds() - before;
            changed.clear();
            if (method == Method::TileDiff) {
                if (differ.update(frame, server.framebuffer(), server.stride(), changed) > 0)
                    server.markModified(changed);
            } else if (std::memcmp(frame.pixels.data(), server.framebuffer(),
                                   frame.pixels.size()) != 0) {
                std::memcpy(server.framebuffer(), frame.pixels.data(), frame.pixels.size());
                server.markModified({{0, 0, kSize.width, kSize.height}});
            }
            ++result.frames;
        }
        generationCpu = generating;
        feederCpu = threadCpuSeconds() - cpuStart;
    });

    const double viewerCpuStart = threadCpuSeconds();
    viewer.pump(std::chrono::milliseconds{static_cast<int>(seconds * 1000)});
    feeding = false;
    feeder.join();
    // Let the last frame's update arrive before counting.
    viewer.pump(std::chrono::milliseconds{200});
    const double viewerCpu = threadCpuSeconds() - viewerCpuStart;

    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.updates = viewer.updates();
    result.bytes = proxy.serverBytes() - bytesBefore;
    result.serverCpu =
        processCpuSeconds() - processBefore - viewerCpu - proxy.cpuSeconds() - generationCpu;
    (void)feederCpu;
    return result;
}

}  // namespace

int run(int argc, char **argv) {
    double seconds = 3.0;
    int quality = 8;
    const char *jsonPath = nullptr;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--seconds") == 0)
            seconds = std::atof(argv[i + 1]);
        else if (std::strcmp(argv[i], "--quality") == 0)
            quality = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--json") == 0)
            jsonPath = argv[i + 1];
    }
    log::setLevel(log::Level::Warning);

    std::vector<Result> results;
    for (Workload workload : {Workload::Static, Workload::Typing, Workload::FullScreen})
        for (Method method : {Method::TileDiff, Method::WholeFrame})
            results.push_back(measure(workload, method, seconds, quality));

    std::printf("1920x1080, %d fps offered for %.1f s per row, Tight JPEG quality level %d\n\n",
                kFps, seconds, quality);
    std::printf("%-24s %-12s %8s %12s %14s %14s %10s\n", "workload", "method", "updates", "bytes/s",
                "bytes/update", "CPU ms/frame", "CPU %core");
    std::string json = "[";
    for (const Result &r : results) {
        const double bytesPerSecond = r.bytes / r.seconds;
        const double bytesPerUpdate = r.updates ? double(r.bytes) / r.updates : 0.0;
        const double cpuPerFrame = r.frames ? r.serverCpu * 1000.0 / r.frames : 0.0;
        const double cpuShare = 100.0 * r.serverCpu / r.seconds;
        const char *method = r.method == Method::TileDiff ? "tile diff" : "whole frame";
        std::printf("%-24s %-12s %8llu %12.0f %14.0f %14.3f %9.1f%%\n", workloadName(r.workload),
                    method, static_cast<unsigned long long>(r.updates), bytesPerSecond,
                    bytesPerUpdate, cpuPerFrame, cpuShare);
        char entry[400];
        std::snprintf(entry, sizeof(entry),
                      "%s{\"workload\":\"%s\",\"method\":\"%s\",\"frames\":%d,\"updates\":%llu,"
                      "\"bytes\":%llu,\"seconds\":%.3f,\"server_cpu_s\":%.4f}",
                      json.size() > 1 ? "," : "", workloadName(r.workload), method, r.frames,
                      static_cast<unsigned long long>(r.updates),
                      static_cast<unsigned long long>(r.bytes), r.seconds, r.serverCpu);
        json += entry;
    }
    json += "]";
    std::printf("\nRatios, whole frame / tile diff:\n");
    for (size_t i = 0; i + 1 < results.size(); i += 2) {
        const Result &ours = results[i];
        const Result &base = results[i + 1];
        auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
        std::printf("  %-24s bytes x%.1f, server CPU x%.1f\n", workloadName(ours.workload),
                    ratio(double(base.bytes), double(ours.bytes)),
                    ratio(base.serverCpu, ours.serverCpu));
    }
    if (jsonPath) {
        FILE *file = std::fopen(jsonPath, "w");
        if (file) {
            std::fprintf(file, "%s\n", json.c_str());
            std::fclose(file);
        }
    }
    std::printf("\n%s\n", json.c_str());
    return 0;
}

}  // namespace kvmvnc::bench

int main(int argc, char **argv) { return kvmvnc::bench::run(argc, argv); }
