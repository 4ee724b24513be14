// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "test_viewer.h"

namespace kvmvnc::bench {

// When each frame of a workload reached the server (or, for the peers, the
// X server), for the viewers to look up. Written by the thread playing the
// workload, read by the viewer threads.
class FrameTimes {
public:
    using Clock = std::chrono::steady_clock;

    explicit FrameTimes(size_t capacity) : times_(capacity) {}
    size_t capacity() const { return times_.size(); }
    void mark(uint32_t n) {
        times_[n].store(Clock::now().time_since_epoch().count(), std::memory_order_release);
    }
    std::optional<Clock::time_point> at(uint32_t n) const;

private:
    std::vector<std::atomic<int64_t>> times_;
};

// One measuring viewer (libvncclient, Tight JPEG) on its own thread: it
// connects, shows the first picture, then - between startMeasuring() and
// stopMeasuring() - reads the frame number (workload.h) after every update
// and counts each newer frame as delivered, with its latency.
class ViewerThread {
public:
    struct Options {
        int port = 0;
        int quality = 6;  // Tight JPEG quality level
        bool continuousUpdates = false;
        bool counted = true;  // the workload carries frame numbers
    };

    ViewerThread(const Options &options, const FrameTimes &times);
    ~ViewerThread();
    ViewerThread(const ViewerThread &) = delete;
    ViewerThread &operator=(const ViewerThread &) = delete;

    // Waits until the viewer shows the first picture; false if it failed
    // or `timeout` passed.
    bool waitReady(std::chrono::milliseconds timeout) const;
    void startMeasuring() { measuring_ = true; }
    // Returns once the viewer's thread has taken its figures.
    void stopMeasuring();

    // The figures, to be read after stopMeasuring().
    double cpuSeconds = 0.0;  // the viewer thread's, while measuring
    uint64_t delivered = 0;
    uint64_t updates = 0;
    uint64_t unreadable = 0;  // updates whose frame number could not be read
    bool continuousOn = false;
    std::vector<double> latencyMs;

private:
    void run();

    testing::ViewerOptions viewerOptions_;
    const FrameTimes &times_;
    const bool counted_;
    std::atomic<bool> ready_{false};
    std::atomic<bool> failed_{false};
    std::atomic<bool> measuring_{false};
    std::atomic<bool> stopped_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace kvmvnc::bench
