// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "test_viewer.h"

namespace kvmvnc::soak {

// A viewer (libvncclient, through TestViewer) on a thread of its own that
// logs in, shows the first picture and from then on counts the updates it
// receives, until it is destroyed or the server closes the connection. Its
// frame rate over a span is the difference of two updates() readings: the
// virtual target changes every frame, so in continuous mode each update
// is a frame delivered. The counters may be read from any thread.
class CountingViewer {
public:
    using Clock = std::chrono::steady_clock;

    explicit CountingViewer(testing::ViewerOptions options);
    ~CountingViewer();
    CountingViewer(const CountingViewer &) = delete;
    CountingViewer &operator=(const CountingViewer &) = delete;

    // Waits until the first picture arrived; false when the login failed,
    // the connection closed or `timeout` passed.
    bool waitReady(std::chrono::milliseconds timeout) const;
    uint64_t updates() const { return updates_.load(); }
    // The connection has ended (refused, or closed by the server).
    bool ended() const { return ended_.load(); }
    // When it ended, as Clock ticks; 0 while it runs.
    Clock::rep endedAt() const { return endedAt_.load(); }

private:
    void run();

    testing::ViewerOptions options_;
    std::atomic<bool> ready_{false};
    std::atomic<bool> ended_{false};
    std::atomic<Clock::rep> endedAt_{0};
    std::atomic<uint64_t> updates_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// `count` viewers with `options`, logged in four at a time after the first
// (the front door lets 8 handshakes from one address run at once); those
// that show a picture within a minute. `failed` counts the others.
std::vector<std::unique_ptr<CountingViewer>> connectViewers(const testing::ViewerOptions &options,
                                                            int count, int &failed);

}  // namespace kvmvnc::soak
