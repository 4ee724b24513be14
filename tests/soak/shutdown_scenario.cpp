// SPDX-License-Identifier: GPL-2.0-or-later
// SIGTERM while viewers watch: kvmvncd must exit 0 within 5 s, as systemd
// expects of a stop, and every viewer must see the connection end.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "counting_viewer.h"
#include "scenarios.h"
#include "soak_daemon.h"
#include "wait_until.h"

namespace kvmvnc::soak {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

ScenarioReport runShutdown(const Settings &settings) {
    ScenarioReport report(
        "shutdown", format("SIGTERM with %d viewers in continuous mode", settings.shutdownViewers));
    DaemonOptions options;
    options.name = "shutdown";
    options.maxClients = settings.shutdownViewers;
    SoakDaemon daemon(settings, options);
    if (!daemon.start(report))
        return report;
    int failed = 0;
    const std::vector<std::unique_ptr<CountingViewer>> viewers =
        connectViewers(daemon.viewerOptions(true), settings.shutdownViewers, failed);
    report.add("viewers watching", format("%zu of %d", viewers.size(), settings.shutdownViewers),
               failed == 0 ? Verdict::Ok : Verdict::Note);
    std::this_thread::sleep_for(1s);
    if (!daemon.process().isRunning()) {
        daemon.stopAndCheck(report);
        return report;
    }

    const Clock::time_point start = Clock::now();
    daemon.endWith(SIGTERM);
    // Longer than the 5 s allowed, to say how long it does take.
    const int status = daemon.process().waitForExit(30s);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const bool clean = status == 0 && seconds <= 5.0;
    report.add("exit status / time",
               status == -1 ? format("still running after %.0f s", seconds)
                            : format("%d / %.2f s", status, seconds),
               clean ? Verdict::Ok : Verdict::Fail, clean ? "" : "must exit 0 within 5 s");
    if (status == -1) {
        daemon.endWith(SIGKILL);
        daemon.process().waitForExit(10s);
    }

    // Every viewer has been told (its connection ended), and by when.
    testing::waitUntil(
        [&] {
            return std::all_of(viewers.begin(), viewers.end(),
                               [](const auto &v) { return v->ended(); });
        },
        10s, 20ms);
    int told = 0;
    double lastTold = 0;
    for (const auto &viewer : viewers) {
        if (!viewer->ended())
            continue;
        ++told;
        lastTold =
            std::max(lastTold, std::chrono::duration<double>(
                                   Clock::time_point(Clock::duration(viewer->endedAt())) - start)
                                   .count());
    }
    report.add("viewers that saw the connection end",
               format("%d of %zu, the last after %.2f s", told, viewers.size(), lastTold),
               told == static_cast<int>(viewers.size()) ? Verdict::Ok : Verdict::Note);
    report.json()
        .add("viewers", static_cast<double>(viewers.size()))
        .add("exit_status", static_cast<double>(status))
        .add("exit_seconds", seconds)
        .add("viewers_told", static_cast<double>(told))
        .add("last_told_seconds", lastTold);
    return report;
}

}  // namespace kvmvnc::soak
