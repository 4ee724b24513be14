// SPDX-License-Identifier: GPL-2.0-or-later
// How long a keystroke takes through kvmvnc: from an RFB KeyEvent leaving a
// viewer to the USB HID report coming out of the keyboard device, here a
// FIFO read by a thread of its own. One event at a time (no queueing), N
// events. The baseline, measured in the same run, is the FIFO alone: the
// viewer's thread writing an 8-byte report straight into it. The difference
// is what kvmvnc adds: TCP loopback, libvncserver's parsing, the keysym
// lookup and the report.
//
//   kvmvnc_input_latency_bench [--events N] [--json FILE]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/input/gadget_hid.h"
#include "kvmvnc/input/input_router.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "loopback_door.h"
#include "raw_rfb_connection.h"

namespace kvmvnc::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Hands RFB key events to the router, as the daemon's adapter does.
class Adapter final : public rfb::RfbInputHandler {
public:
    explicit Adapter(input::InputRouter &router) : router_(router) {}
    void keysymEvent(uint64_t viewer, bool down, uint32_t keysym) override {
        router_.keysymEvent(viewer, down, keysym);
    }
    void scancodeEvent(uint64_t viewer, bool down, uint32_t code, uint32_t) override {
        router_.scancodeEvent(viewer, down, code);
    }
    void pointerEvent(uint64_t, uint8_t, int, int, Size) override {}
    void viewerLeft(uint64_t viewer) override { router_.viewerLeft(viewer); }

private:
    input::InputRouter &router_;
};

// Reads 8-byte reports from the FIFO and stamps when each arrived.
class ReportReader {
public:
    explicit ReportReader(const std::string &fifo) {
        fd_ = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        thread_ = std::thread([this] { run(); });
    }
    ~ReportReader() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    uint64_t count() const { return count_.load(std::memory_order_acquire); }
    Clock::time_point last() const { return Clock::time_point(Clock::duration(last_.load())); }

private:
    void run() {
        uint8_t report[8];
        size_t have = 0;
        while (!stop_) {
            ssize_t n = ::read(fd_, report + have, sizeof(report) - have);
            if (n <= 0) {
                std::this_thread::yield();
                continue;
            }
            have += static_cast<size_t>(n);
            if (have == sizeof(report)) {
                have = 0;
                last_.store(Clock::now().time_since_epoch().count());
                count_.fetch_add(1, std::memory_order_release);
            }
        }
    }
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> count_{0};
    std::atomic<Clock::rep> last_{0};
    std::thread thread_;
};

struct Summary {
    double median = 0, p99 = 0, max = 0;
};

Summary summarize(std::vector<double> micros) {
    std::sort(micros.begin(), micros.end());
    auto at = [&](double q) { return micros[static_cast<size_t>(q * (micros.size() - 1))]; };
    return {at(0.5), at(0.99), micros.back()};
}

// Sends `send()` and waits for the reader's next report; microseconds each.
template <typename Send>
std::vector<double> measure(ReportReader &reader, int events, Send send) {
    std::vector<double> micros;
    micros.reserve(events);
    for (int i = 0; i < events; ++i) {
        const uint64_t before = reader.count();
        const Clock::time_point sent = Clock::now();
        send(i);
        const Clock::time_point deadline = sent + std::chrono::seconds{2};
        while (reader.count() == before && Clock::now() < deadline) {
        }
        if (reader.count() == before) {
            std::fprintf(stderr, "no report for event %d\n", i);
            std::exit(1);
        }
        micros.push_back(std::chrono::duration<double, std::micro>(reader.last() - sent).count());
    }
    return micros;
}

}  // namespace

int run(int argc, char **argv) {
    int events = 10000;
    const char *jsonPath = nullptr;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--events") == 0)
            events = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--json") == 0)
            jsonPath = argv[i + 1];
    }
    events += events % 2;  // press and release pairs
    log::setLevel(log::Level::Warning);

    char templ[] = "/tmp/kvmvnc-latency-XXXXXX";
    if (!::mkdtemp(templ))
        return 1;
    const std::string dir = templ;
    const std::string fifo = dir + "/kbd";
    ::mkfifo(fifo.c_str(), 0600);
    ReportReader reader(fifo);

    // Baseline: the FIFO hop alone.
    int direct = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    const uint8_t report[8] = {};
    std::vector<double> baseline = measure(reader, events, [&](int) {
        if (::write(direct, report, sizeof(report)) != 8)
            std::exit(1);
    });
    ::close(direct);

    // Through kvmvnc.
    input::GadgetHid hid(fifo, "/dev/null");
    auto layout = std::make_shared<const input::KeysymMap>(
        input::KeysymMap::forLayout("us", {KVMVNC_KEYMAPS_BUILD_DIR}));
    input::InputRouter router(layout, hid);
    Adapter adapter(router);
    rfb::RfbServerOptions options;
    options.initialSize = {640, 480};
    options.input = &adapter;
    rfb::RfbServer server(options);
    // The viewer comes in through the front door and its relay, as in kvmvncd.
    const auto door = testing::loopbackDoor(server);
    testing::RawRfbConnection viewer;
    if (!viewer.connect(door->port()) || !viewer.handshake()) {
        std::fprintf(stderr, "cannot connect\n");
        return 1;
    }
    std::vector<double> rfbPath = measure(reader, events, [&](int i) {
        const uint8_t down = i % 2 == 0 ? 1 : 0;
        if (!viewer.send({4, down, 0, 0, 0, 0, 0, 'a'}))
            std::exit(1);
    });

    const Summary base = summarize(baseline);
    const Summary ours = summarize(rfbPath);
    std::printf("%d key events, one at a time, 'a' pressed and released\n\n", events);
    std::printf("%-36s %10s %10s %10s\n", "path", "median us", "p99 us", "max us");
    std::printf("%-36s %10.1f %10.1f %10.1f\n", "FIFO alone (baseline)", base.median, base.p99,
                base.max);
    std::printf("%-36s %10.1f %10.1f %10.1f\n", "RFB KeyEvent -> HID report (kvmvnc)", ours.median,
                ours.p99, ours.max);
    std::printf("%-36s %10.1f %10.1f\n", "added by kvmvnc and TCP loopback",
                ours.median - base.median, ours.p99 - base.p99);
    char json[300];
    std::snprintf(json, sizeof(json),
                  "{\"events\":%d,\"baseline_us\":{\"median\":%.1f,\"p99\":%.1f},"
                  "\"rfb_to_hid_us\":{\"median\":%.1f,\"p99\":%.1f,\"max\":%.1f}}",
                  events, base.median, base.p99, ours.median, ours.p99, ours.max);
    std::printf("\n%s\n", json);
    if (jsonPath) {
        if (FILE *file = std::fopen(jsonPath, "w")) {
            std::fprintf(file, "%s\n", json);
            std::fclose(file);
        }
    }
    std::filesystem::remove_all(dir);
    return 0;
}

}  // namespace kvmvnc::bench

int main(int argc, char **argv) { return kvmvnc::bench::run(argc, argv); }
