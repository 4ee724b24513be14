// SPDX-License-Identifier: GPL-2.0-or-later
// Connections that never say a word, from several addresses, each opened
// again as soon as kvmvncd closes it: more than the front door's handshake
// slots (32 in all, 8 per address). Meanwhile a real viewer from another
// address tries to log in: how long it takes. Afterwards the door must be
// as it was.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "scenarios.h"
#include "soak_daemon.h"
#include "test_viewer.h"

namespace kvmvnc::soak {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The silent connections, on a thread of their own. A connection the
// server closes is opened again, at most every 100 ms per slot, so that a
// door that closes at once is asked again and again without this thread
// spinning.
class Flood {
public:
    Flood(int port, int addresses, int perAddress) : port_(port) {
        for (int a = 0; a < addresses; ++a)
            for (int i = 0; i < perAddress; ++i)
                slots_.emplace_back().source = "127.0.0." + std::to_string(2 + a);
        thread_ = std::thread([this] { run(); });
    }
    ~Flood() {
        stop_ = true;
        thread_.join();
    }
    uint64_t opened() const { return opened_.load(); }
    uint64_t closedByServer() const { return closed_.load(); }
    int openNow() const { return openNow_.load(); }

private:
    struct Slot {
        std::string source;
        UniqueFd fd;
        bool connecting = false;
        Clock::time_point openedAt{};
    };

    void run() {
        std::vector<pollfd> fds;
        std::vector<Slot *> polled;
        char junk[256];
        while (!stop_.load()) {
            const Clock::time_point now = Clock::now();
            fds.clear();
            polled.clear();
            int open = 0;
            for (Slot &slot : slots_) {
                if (!slot.fd.isValid() && now - slot.openedAt >= 100ms) {
                    slot.fd = testing::startConnection(slot.source, port_);
                    slot.connecting = true;
                    slot.openedAt = now;
                    opened_.fetch_add(slot.fd.isValid());
                }
                if (!slot.fd.isValid())
                    continue;
                open += !slot.connecting;
                fds.push_back(
                    {slot.fd.get(), static_cast<short>(slot.connecting ? POLLOUT : POLLIN), 0});
                polled.push_back(&slot);
            }
            openNow_ = open;
            if (::poll(fds.data(), fds.size(), 20) <= 0)
                continue;
            for (size_t i = 0; i < fds.size(); ++i) {
                Slot &slot = *polled[i];
                if (!fds[i].revents)
                    continue;
                if (slot.connecting) {
                    int error = 0;
                    socklen_t length = sizeof(error);
                    ::getsockopt(slot.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
                    if (error != 0)
                        slot.fd.reset();
                    slot.connecting = false;
                    continue;
                }
                // The server's version, which goes unanswered, or the close.
                const ssize_t n = ::recv(slot.fd.get(), junk, sizeof(junk), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    slot.fd.reset();
                    closed_.fetch_add(1);
                }
            }
        }
    }

    const int port_;
    std::vector<Slot> slots_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> opened_{0};
    std::atomic<uint64_t> closed_{0};
    std::atomic<int> openNow_{0};
    std::thread thread_;
};

bool logIn(const SoakDaemon &daemon) {
    testing::TestViewer viewer(daemon.viewerOptions(false));
    return viewer.connect() && viewer.pumpUntil([&] { return viewer.updates() > 0; }, 30s);
}

}  // namespace

ScenarioReport runFlood(const Settings &settings) {
    ScenarioReport report(
        "flood",
        format("%d x %d silent connections from 127.0.0.2-%d, reopened when closed, "
               "while a viewer logs in from 127.0.0.1; handshake timeout %.0f s",
               settings.floodAddresses, settings.floodPerAddress, 1 + settings.floodAddresses,
               static_cast<double>(settings.handshakeTimeout.count())));
    DaemonOptions options;
    options.name = "flood";
    options.handshakeTimeout = settings.handshakeTimeout;
    SoakDaemon daemon(settings, options);
    if (!daemon.start(report))
        return report;
    logIn(daemon);  // what the first login makes stays
    std::this_thread::sleep_for(1s);
    const ProcessSample before = daemon.sample();
    const size_t mark = daemon.logMark();

    ProcessSample peak = before;
    double loginSeconds = -1;
    int attempts = 0;
    double floodSeconds = 0;
    uint64_t opened = 0, closed = 0;
    std::vector<double> openAtOnce;
    {
        Flood flood(daemon.port(), settings.floodAddresses, settings.floodPerAddress);
        const Clock::time_point floodStart = Clock::now();
        std::this_thread::sleep_for(1s);  // the slots are taken
        const Clock::time_point start = Clock::now();
        const Clock::time_point deadline =
            start + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(settings.floodLoginSeconds));
        // The viewer retries like a person would, a few times a second.
        while (Clock::now() < deadline) {
            ++attempts;
            const bool in = logIn(daemon);
            const ProcessSample now = daemon.sample();
            peak.threads = std::max(peak.threads, now.threads);
            peak.fds = std::max(peak.fds, now.fds);
            peak.rssMiB = std::max(peak.rssMiB, now.rssMiB);
            openAtOnce.push_back(flood.openNow());
            if (in) {
                loginSeconds = std::chrono::duration<double>(Clock::now() - start).count();
                break;
            }
            std::this_thread::sleep_for(200ms);
        }
        floodSeconds = std::chrono::duration<double>(Clock::now() - floodStart).count();
        opened = flood.opened();
        closed = flood.closedByServer();
    }
    const LogCounts log = daemon.logSince(mark);

    const bool quick = loginSeconds >= 0 && loginSeconds <= 5;
    report.add("viewer's login under the flood",
               loginSeconds >= 0
                   ? format("%.1f s, attempt %d", loginSeconds, attempts)
                   : format("none in %.0f s (%d attempts)", settings.floodLoginSeconds, attempts),
               quick ? Verdict::Ok : Verdict::Note, quick ? "" : "the flood locks viewers out");
    report.add("flood connections opened / closed by kvmvncd per s",
               format("%.0f / %.0f", static_cast<double>(opened) / floodSeconds,
                      static_cast<double>(closed) / floodSeconds));
    report.add("flood connections open (median)", format("%.0f", bench::quantile(openAtOnce, 0.5)));
    report.add("kvmvncd peak threads / descriptors", format("%d / %d", peak.threads, peak.fds));
    report.add("log lines during the flood (warnings)", format("%d (%d)", log.lines, log.warnings));

    const ProcessSample after = daemon.sample();
    double waited = 0;
    const ProcessSample settled = settle(daemon.pid(), before, settings, !settings.quick, waited);
    reportGrowth(report, settings, before, after, settled, format("%.0f s later", waited));
    const bool loginAfter = logIn(daemon);
    report.add("a login after the flood", loginAfter ? "works" : "fails",
               loginAfter ? Verdict::Ok : Verdict::Fail,
               loginAfter ? "" : "the door still counts the flood's handshakes");

    report.json()
        .add("addresses", static_cast<double>(settings.floodAddresses))
        .add("per_address", static_cast<double>(settings.floodPerAddress))
        .add("handshake_timeout_s", static_cast<double>(settings.handshakeTimeout.count()))
        .add("login_seconds", loginSeconds >= 0 ? loginSeconds : std::nan(""))
        .add("login_attempts", static_cast<double>(attempts))
        .add("flood_opened_per_s", static_cast<double>(opened) / floodSeconds)
        .add("flood_closed_per_s", static_cast<double>(closed) / floodSeconds)
        .add("peak_threads", static_cast<double>(peak.threads))
        .add("peak_fds", static_cast<double>(peak.fds))
        .add("log_lines", static_cast<double>(log.lines))
        .add("log_warnings", static_cast<double>(log.warnings));
    daemon.stopAndCheck(report);
    return report;
}

}  // namespace kvmvnc::soak
