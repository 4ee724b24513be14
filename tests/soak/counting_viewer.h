// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_viewer.h"

namespace kvmvnc::soak {

// A viewer (libvncclient, through TestViewer) on a thread of its own that
// logs in, shows the first picture and from then on counts the updates it
// receives, until it is destroyed or the server closes the connection. The
// counters may be read from any thread; rates are differences of two
// readings.
//
// The virtual target changes every frame, but a frame may reach a viewer
// in several updates: its output thread can wake while the pump is still
// marking the frame's rectangles. frames() counts updates that arrive at
// least kFrameGap (half a frame at the soak's 30 fps) after the one before,
// so that the updates of one frame count once: an estimate, which counts
// frames that arrive bunched up (a viewer catching up) as one.
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
    static constexpr std::chrono::milliseconds kFrameGap{15};

    uint64_t updates() const { return updates_.load(); }
    uint64_t frames() const { return frames_.load(); }
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
    std::atomic<uint64_t> frames_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// What a group of viewers received between two readings, per viewer.
struct ViewerRates {
    std::vector<double> updates;  // per second
    std::vector<double> frames;   // per second, estimated (CountingViewer::frames())
};

// Reads the viewers' counters at construction and turns them into rates on
// rates(), over the time between.
class RateMeter {
public:
    explicit RateMeter(const std::vector<std::unique_ptr<CountingViewer>> &viewers);
    ViewerRates rates() const;

private:
    const std::vector<std::unique_ptr<CountingViewer>> &viewers_;
    std::vector<uint64_t> updates_;
    std::vector<uint64_t> frames_;
    CountingViewer::Clock::time_point start_;
};

// "min / median" of `values`, with one decimal.
std::string minMedianText(const std::vector<double> &values);

// `count` viewers with `options`, logged in four at a time after the first
// (the front door lets 8 handshakes from one address run at once); those
// that show a picture within a minute. `failed` counts the others.
std::vector<std::unique_ptr<CountingViewer>> connectViewers(const testing::ViewerOptions &options,
                                                            int count, int &failed);

}  // namespace kvmvnc::soak
