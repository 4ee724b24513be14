// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

#include "kvmvnc/health/health_snapshot.h"
#include "kvmvnc/health/soc_sensors.h"

namespace kvmvnc::health {

// Where the monitor reads what other stages know. Each is called from the
// monitor's thread and must be thread-safe; any may be empty.
struct HealthSources {
    std::function<uint64_t()> framesCaptured;
    std::function<capture::SignalState()> signal;
    std::function<Size()> picture;
    std::function<uint32_t()> viewers;
};

struct HealthOptions {
    std::chrono::milliseconds interval{2000};
    int hotCelsius = 80;
    std::filesystem::path sysfsRoot = "/sys";
};

// Samples the board and the pipeline every interval on a thread of its own
// ("kvm-health"): logs what a person should know (healthEvents), keeps the
// latest snapshot for the metrics endpoint and the control protocol, and
// hands snapshots worth pushing to `push` (on the monitor's thread).
//
// start() and stop() belong to one controlling thread; latest() is for any
// thread; sampleNow() is for tests and for a thread that is not running.
class HealthMonitor {
public:
    using PushFunction = std::function<void(const HealthSnapshot &)>;

    HealthMonitor(HealthOptions options, HealthSources sources, PushFunction push = {});
    ~HealthMonitor();
    HealthMonitor(const HealthMonitor &) = delete;
    HealthMonitor &operator=(const HealthMonitor &) = delete;

    void start();
    void stop();

    HealthSnapshot latest() const;
    // Takes one sample now, as the thread does every interval.
    void sampleNow(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

    const SocSensors &sensors() const { return sensors_; }

private:
    void run(const std::stop_token &stop);

    const HealthOptions options_;
    const HealthSources sources_;
    const PushFunction push_;
    const SocSensors sensors_;

    // The sampling state; touched only by the thread that samples.
    std::optional<HealthSnapshot> previous_;
    std::optional<HealthSnapshot> pushed_;
    std::chrono::steady_clock::time_point previousTime_;

    mutable std::mutex mutex_;  // guards latest_
    HealthSnapshot latest_;
    std::jthread thread_;
};

}  // namespace kvmvnc::health
