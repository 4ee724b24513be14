// SPDX-License-Identifier: GPL-2.0-or-later
// One viewer stops reading - a laptop lid closed mid-stream, a client
// bug - while it asks for the picture, for continuous updates and for
// state pushes, and keeps pipelining control requests. The others should
// not notice: their frame rate, a power button press and the daemon's
// memory, before, during and after the stall.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "counting_viewer.h"
#include "kvmvnc/control/protocol.h"
#include "kvmvnc/ctl/control_client.h"
#include "scenarios.h"
#include "soak_daemon.h"

namespace kvmvnc::soak {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kReceiveBuffer = 4096;  // the stalled viewer's: full at once
constexpr uint8_t kResetClick = 3;    // AtxAction: harmless on a virtual target booting at once
// Longer than a press keeps the controller busy (click_ms + busy_after_ms).
constexpr auto kBetweenPresses = std::chrono::milliseconds{500};

// The viewers' rates over `seconds`, or until `over` holds; the daemon's
// peak RSS meanwhile goes into `peakRss`.
ViewerRates measure(
    const std::vector<std::unique_ptr<CountingViewer>> &viewers, double seconds,
    const SoakDaemon &daemon, double &peakRss,
    const std::function<bool()> &over = [] { return false; }) {
    const RateMeter meter(viewers);
    const Clock::time_point end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(seconds));
    while (Clock::now() < end && !over()) {
        std::this_thread::sleep_for(250ms);
        peakRss = std::max(peakRss, daemon.sample().rssMiB);
    }
    return meter.rates();
}

struct Press {
    std::optional<double> replyMs;  // from the request to its reply
    std::optional<double> idleMs;   // from the request until the controller is idle again
};

// A reset click through `client`. The controller shows busy (AtxState)
// from the press until busy_after_ms after the release: the time until it
// is idle again is the time the button was held plus that. Gives up after
// `timeoutSeconds` (the client may be unusable then).
Press press(ctl::ControlClient &client, int timeoutSeconds) {
    Press result;
    const Clock::time_point start = Clock::now();
    const std::optional<control::Reply> reply =
        client.request(control::Request::AtxAction, {kResetClick});
    if (!reply || reply->status != control::Status::Ok)
        return result;
    result.replyMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    const Clock::time_point deadline = start + std::chrono::seconds{timeoutSeconds};
    bool sawBusy = false;
    auto idle = [&] {
        const std::optional<control::AtxStateBody> &state = client.atxState();
        sawBusy = sawBusy || (state && state->busy);
        return sawBusy && state && !state->busy;
    };
    if (client.readUntil([&] { return idle() || Clock::now() >= deadline; }) && idle())
        result.idleMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return result;
}

struct NewClientPress {
    std::optional<double> ms;  // from connecting to the press's reply
    Press press;
    std::string failed;  // which step did not finish
};

// What `kvmvncctl atx reset` does: connect, log in, press; then waits
// until the controller is idle again.
NewClientPress pressAsNewClient(const SoakDaemon &daemon, int timeoutSeconds) {
    NewClientPress result;
    const Clock::time_point start = Clock::now();
    ctl::ControlClient client;
    if (!client.connect(daemon.controlOptions(timeoutSeconds))) {
        result.failed = "login: " + client.error();
        return result;
    }
    const Clock::time_point pressed = Clock::now();
    result.press = press(client, timeoutSeconds);
    if (!result.press.replyMs) {
        result.failed = "press";
        return result;
    }
    result.ms =
        std::chrono::duration<double, std::milli>(pressed - start).count() + *result.press.replyMs;
    return result;
}

std::string msText(const std::optional<double> &ms, int timeoutSeconds) {
    return ms ? format("%.0f", *ms) : format("none in %d s", timeoutSeconds);
}

// The viewer that never reads: logs in with a tiny receive window, asks
// for raw pixels, continuous updates and state pushes, then writes
// HealthGetState requests as fast as the server takes them, on a thread of
// its own, until destroyed.
class StalledViewer {
public:
    bool start(const SoakDaemon &daemon, std::string &error) {
        if (!client_.connect(daemon.port(), rawOptions(kReceiveBuffer)) ||
            !client_.handshakeWithPassword(SoakDaemon::kPassword)) {
            error = client_.refusal().empty() ? client_.error() : client_.refusal();
            return false;
        }
        const int w = client_.serverInitSize().width, h = client_.serverInitSize().height;
        control::ByteWriter hello;
        hello.u8(2);  // SetEncodings
        hello.u8(0);
        hello.u16(3);
        hello.u32(0);                                                // Raw
        hello.u32(static_cast<uint32_t>(-313));                      // ContinuousUpdates
        hello.u32(static_cast<uint32_t>(control::kPseudoEncoding));  // state pushes
        hello.u8(3);  // FramebufferUpdateRequest, the whole screen
        hello.u8(0);
        hello.u16(0);
        hello.u16(0);
        hello.u16(static_cast<uint16_t>(w));
        hello.u16(static_cast<uint16_t>(h));
        hello.u8(150);  // EnableContinuousUpdates, the whole screen
        hello.u8(1);
        hello.u16(0);
        hello.u16(0);
        hello.u16(static_cast<uint16_t>(w));
        hello.u16(static_cast<uint16_t>(h));
        if (!client_.send(hello.bytes())) {
            error = client_.error();
            return false;
        }
        start_ = Clock::now();
        thread_ = std::thread([this] { pipeline(); });
        return true;
    }
    ~StalledViewer() {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    uint64_t requestsWritten() const { return bytes_.load() / control::kRequestHeaderSize; }
    // Seconds from start() until the server closed the connection; negative
    // while it is open.
    double closedAfter() const { return closedAfter_.load(); }

private:
    void pipeline() {
        std::vector<uint8_t> requests;
        for (uint32_t id = 1; id <= 1024; ++id) {
            const std::vector<uint8_t> request =
                control::encodeRequest(control::Request::HealthGetState, id);
            requests.insert(requests.end(), request.begin(), request.end());
        }
        uint64_t written = 0;
        while (!stop_.load()) {
            const size_t at = written % requests.size();
            const ssize_t n = client_.writeSome(requests.data() + at, requests.size() - at);
            if (n < 0) {
                closedAfter_ = std::chrono::duration<double>(Clock::now() - start_).count();
                return;
            }
            written += static_cast<size_t>(n);
            bytes_ = written;
            if (n == 0)
                std::this_thread::sleep_for(10ms);
        }
    }

    testing::RawRfbConnection client_;
    Clock::time_point start_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> bytes_{0};
    std::atomic<double> closedAfter_{-1};
    std::thread thread_;
};

}  // namespace

ScenarioReport runStall(const Settings &settings) {
    ScenarioReport report(
        "stall", format("%d viewers and a control client; one more viewer stops reading for "
                        "%.0f s",
                        settings.stallViewers, settings.stallSeconds));
    SoakDaemon daemon(settings, {.name = "stall"});
    if (!daemon.start(report))
        return report;
    const int timeout = settings.pressTimeoutSeconds;

    int failed = 0;
    std::vector<std::unique_ptr<CountingViewer>> viewers =
        connectViewers(daemon.viewerOptions(true), settings.stallViewers, failed);
    if (failed > 0) {
        report.fail("a viewer could not log in");
        daemon.stopAndCheck(report);
        return report;
    }
    ctl::ControlClient control;
    if (!control.connect(daemon.controlOptions(timeout))) {
        report.fail("the control client could not connect: " + control.error());
        daemon.stopAndCheck(report);
        return report;
    }
    const double phase = settings.stallPhaseSeconds;

    // Before.
    double rssBefore = daemon.sample().rssMiB;
    const ViewerRates ratesBefore = measure(viewers, phase, daemon, rssBefore);
    const NewClientPress newPressBefore = pressAsNewClient(daemon, timeout);
    std::this_thread::sleep_for(kBetweenPresses);
    const Press pressBefore = press(control, timeout);

    // During.
    double rssDuring = daemon.sample().rssMiB;
    ViewerRates ratesDuring;
    Press pressDuring;
    NewClientPress newPressDuring;
    uint64_t requests = 0;
    double closedAfter = -1;
    {
        StalledViewer stalled;
        std::string error;
        if (!stalled.start(daemon, error)) {
            report.fail("the stalled viewer could not log in: " + error);
            daemon.stopAndCheck(report);
            return report;
        }
        const Clock::time_point stallStart = Clock::now();
        std::this_thread::sleep_for(1s);  // the buffers between fill up
        auto closed = [&] { return stalled.closedAfter() >= 0; };
        // The presses while the others' frame rate is measured: each may
        // wait out its timeout.
        std::thread presses([&] {
            newPressDuring = pressAsNewClient(daemon, timeout);
            std::this_thread::sleep_for(kBetweenPresses);
            if (pressBefore.idleMs)
                pressDuring = press(control, timeout);
        });
        ratesDuring = measure(viewers, phase, daemon, rssDuring, closed);
        presses.join();
        // The rest of the stall: what it costs in memory, and whether
        // kvmvncd lets go of the viewer.
        const Clock::time_point stallEnd =
            stallStart + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(settings.stallSeconds));
        while (Clock::now() < stallEnd && !closed()) {
            std::this_thread::sleep_for(250ms);
            rssDuring = std::max(rssDuring, daemon.sample().rssMiB);
        }
        requests = stalled.requestsWritten();
        closedAfter = stalled.closedAfter();
    }

    // After: the stalled viewer has gone.
    std::this_thread::sleep_for(1s);
    double rssAfter = daemon.sample().rssMiB;
    const ViewerRates ratesAfter = measure(viewers, phase, daemon, rssAfter);
    const NewClientPress newPressAfter = pressAsNewClient(daemon, timeout);
    int dropped = 0;
    for (const auto &viewer : viewers)
        dropped += viewer->ended();

    const double before = bench::quantile(ratesBefore.frames, 0.5);
    const double during = bench::quantile(ratesDuring.frames, 0.5);
    const bool held = during >= 0.8 * before;
    report.add("frames/s per viewer (est.) min / median: before",
               minMedianText(ratesBefore.frames));
    report.add("  during the stall", minMedianText(ratesDuring.frames),
               held ? Verdict::Ok : Verdict::Note,
               held ? "" : "the stalled viewer slows the others");
    report.add("  after it left", minMedianText(ratesAfter.frames));
    report.add("updates/s median: before / during / after",
               format("%.1f / %.1f / %.1f", bench::quantile(ratesBefore.updates, 0.5),
                      bench::quantile(ratesDuring.updates, 0.5),
                      bench::quantile(ratesAfter.updates, 0.5)));
    const bool newReplied = newPressDuring.ms && *newPressDuring.ms < 2000;
    report.add("kvmvncctl atx reset ms: before / during / after",
               msText(newPressBefore.ms, timeout) + " / " + msText(newPressDuring.ms, timeout) +
                   " / " + msText(newPressAfter.ms, timeout),
               newReplied ? Verdict::Ok : Verdict::Note,
               newReplied ? "" : "the stalled viewer holds up other control clients");
    std::string failures;
    for (const std::string &step :
         {newPressBefore.failed, newPressDuring.failed, newPressAfter.failed})
        if (!step.empty())
            failures += (failures.empty() ? "" : "; ") + step;
    if (!failures.empty())
        report.add("  what did not finish", failures);
    // A click is 100 ms, then 100 ms busy: much longer means the button was
    // held (a power button held 5 s forces the target off).
    const std::optional<double> &idleDuring = newPressDuring.press.idleMs;
    const bool released = idleDuring && *idleDuring < 1000;
    report.add("  until the controller is idle again",
               msText(newPressBefore.press.idleMs, timeout) + " / " + msText(idleDuring, timeout) +
                   " / " + msText(newPressAfter.press.idleMs, timeout),
               released ? Verdict::Ok : Verdict::Note,
               released ? "" : "the button stays pressed while the viewer stalls");
    const bool connectedReplied = pressDuring.replyMs && *pressDuring.replyMs < 1000;
    report.add("a second press, connected client: reply ms before / during",
               msText(pressBefore.replyMs, timeout) + " / " + msText(pressDuring.replyMs, timeout),
               connectedReplied ? Verdict::Ok : Verdict::Note,
               connectedReplied ? "" : "the buttons stay held up");
    report.add("requests the stalled viewer got written", std::to_string(requests));
    report.add("the stalled viewer", closedAfter < 0
                                         ? "still connected at the end of the stall"
                                         : format("closed by kvmvncd after %.1f s", closedAfter));
    report.add("kvmvncd RSS MiB: before / peak during / after",
               format("%.1f / %.1f / %.1f", rssBefore, rssDuring, rssAfter));
    report.add("viewers dropped", std::to_string(dropped),
               dropped == 0 ? Verdict::Ok : Verdict::Note);
    auto orNan = [](const std::optional<double> &ms) { return ms ? *ms : std::nan(""); };
    report.json()
        .add("viewers", static_cast<double>(settings.stallViewers))
        .add("stall_seconds", settings.stallSeconds)
        .add("frames_per_s_median_before", before)
        .add("frames_per_s_median_during", during)
        .add("frames_per_s_median_after", bench::quantile(ratesAfter.frames, 0.5))
        .add("press_reply_ms_before", orNan(pressBefore.replyMs))
        .add("press_reply_ms_during", orNan(pressDuring.replyMs))
        .add("press_idle_ms_before", orNan(newPressBefore.press.idleMs))
        .add("press_idle_ms_during", orNan(idleDuring))
        .add("press_idle_ms_after", orNan(newPressAfter.press.idleMs))
        .add("new_client_press_ms_before", orNan(newPressBefore.ms))
        .add("new_client_press_ms_during", orNan(newPressDuring.ms))
        .add("new_client_press_ms_after", orNan(newPressAfter.ms))
        .add("stalled_closed_after_s", closedAfter >= 0 ? closedAfter : std::nan(""))
        .add("stalled_requests_written", static_cast<double>(requests))
        .add("rss_mib_before", rssBefore)
        .add("rss_mib_peak_during", rssDuring)
        .add("rss_mib_after", rssAfter)
        .add("viewers_dropped", static_cast<double>(dropped));
    viewers.clear();
    daemon.stopAndCheck(report);
    return report;
}

}  // namespace kvmvnc::soak
