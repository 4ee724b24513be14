// SPDX-License-Identifier: GPL-2.0-or-later
// As many viewers as max_clients allows, all in continuous mode, for a
// while; one more is refused and must be told why; then they all go, and
// kvmvncd must be back where it was and take a viewer again.
#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "counting_viewer.h"
#include "scenarios.h"
#include "soak_daemon.h"

namespace kvmvnc::soak {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

ScenarioReport runViewers(const Settings &settings) {
    ScenarioReport report(
        "viewers",
        format("%d viewers with continuous updates for %.0f s, then gone; max_clients %d",
               settings.viewers, settings.viewerSeconds, settings.viewers));
    DaemonOptions options;
    options.name = "viewers";
    options.maxClients = settings.viewers;
    SoakDaemon daemon(settings, options);
    if (!daemon.start(report))
        return report;
    std::this_thread::sleep_for(500ms);
    const ProcessSample before = daemon.sample();

    const Clock::time_point connectStart = Clock::now();
    int failed = 0;
    std::vector<std::unique_ptr<CountingViewer>> viewers =
        connectViewers(daemon.viewerOptions(true), settings.viewers, failed);
    const double connectSeconds =
        std::chrono::duration<double>(Clock::now() - connectStart).count();
    report.add("viewers showing a picture",
               format("%zu of %d (in %.1f s)", viewers.size(), settings.viewers, connectSeconds),
               failed == 0 ? Verdict::Ok : Verdict::Note,
               failed == 0 ? "" : format("%d could not log in", failed));

    // One over the limit: refused, with a reason a person can read.
    testing::RawRfbConnection extra;
    const std::string extraName =
        format("viewer %d of max_clients %d", settings.viewers + 1, settings.viewers);
    if (failed > 0) {
        report.add(extraName, "not tried: not all viewers logged in", Verdict::Note);
    } else {
        const bool extraIn = extra.connect(daemon.port(), rawOptions()) &&
                             extra.handshakeWithPassword(SoakDaemon::kPassword);
        const bool toldWhy = !extraIn && !extra.refusal().empty();
        report.add(
            extraName,
            extraIn ? "admitted"
                    : (toldWhy ? "refused: \"" + extra.refusal() + "\""
                               : "refused without a reason (" + extra.error() + ")"),
            toldWhy ? Verdict::Ok : Verdict::Fail,
            extraIn ? "max_clients not enforced" : (toldWhy ? "" : "the viewer is not told why"));
        report.json().add("refusal", extra.refusal());
    }

    // The frame rate each viewer sees, and the daemon's footprint meanwhile.
    const RateMeter meter(viewers);
    const Clock::time_point measureEnd =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(settings.viewerSeconds));
    ProcessSample peak = daemon.sample();
    while (Clock::now() < measureEnd) {
        std::this_thread::sleep_for(250ms);
        const ProcessSample now = daemon.sample();
        peak.rssMiB = std::max(peak.rssMiB, now.rssMiB);
        peak.threads = std::max(peak.threads, now.threads);
        peak.fds = std::max(peak.fds, now.fds);
    }
    const ViewerRates rates = meter.rates();
    int dropped = 0;
    for (const auto &viewer : viewers)
        dropped += viewer->ended();
    const double low =
        rates.frames.empty() ? 0 : *std::min_element(rates.frames.begin(), rates.frames.end());
    const bool keepUp = low >= settings.fps * 0.5;
    report.add("frames/s per viewer (est.) min / median", minMedianText(rates.frames),
               keepUp ? Verdict::Ok : Verdict::Note,
               keepUp ? "" : format("under half of %d", settings.fps));
    report.add("updates/s per viewer min / median", minMedianText(rates.updates));
    report.add("viewers dropped while watching", std::to_string(dropped),
               dropped == 0 ? Verdict::Ok : Verdict::Note);
    report.add("kvmvncd peak RSS MiB / threads / descriptors",
               format("%.1f / %d / %d", peak.rssMiB, peak.threads, peak.fds));

    // All gone at once.
    const size_t mark = daemon.logMark();
    viewers.clear();
    const ProcessSample after = daemon.sample();
    double waited = 0;
    const ProcessSample settled = settle(daemon.pid(), before, settings, !settings.quick, waited);
    reportGrowth(report, settings, before, after, settled, format("%.0f s later", waited));
    const LogCounts log = daemon.logSince(mark);
    report.add("warnings as they left", std::to_string(log.warnings),
               log.warnings == 0 ? Verdict::Ok : Verdict::Note,
               log.warnings == 0 ? "" : "an ordinary disconnect should be one info line");

    // Every slot they held is free again.
    {
        CountingViewer again(daemon.viewerOptions(false));
        const bool admitted = again.waitReady(60s);
        report.add("a viewer after they left", admitted ? "shows a picture" : "cannot log in",
                   admitted ? Verdict::Ok : Verdict::Fail, admitted ? "" : "slots are not freed");
    }

    report.json()
        .add("viewers", static_cast<double>(settings.viewers))
        .add("viewers_connected", static_cast<double>(viewers.size()))
        .add("connect_seconds", connectSeconds)
        .add("frames_per_s_min", low)
        .add("frames_per_s_median", bench::quantile(rates.frames, 0.5))
        .add("updates_per_s_median", bench::quantile(rates.updates, 0.5))
        .add("peak_rss_mib", peak.rssMiB)
        .add("peak_threads", static_cast<double>(peak.threads))
        .add("peak_fds", static_cast<double>(peak.fds))
        .add("warnings_leaving", static_cast<double>(log.warnings));
    daemon.stopAndCheck(report);
    return report;
}

}  // namespace kvmvnc::soak
