// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncd under load and faults, measured from outside (issue 16,
// docs/reliability.md): the real daemon on loopback, real viewers and
// hand-driven clients, and /proc for the daemon's memory, descriptors and
// threads. Each scenario starts a daemon of its own and prints a table of
// figures with a verdict each:
//
//   cycles    connect, log in, one update, disconnect, many times: growth
//             of memory, descriptors and threads; log lines per disconnect
//   viewers   many viewers in continuous mode for a while, then gone; the
//             one over max_clients refused with a reason
//   stall     a viewer that never reads while pipelining requests: the
//             others' frame rate, a power button press, the daemon's memory
//   flood     silent connections from several addresses hold the door's
//             handshake slots while a real viewer logs in
//   upload    kill -9 during an upload, restart, resume: SHA-256 and the
//             image list
//   shutdown  SIGTERM with viewers connected: exit status and time
//
// The exit status is 1 when a figure failed (a crash, leaked descriptors
// or threads, a bad shutdown, a lost or half-listed upload), never because
// something was slow.
//
//   kvmvnc_soak [--quick] [--scenarios cycles,viewers,...] [--json FILE]
//               [--logs DIR] [--max-warnings-per-disconnect N]
//
// --logs keeps each daemon's log in DIR; --max-warnings-per-disconnect
// makes warnings logged by ordinary disconnects (cycles) a failure.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "bench_report.h"
#include "scenarios.h"
#include "soak_daemon.h"
#include "test_timing.h"
#include "watchdog.h"

namespace kvmvnc::soak {

Settings quickSettings() {
    Settings s;
    s.quick = true;
    s.screen = {800, 600};
    s.cycles = 100;
    s.viewers = 10;
    s.viewerSeconds = 5;
    s.stallViewers = 2;
    s.stallSeconds = 3;
    s.stallPhaseSeconds = 1.5;
    s.pressTimeoutSeconds = 2;
    // Held slots come free within the quick run's patience.
    s.handshakeTimeout = std::chrono::seconds{2};
    s.floodLoginSeconds = 6;
    s.uploadBytes = 20ull << 20;
    return s;
}

namespace {

struct Scenario {
    const char *name;
    std::function<ScenarioReport(const Settings &)> run;
};

const Scenario kScenarios[] = {
    {"cycles", runCycles}, {"viewers", runViewers}, {"stall", runStall},
    {"flood", runFlood},   {"upload", runUpload},   {"shutdown", runShutdown},
};

[[noreturn]] void usage(const char *problem) {
    std::fprintf(stderr,
                 "kvmvnc_soak: %s\nusage: kvmvnc_soak [--quick] [--scenarios "
                 "cycles,viewers,stall,flood,upload,shutdown] [--json FILE] [--logs DIR] "
                 "[--max-warnings-per-disconnect N]\n",
                 problem);
    std::exit(2);
}

std::string today() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M", &local);
    return text;
}

}  // namespace

int run(int argc, char **argv) {
    // libvncclient writes with write(): a viewer whose daemon has just
    // closed the connection (a SIGTERM, a refusal) must get EPIPE, not end
    // the program.
    std::signal(SIGPIPE, SIG_IGN);
    bool quick = false;
    const char *jsonPath = nullptr;
    std::set<std::string> chosen;
    std::optional<double> maxWarnings;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage((option + " needs a value").c_str());
            return argv[++i];
        };
        if (option == "--quick") {
            quick = true;
        } else if (option == "--json") {
            value();
            jsonPath = argv[i];
        } else if (option == "--logs") {
            SoakDaemon::setLogDirectory(value());
        } else if (option == "--max-warnings-per-disconnect") {
            maxWarnings = std::atof(value().c_str());
        } else if (option == "--scenarios") {
            const std::string list = value();
            for (size_t at = 0; at <= list.size();) {
                const size_t comma = std::min(list.find(',', at), list.size());
                chosen.insert(list.substr(at, comma - at));
                at = comma + 1;
            }
        } else {
            usage(("unknown option " + option).c_str());
        }
    }
    for (const std::string &name : chosen) {
        if (std::none_of(std::begin(kScenarios), std::end(kScenarios),
                         [&](const Scenario &s) { return name == s.name; }))
            usage(("unknown scenario " + name).c_str());
    }
    Settings settings = quick ? quickSettings() : Settings{};
    settings.maxWarningsPerCycle = maxWarnings;

    std::printf("kvmvncd under load and faults (%s run), %s, on %s\n", quick ? "quick" : "full",
                today().c_str(), bench::machineDescription().c_str());
    std::printf(
        "virtual target %dx%d at %d fps; viewers: libvncclient, VeNCrypt X509Vnc, "
        "Tight JPEG quality level 6\n",
        settings.screen.width, settings.screen.height, settings.fps);
    std::fflush(stdout);

    // Generous: a budget is only there to end a hang.
    const std::chrono::seconds budget{(quick ? 180 : 1200) * testing::kSlowdown};
    Watchdog watchdog;
    std::vector<ScenarioReport> reports;
    for (const Scenario &scenario : kScenarios) {
        if (!chosen.empty() && !chosen.count(scenario.name))
            continue;
        watchdog.arm(scenario.name, budget);
        const auto start = std::chrono::steady_clock::now();
        reports.push_back(scenario.run(settings));
        reports.back().setSeconds(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        watchdog.disarm();
        reports.back().print();
    }

    std::vector<std::string> failed;
    for (const ScenarioReport &report : reports)
        if (report.failed())
            failed.push_back(report.name());
    if (jsonPath) {
        std::vector<std::string> items;
        for (const ScenarioReport &report : reports)
            items.push_back(report.toJson());
        const std::string json = bench::JsonObject()
                                     .add("benchmark", "soak")
                                     .add("mode", quick ? "quick" : "full")
                                     .add("date", today())
                                     .add("machine", bench::machineDescription())
                                     .add("failed", !failed.empty())
                                     .raw("scenarios", bench::jsonArray(items))
                                     .str();
        if (!bench::writeJsonFile(jsonPath, json))
            return 1;
    }
    if (failed.empty()) {
        std::printf("\nno hard failures\n");
        return 0;
    }
    std::string names;
    for (const std::string &name : failed)
        names += (names.empty() ? "" : ", ") + name;
    std::printf("\nhard failures in: %s\n", names.c_str());
    return 1;
}

}  // namespace kvmvnc::soak

int main(int argc, char **argv) {
    try {
        return kvmvnc::soak::run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "kvmvnc_soak: %s\n", e.what());
        return 1;
    }
}
