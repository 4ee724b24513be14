// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "kvmvnc/base/geometry.h"

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

// What ViewerThread measures through: one viewer, pumped on its thread,
// with its picture in XRGB8888 (testing::TestViewer's interface).
class MeasuredViewer {
public:
    virtual ~MeasuredViewer() = default;
    virtual bool connect() = 0;
    // False once the connection is gone.
    virtual bool pump(std::chrono::milliseconds timeout) = 0;
    virtual uint64_t updates() const = 0;
    // Called after each complete update, in the pumping thread.
    virtual void onUpdate(std::function<void()> callback) = 0;
    virtual Size size() const = 0;
    // size().width * 4 bytes a row; valid until the next pump().
    virtual const uint8_t *framebufferData() const = 0;
    virtual bool continuousUpdatesOn() const = 0;
};

// A viewer's picture of one frame, kept to be compared with the source.
struct PictureSample {
    uint32_t frame = 0;
    Size size;
    std::vector<uint8_t> pixels;  // XRGB8888, size.width * 4 bytes a row
};

// One measuring viewer on its own thread (by default libvncclient, Tight
// JPEG): it connects, shows the first picture, then - between
// startMeasuring() and stopMeasuring() - reads the frame number
// (workload.h) after every update and counts each newer frame as
// delivered, with its latency.
class ViewerThread {
public:
    struct Options {
        int port = 0;
        int quality = 6;  // Tight JPEG quality level
        bool continuousUpdates = false;
        bool counted = true;  // the workload carries frame numbers
        // Another kind of viewer than testing::TestViewer with Tight and
        // CopyRect; called on the viewer's thread.
        std::function<std::unique_ptr<MeasuredViewer>(const Options &)> makeViewer;
        // Keeps a copy of the picture of a newly delivered frame this often
        // while measuring (into `samples`, at most maxSamples); 0: never.
        std::chrono::milliseconds sampleEvery{0};
        size_t maxSamples = 16;
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
    std::vector<PictureSample> samples;

private:
    void run();

    Options options_;
    const FrameTimes &times_;
    std::atomic<bool> ready_{false};
    std::atomic<bool> failed_{false};
    std::atomic<bool> measuring_{false};
    std::atomic<bool> stopped_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace kvmvnc::bench
