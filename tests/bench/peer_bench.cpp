// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncd against other VNC servers, on the same screen in the same run:
// one Xvfb display at 1920x1080 that this program draws the workloads onto
// (tests/bench/workload.h, with MIT-SHM, only the rectangles that change,
// as an X application would), served in turn by
//   kvmvncd      [capture] source = x11 (XShmGetImage), tile differ
//   x11vnc       as Debian ships it, defaults
//   x0vncserver  TigerVNC's scraping server (X0tigervnc), defaults
// Each is measured by the same viewer (libvncclient, Tight JPEG at one
// quality, continuous updates where offered) reading the frame numbers out
// of its pixels: frames delivered per second, bytes, latency from the frame
// being on the X server to the viewer holding it, and the server process's
// CPU time (from /proc, all its threads) per delivered frame. The X server's
// own CPU time is reported too: servers that poll the screen more make it
// work harder.
//
//   kvmvnc_peer_bench [--seconds S] [--quality 0-9] [--fps N]
//                     [--workloads static,typing,...] [--servers kvmvncd,x11vnc,x0vncserver]
//                     [--json FILE]
// Servers that are not installed are skipped with a note.
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_report.h"
#include "bench_viewer.h"
#include "daemon_process.h"
#include "free_port.h"
#include "link_proxy.h"
#include "socket_io.h"
#include "subprocess.h"
#include "wait_until.h"
#include "workload.h"
#include "xvfb.h"

namespace kvmvnc::bench {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr Size kScreen{1920, 1080};

// CPU seconds a process has used, all its threads (utime + stime from
// /proc/PID/stat, in clock ticks).
double processCpuSecondsOf(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos)
        return std::nan("");
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14)
            utime = std::stoull(field);
        if (i == 15) {
            stime = std::stoull(field);
            break;
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Draws a workload onto the X display's root window with MIT-SHM, the
// changed rectangles only, and says when each frame is on the X server.
class XPlayer {
public:
    explicit XPlayer(const std::string &display) {
        display_ = XOpenDisplay(display.c_str());
        if (!display_ || !XShmQueryExtension(display_))
            throw std::runtime_error("cannot open " + display + " with MIT-SHM");
        const int screen = DefaultScreen(display_);
        root_ = RootWindow(display_, screen);
        gc_ = DefaultGC(display_, screen);
        image_ = XShmCreateImage(display_, DefaultVisual(display_, screen), 24, ZPixmap, nullptr,
                                 &shm_, kScreen.width, kScreen.height);
        if (!image_ || image_->bits_per_pixel != 32)
            throw std::runtime_error("the X screen is not 32 bits per pixel");
        shm_.shmid =
            shmget(IPC_PRIVATE, static_cast<size_t>(image_->bytes_per_line) * kScreen.height,
                   IPC_CREAT | 0600);
        shm_.shmaddr = image_->data = static_cast<char *>(shmat(shm_.shmid, nullptr, 0));
        shm_.readOnly = False;
        XShmAttach(display_, &shm_);
        XSync(display_, False);
        shmctl(shm_.shmid, IPC_RMID, nullptr);  // gone once both sides detach
    }
    ~XPlayer() {
        XShmDetach(display_, &shm_);
        XDestroyImage(image_);
        shmdt(shm_.shmaddr);
        XCloseDisplay(display_);
    }

    // Puts `frame`'s rectangles `dirty` on the screen and waits until the X
    // server has drawn them.
    void show(const capture::Frame &frame, const std::vector<Rect> &dirty) {
        for (const Rect &r : dirty) {
            for (int y = r.y; y < r.bottom(); ++y)
                std::memcpy(
                    image_->data + static_cast<size_t>(y) * image_->bytes_per_line + r.x * 4,
                    frame.row(y) + r.x * 4, static_cast<size_t>(r.width) * 4);
            XShmPutImage(display_, root_, gc_, image_, r.x, r.y, r.x, r.y,
                         static_cast<unsigned>(r.width), static_cast<unsigned>(r.height), False);
        }
        XSync(display_, False);
    }

private:
    Display *display_ = nullptr;
    Window root_{};
    GC gc_{};
    XImage *image_ = nullptr;
    XShmSegmentInfo shm_{};
};

// One VNC server serving the display, started and stopped by the bench.
class Server {
public:
    virtual ~Server() = default;
    virtual int port() const = 0;
    virtual pid_t pid() const = 0;
};

class KvmvncServer : public Server {
public:
    explicit KvmvncServer(const std::string &display, int fps)
        : daemon_("[capture]\nsource = x11\ndisplay = " + display +
                  "\nfps = " + std::to_string(fps) +
                  "\n[hid]\nkeyboard = /nonexistent/hidg0\nmouse = /nonexistent/hidg1\n"
                  "relative_mouse = /nonexistent/hidg2\n[atx]\ntarget = none\n"
                  "[msd]\ntarget = none\n") {
        if (!daemon_.start(std::chrono::seconds{15}))
            throw std::runtime_error("kvmvncd did not start:\n" + daemon_.log());
    }
    int port() const override { return daemon_.port(); }
    pid_t pid() const override { return daemon_.pid(); }

private:
    testing::DaemonProcess daemon_;
};

// A server we did not write, started from PATH; ready once it accepts.
class ExternalServer : public Server {
public:
    explicit ExternalServer(const std::vector<std::string> &argv, int port) : port_(port) {
        if (!process_.start(argv, {}, "/tmp/kvmvnc-peer-bench-" + argv[0] + ".log"))
            throw std::runtime_error("cannot start " + argv[0]);
        bool exited = false;
        const bool accepts = testing::waitUntil(
            [&] {
                exited = !process_.isRunning();
                return exited || testing::connectLoopback(port).isValid();
            },
            std::chrono::seconds{15}, milliseconds{50});
        if (!accepts || exited)
            throw std::runtime_error(argv[0] + " does not accept connections");
    }
    int port() const override { return port_; }
    pid_t pid() const override { return process_.pid(); }

private:
    int port_;
    testing::Subprocess process_;
};

std::unique_ptr<Server> startServer(const std::string &name, const std::string &display, int fps) {
    if (name == "kvmvncd")
        return std::make_unique<KvmvncServer>(display, fps);
    const int port = testing::freePort();
    if (name == "x11vnc")
        return std::make_unique<ExternalServer>(
            std::vector<std::string>{"x11vnc", "-display", display, "-rfbport",
                                     std::to_string(port), "-localhost", "-nopw", "-forever",
                                     "-shared", "-quiet"},
            port);
    if (name == "x0vncserver")
        return std::make_unique<ExternalServer>(
            std::vector<std::string>{"X0tigervnc", "-display", display, "-rfbport",
                                     std::to_string(port), "-localhost=1", "-SecurityTypes=None"},
            port);
    throw std::runtime_error("unknown server " + name);
}

std::string programOf(const std::string &server) {
    if (server == "kvmvncd")
        return testing::daemonBinary();
    return server == "x0vncserver" ? "X0tigervnc" : server;
}

struct Settings {
    double seconds = 4.0;
    int quality = 6;
    int fps = 60;
    std::vector<WorkloadKind> workloads{std::begin(kAllWorkloads), std::end(kAllWorkloads)};
    std::vector<std::string> servers{"kvmvncd", "x11vnc", "x0vncserver"};
    const char *jsonPath = nullptr;
};

struct Outcome {
    std::string server;
    WorkloadKind workload;
    uint32_t framesOffered = 0;
    uint64_t framesDelivered = 0;
    uint64_t bytes = 0;
    double seconds = 0.0;  // frames were offered this long
    double elapsed = 0.0;  // the measurement, with the frames in flight at the end
    double serverCpu = 0.0;
    double xCpu = 0.0;
    bool continuous = false;
    std::vector<double> latencyMs;
};

Outcome measure(const std::string &name, Server &server, pid_t xPid, XPlayer &player,
                WorkloadKind kind, const Settings &settings) {
    Outcome outcome;
    outcome.server = name;
    outcome.workload = kind;
    const Workload workload(kind, kScreen);
    capture::Frame frame = workload.firstFrame();
    player.show(frame, {{0, 0, kScreen.width, kScreen.height}});

    FrameTimes times(static_cast<size_t>((settings.seconds + 5) * settings.fps) + 16);
    LinkProxy link(server.port(), milliseconds{0});
    ViewerThread::Options options;
    options.port = link.port();
    options.quality = settings.quality;
    options.continuousUpdates = true;
    options.counted = kind != WorkloadKind::Static;
    ViewerThread viewer(options, times);
    if (!viewer.waitReady(std::chrono::seconds{30}))
        throw std::runtime_error(name + ": the viewer got no picture");
    std::this_thread::sleep_for(milliseconds{700});  // the first picture settles everywhere

    const uint64_t bytesBefore = link.serverBytes();
    const double serverBefore = processCpuSecondsOf(server.pid());
    const double xBefore = processCpuSecondsOf(xPid);
    viewer.startMeasuring();
    const Clock::time_point start = Clock::now();
    const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(settings.seconds));
    const auto period = std::chrono::nanoseconds{1000000000 / settings.fps};
    std::vector<Rect> dirty;
    Clock::time_point next = start;
    for (uint32_t n = 1; n + 1 < times.capacity() && Clock::now() < end; ++n) {
        std::this_thread::sleep_until(next);
        next += period;
        dirty.clear();
        workload.advance(frame, n, dirty);
        if (!dirty.empty())
            player.show(frame, dirty);
        times.mark(n);  // on the X server from here
        outcome.framesOffered = n;
    }
    std::this_thread::sleep_for(milliseconds{400});  // frames in flight arrive
    viewer.stopMeasuring();
    outcome.serverCpu = processCpuSecondsOf(server.pid()) - serverBefore;
    outcome.xCpu = processCpuSecondsOf(xPid) - xBefore;
    outcome.seconds = settings.seconds;
    outcome.elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    outcome.bytes = link.serverBytes() - bytesBefore;
    outcome.framesDelivered = viewer.delivered;
    outcome.continuous = viewer.continuousOn;
    outcome.latencyMs = viewer.latencyMs;
    return outcome;
}

Settings parse(int argc, char **argv) {
    Settings s;
    auto split = [](const std::string &list) {
        std::vector<std::string> items;
        for (size_t at = 0; at <= list.size();) {
            const size_t comma = std::min(list.find(',', at), list.size());
            items.push_back(list.substr(at, comma - at));
            at = comma + 1;
        }
        return items;
    };
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const std::string value = argv[i + 1];
        if (key == "--seconds") {
            s.seconds = std::atof(value.c_str());
        } else if (key == "--quality") {
            s.quality = std::clamp(std::atoi(value.c_str()), 0, 9);
        } else if (key == "--fps") {
            s.fps = std::clamp(std::atoi(value.c_str()), 1, 240);
        } else if (key == "--json") {
            s.jsonPath = argv[i + 1];
        } else if (key == "--servers") {
            s.servers = split(value);
        } else if (key == "--workloads") {
            s.workloads.clear();
            for (const std::string &name : split(value)) {
                const auto kind = parseWorkload(name);
                if (!kind) {
                    std::fprintf(stderr, "unknown workload %s\n", name.c_str());
                    std::exit(2);
                }
                s.workloads.push_back(*kind);
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
    if (!testing::haveProgram("Xvfb")) {
        std::printf("skipped: Xvfb is not installed\n");
        return 0;
    }
    testing::Xvfb x(kScreen);
    if (!x.start())
        throw std::runtime_error("Xvfb did not start");
    XPlayer player(x.display());

    std::printf("kvmvncd and its peers on one Xvfb 1920x1080, on %s\n",
                machineDescription().c_str());
    std::printf(
        "%d fps offered for %.1f s per row; Tight JPEG quality level %d; continuous "
        "updates where the server offers them\n\n",
        settings.fps, settings.seconds, settings.quality);
    std::printf("%-12s %-11s %3s %7s %7s %9s %9s %8s %8s %8s %9s %7s\n", "server", "workload", "cu",
                "offered", "fps", "MB/s", "KB/frame", "lat p50", "lat p99", "CPU %", "ms/frame",
                "X CPU %");
    std::vector<Outcome> outcomes;
    std::vector<std::string> notes;
    for (const std::string &name : settings.servers) {
        const std::string program = programOf(name);
        if (program.find('/') == std::string::npos ? !testing::haveProgram(program)
                                                   : ::access(program.c_str(), X_OK) != 0) {
            notes.push_back(name + ": not installed, skipped");
            std::printf("%-12s not installed, skipped\n", name.c_str());
            continue;
        }
        try {
            std::unique_ptr<Server> server = startServer(name, x.display(), settings.fps);
            for (WorkloadKind kind : settings.workloads) {
                outcomes.push_back(measure(name, *server, x.pid(), player, kind, settings));
                const Outcome &o = outcomes.back();
                const double fps = static_cast<double>(o.framesDelivered) / o.seconds;
                std::printf(
                    "%-12s %-11s %3s %7.1f %7.1f %9.2f %9.1f %8.1f %8.1f %8.1f %9.2f %7.1f\n",
                    name.c_str(), workloadName(kind), o.continuous ? "on" : "off",
                    o.framesOffered / o.seconds, fps,
                    static_cast<double>(o.bytes) / o.seconds / 1e6,
                    o.framesDelivered ? static_cast<double>(o.bytes) / o.framesDelivered / 1e3
                                      : std::nan(""),
                    quantile(o.latencyMs, 0.5), quantile(o.latencyMs, 0.99),
                    100.0 * o.serverCpu / o.elapsed,
                    o.framesDelivered ? 1e3 * o.serverCpu / static_cast<double>(o.framesDelivered)
                                      : std::nan(""),
                    100.0 * o.xCpu / o.elapsed);
                std::fflush(stdout);
            }
        } catch (const std::exception &e) {
            notes.push_back(name + ": " + e.what());
            std::printf("%-12s failed: %s\n", name.c_str(), e.what());
        }
    }

    // Ratios: CPU per delivered frame and bytes per delivered frame, peer /
    // kvmvncd, per workload (> 1: kvmvncd ahead).
    std::vector<std::string> ratioJson;
    std::printf("\nRatios (peer / kvmvncd; > 1: kvmvncd ahead)\n");
    auto findOutcome = [&](const std::string &server, WorkloadKind kind) -> const Outcome * {
        for (const Outcome &o : outcomes)
            if (o.server == server && o.workload == kind)
                return &o;
        return nullptr;
    };
    for (WorkloadKind kind : settings.workloads) {
        const Outcome *ours = findOutcome("kvmvncd", kind);
        if (!ours)
            continue;
        for (const std::string &peer : settings.servers) {
            const Outcome *theirs = peer == "kvmvncd" ? nullptr : findOutcome(peer, kind);
            if (!theirs)
                continue;
            auto perFrame = [](double value, const Outcome &o) {
                return o.framesDelivered ? value / static_cast<double>(o.framesDelivered)
                                         : std::nan("");
            };
            const double cpu =
                perFrame(theirs->serverCpu, *theirs) / perFrame(ours->serverCpu, *ours);
            const double cpuTotal =
                ours->serverCpu > 0 ? theirs->serverCpu / ours->serverCpu : std::nan("");
            const double bytes = perFrame(static_cast<double>(theirs->bytes), *theirs) /
                                 perFrame(static_cast<double>(ours->bytes), *ours);
            const double fps = static_cast<double>(ours->framesDelivered) /
                               std::max<double>(1.0, static_cast<double>(theirs->framesDelivered));
            std::printf(
                "  %-11s vs %-12s CPU/frame x%.1f, CPU x%.1f, bytes/frame x%.1f, frames "
                "delivered x%.1f\n",
                workloadName(kind), peer.c_str(), cpu, cpuTotal, bytes, fps);
            ratioJson.push_back(JsonObject()
                                    .add("workload", workloadName(kind))
                                    .add("peer", peer)
                                    .add("cpu_per_frame", cpu)
                                    .add("cpu", cpuTotal)
                                    .add("bytes_per_frame", bytes)
                                    .add("frames_delivered", fps)
                                    .str());
        }
    }

    if (settings.jsonPath) {
        std::vector<std::string> runs;
        for (const Outcome &o : outcomes)
            runs.push_back(
                JsonObject()
                    .add("server", o.server)
                    .add("workload", workloadName(o.workload))
                    .add("continuous_updates", o.continuous)
                    .add("seconds", o.seconds)
                    .add("frames_offered", static_cast<double>(o.framesOffered))
                    .add("frames_delivered", static_cast<double>(o.framesDelivered))
                    .add("delivered_fps", static_cast<double>(o.framesDelivered) / o.seconds)
                    .add("bytes", static_cast<double>(o.bytes))
                    .add("latency_ms_median", quantile(o.latencyMs, 0.5))
                    .add("latency_ms_p99", quantile(o.latencyMs, 0.99))
                    .add("server_cpu_s", o.serverCpu)
                    .add("x_server_cpu_s", o.xCpu)
                    .str());
        std::vector<std::string> noteJson;
        for (const std::string &note : notes)
            noteJson.push_back(JsonObject().add("note", note).str());
        const std::string json =
            benchmarkHeader("peers", settings.fps, settings.seconds, settings.quality)
                .raw("runs", jsonArray(runs))
                .raw("ratios", jsonArray(ratioJson))
                .raw("notes", jsonArray(noteJson))
                .str();
        if (!writeJsonFile(settings.jsonPath, json))
            return 1;
    }
    return 0;
}

}  // namespace kvmvnc::bench

int main(int argc, char **argv) {
    try {
        return kvmvnc::bench::run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "kvmvnc_peer_bench: %s\n", e.what());
        return 1;
    }
}
