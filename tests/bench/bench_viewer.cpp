// SPDX-License-Identifier: GPL-2.0-or-later
#include "bench_viewer.h"

#include <pthread.h>

#include "link_proxy.h"
#include "wait_until.h"
#include "workload.h"

namespace kvmvnc::bench {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::optional<Clock::time_point> FrameTimes::at(uint32_t n) const {
    if (n >= times_.size())
        return std::nullopt;
    const int64_t t = times_[n].load(std::memory_order_acquire);
    if (t == 0)
        return std::nullopt;
    return Clock::time_point(Clock::duration(t));
}

ViewerThread::ViewerThread(const Options &options, const FrameTimes &times)
    : times_(times), counted_(options.counted) {
    viewerOptions_.port = options.port;
    viewerOptions_.encodings = "tight copyrect";
    viewerOptions_.qualityLevel = options.quality;
    viewerOptions_.continuousUpdates = options.continuousUpdates;
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
    testing::TestViewer viewer(viewerOptions_);
    if (!viewer.connect() ||
        !viewer.pumpUntil([&] { return viewer.updates() > 0; }, std::chrono::seconds{30})) {
        failed_ = true;
        return;
    }
    latencyMs.reserve(times_.capacity());
    bool counting = false;
    uint32_t last = 0;
    viewer.onUpdate([&] {
        if (!counting)
            return;
        ++updates;
        const Size size = viewer.size();
        const std::optional<uint32_t> n =
            readFrameCounter(viewer.framebufferData(), size.width * 4, size);
        if (!n) {
            unreadable += counted_ ? 1 : 0;
            return;
        }
        if (*n <= last)
            return;
        last = *n;
        ++delivered;
        if (const auto sent = times_.at(*n))
            latencyMs.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - *sent).count());
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
