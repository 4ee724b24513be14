// SPDX-License-Identifier: GPL-2.0-or-later
// The soak's scenarios (docs/reliability.md), each against a kvmvncd of its
// own, and the sizes the full and the quick (smoke) run give them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "kvmvnc/base/geometry.h"
#include "soak_report.h"

namespace kvmvnc::soak {

struct Settings {
    bool quick = false;
    Size screen{1920, 1080};  // the virtual target's desktop
    int fps = 30;             // its frame rate: the ball moves every frame

    // Fd and thread counts may differ by this much once settled (a lazily
    // made descriptor, a thread caught while it ends): more is a leak.
    int fdTolerance = 3;
    int threadTolerance = 2;
    // How long the daemon has to settle after a scenario's clients left.
    std::chrono::seconds settle{10};

    int cycles = 1000;
    // Warnings the daemon may log per ordinary disconnect before the cycles
    // fail; unset: only reported.
    std::optional<double> maxWarningsPerCycle;

    int viewers = 50;
    double viewerSeconds = 60;

    int stallViewers = 4;
    double stallSeconds = 30;
    double stallPhaseSeconds = 10;  // measuring before and after the stall
    int pressTimeoutSeconds = 10;

    int floodAddresses = 6;
    int floodPerAddress = 10;  // over the door's 8 handshakes per address
    std::chrono::seconds handshakeTimeout{10};
    double floodLoginSeconds = 30;  // how long the real viewer keeps trying

    uint64_t uploadBytes = 200ull << 20;

    int shutdownViewers = 20;
};

// The quick run: every scenario, scaled down to well under a minute.
Settings quickSettings();

ScenarioReport runCycles(const Settings &settings);
ScenarioReport runViewers(const Settings &settings);
ScenarioReport runStall(const Settings &settings);
ScenarioReport runFlood(const Settings &settings);
ScenarioReport runUpload(const Settings &settings);
ScenarioReport runShutdown(const Settings &settings);

}  // namespace kvmvnc::soak
