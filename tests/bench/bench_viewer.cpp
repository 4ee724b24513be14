// SPDX-License-Identifier: GPL-2.0-or-later
#include "bench_viewer.h"

#include <pthread.h>

#include "link_proxy.h"
#include "test_viewer.h"
#include "wait_until.h"
#include "workload.h"

namespace kvmvnc::bench {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Today's viewers: libvncclient with Tight (JPEG) and CopyRect.
class TightViewer final : public MeasuredViewer {
public:
    explicit TightViewer(const ViewerThread::Options &options) : viewer_(viewerOptions(options)) {}

    bool connect() override { return viewer_.connect(); }
    bool pump(milliseconds timeout) override { return viewer_.pump(timeout); }
    uint64_t updates() const override { return viewer_.updates(); }
    void onUpdate(std::function<void()> callback) override {
        viewer_.onUpdate(std::move(callback));
    }
    Size size() const override { return viewer_.size(); }
    const uint8_t *framebufferData() const override { return viewer_.framebufferData(); }
    bool continuousUpdatesOn() const override { return viewer_.continuousUpdatesOn(); }

private:
    static testing::ViewerOptions viewerOptions(const ViewerThread::Options &options) {
        testing::ViewerOptions v;
        v.port = options.port;
        v.encodings = "tight copyrect";
        v.qualityLevel = options.quality;
        v.continuousUpdates = options.continuousUpdates;
        return v;
    }

    testing::TestViewer viewer_;
};

}  // namespace

std::optional<Clock::time_point> FrameTimes::at(uint32_t n) const {
    if (n >= times_.size())
        return std::nullopt;
    const int64_t t = times_[n].load(std::memory_order_acquire);
    if (t == 0)
        return std::nullopt;
    return Clock::time_point(Clock::duration(t));
}

ViewerThread::ViewerThread(const Options &options, const FrameTimes &times)
    : options_(options), times_(times) {
    thread_ = std::thread([this] { run(); });
}

ViewerThread::~ViewerThread() {
    stop_ = true;
    thread_.join();
}

bool ViewerThread::waitReady(milliseconds timeout) const {
    testing::waitUntil([&] { return ready_.load() || failed_.load(); }, timeout, milliseconds{5});
    return ready_.load();
}

void ViewerThread::stopMeasuring() {
    measuring_ = false;
    while (!stopped_.load() && !failed_.load())
        std::this_thread::sleep_for(milliseconds{1});
}

void ViewerThread::run() {
    pthread_setname_np(pthread_self(), "bench-viewer");
    const std::unique_ptr<MeasuredViewer> made = options_.makeViewer
                                                     ? options_.makeViewer(options_)
                                                     : std::make_unique<TightViewer>(options_);
    MeasuredViewer &viewer = *made;
    const Clock::time_point connectBy = Clock::now() + std::chrono::seconds{30};
    bool connected = viewer.connect();
    while (connected && viewer.updates() == 0 && Clock::now() < connectBy)
        connected = viewer.pump(milliseconds{20});
    if (!connected || viewer.updates() == 0) {
        failed_ = true;
        return;
    }
    latencyMs.reserve(times_.capacity());
    bool counting = false;
    uint32_t last = 0;
    Clock::time_point nextSample;
    viewer.onUpdate([&] {
        if (!counting)
            return;
        ++updates;
        const Size size = viewer.size();
        const std::optional<uint32_t> n =
            readFrameCounter(viewer.framebufferData(), size.width * 4, size);
        if (!n) {
            unreadable += options_.counted ? 1 : 0;
            return;
        }
        if (*n <= last)
            return;
        last = *n;
        ++delivered;
        const Clock::time_point now = Clock::now();
        if (const auto sent = times_.at(*n))
            latencyMs.push_back(std::chrono::duration<double, std::milli>(now - *sent).count());
        if (options_.sampleEvery.count() > 0 && now >= nextSample &&
            samples.size() < options_.maxSamples) {
            nextSample = now + options_.sampleEvery;
            const uint8_t *pixels = viewer.framebufferData();
            samples.push_back(
                {*n, size,
                 std::vector<uint8_t>(pixels, pixels + static_cast<size_t>(size.width) * 4 *
                                                           static_cast<size_t>(size.height))});
        }
    });
    ready_ = true;
    double cpuStart = 0.0;
    while (!stop_) {
        if (measuring_ && !counting) {
            counting = true;
            cpuStart = threadCpuSeconds();
        } else if (!measuring_ && counting) {
            counting = false;
            cpuSeconds = threadCpuSeconds() - cpuStart;
            continuousOn = viewer.continuousUpdatesOn();
            stopped_ = true;
        }
        if (!viewer.pump(milliseconds{5})) {
            failed_ = true;
            return;
        }
    }
}

}  // namespace kvmvnc::bench
