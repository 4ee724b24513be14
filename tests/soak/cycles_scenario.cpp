// SPDX-License-Identifier: GPL-2.0-or-later
// Connect, log in, one update, disconnect - many times, one after the
// other: what each cycle leaves behind in kvmvncd (memory, descriptors,
// threads) and what it writes to the log.
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "scenarios.h"
#include "soak_daemon.h"
#include "test_viewer.h"

namespace kvmvnc::soak {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One cycle: its duration in ms, or nullopt when the login or the first
// update failed. The viewer asks for continuous updates, as TigerVNC and
// noVNC do: the server is writing when it leaves.
std::optional<double> cycle(const SoakDaemon &daemon) {
    const Clock::time_point start = Clock::now();
    testing::TestViewer viewer(daemon.viewerOptions(true));
    if (!viewer.connect() || !viewer.pumpUntil([&] { return viewer.updates() > 0; }, 30s))
        return std::nullopt;
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

ScenarioReport runCycles(const Settings &settings) {
    ScenarioReport report("cycles", format("%d x connect, log in, one update, disconnect; 4 at "
                                           "a time",
                                           settings.cycles));
    SoakDaemon daemon(settings, {.name = "cycles"});
    if (!daemon.start(report))
        return report;

    // The first viewers make what stays for good (the TLS context, the
    // encoders' buffers): growth counts from after them.
    constexpr int kWarmUp = 5;
    for (int i = 0; i < kWarmUp; ++i)
        cycle(daemon);
    std::this_thread::sleep_for(1s);
    const ProcessSample before = daemon.sample();
    const size_t mark = daemon.logMark();

    // A few cycles overlap: each login waits out the door's 300 ms of
    // sniffing, which would otherwise make the run mostly idle.
    constexpr int kWorkers = 4;
    const int step = std::max(1, settings.cycles / 10);
    std::mutex mutex;
    std::vector<double> durations;
    std::vector<double> rssCurve;  // every tenth of the run
    int failures = 0;
    int failingInARow = 0;
    int done = 0;
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) {
        workers.emplace_back([&] {
            while (next.fetch_add(1) < settings.cycles) {
                const std::optional<double> ms = cycle(daemon);
                std::lock_guard lock(mutex);
                if (failingInARow >= 20)
                    break;
                ++done;
                if (ms) {
                    durations.push_back(*ms);
                    failingInARow = 0;
                } else {
                    ++failures;
                    ++failingInARow;
                }
                if (done % step == 0)
                    rssCurve.push_back(daemon.sample().rssMiB);
            }
        });
    }
    for (std::thread &worker : workers)
        worker.join();
    const ProcessSample after = daemon.sample();
    double waited = 0;
    const ProcessSample settled = settle(daemon.pid(), before, settings, !settings.quick, waited);
    const LogCounts log = daemon.logSince(mark);

    const bool allDone = failures == 0 && done == settings.cycles;
    report.add("cycles logged in and updated",
               format("%zu of %d", durations.size(), settings.cycles),
               allDone ? Verdict::Ok : Verdict::Note,
               allDone ? ""
                       : format("%d failed%s", failures,
                                failingInARow >= 20 ? ", gave up after 20 in a row" : ""));
    report.add("cycle ms p50 / p99", format("%.1f / %.1f", bench::quantile(durations, 0.5),
                                            bench::quantile(durations, 0.99)));
    reportGrowth(report, settings, before, after, settled,
                 format("%.0f s later", std::max(waited, 0.0)));
    if (rssCurve.size() >= 2) {
        // Allocators keep what they once had, so early growth is expected;
        // growth that goes on in the second half is a leak.
        const double mid = rssCurve[rssCurve.size() / 2 - 1];
        const double growth = rssCurve.back() - mid;
        std::string curve;
        for (double rss : rssCurve)
            curve += format("%s%.1f", curve.empty() ? "" : " ", rss);
        report.add("RSS MiB every tenth of the cycles", curve);
        report.add("RSS growth over the second half MiB", format("%+.1f", growth),
                   growth > 2.0 ? Verdict::Note : Verdict::Ok,
                   growth > 2.0 ? "memory still grows" : "");
        report.json().add("rss_mib_second_half_growth", growth);
    }

    const double cycles = std::max<double>(1, static_cast<double>(done));
    const double warningsPerCycle = log.warnings / cycles;
    Verdict warningVerdict = log.warnings == 0 ? Verdict::Ok : Verdict::Note;
    std::string why = log.warnings == 0 ? "" : "an ordinary disconnect should be one info line";
    if (settings.maxWarningsPerCycle && warningsPerCycle > *settings.maxWarningsPerCycle) {
        warningVerdict = Verdict::Fail;
        why = format("more than %.2f a cycle", *settings.maxWarningsPerCycle);
    }
    report.add("log lines per cycle (info / warning / error)",
               format("%.2f (%.2f / %.2f / %.2f)", log.lines / cycles, log.info / cycles,
                      warningsPerCycle, log.errors / cycles));
    report.add("warnings in all", std::to_string(log.warnings), warningVerdict, why);
    report.add("'Broken pipe' / 'Connection reset' lines",
               format("%d / %d", log.brokenPipe, log.connectionReset));
    report.json()
        .add("cycles", static_cast<double>(settings.cycles))
        .add("cycles_ok", static_cast<double>(durations.size()))
        .add("cycle_ms_p50", bench::quantile(durations, 0.5))
        .add("cycle_ms_p99", bench::quantile(durations, 0.99))
        .add("log_lines", static_cast<double>(log.lines))
        .add("log_info", static_cast<double>(log.info))
        .add("log_warnings", static_cast<double>(log.warnings))
        .add("log_errors", static_cast<double>(log.errors))
        .add("log_broken_pipe", static_cast<double>(log.brokenPipe))
        .add("log_connection_reset", static_cast<double>(log.connectionReset));
    daemon.stopAndCheck(report);
    return report;
}

}  // namespace kvmvnc::soak
