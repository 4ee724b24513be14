// SPDX-License-Identifier: GPL-2.0-or-later
#include "counting_viewer.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>

#include "bench_report.h"
#include "wait_until.h"

namespace kvmvnc::soak {

using std::chrono::milliseconds;

CountingViewer::CountingViewer(testing::ViewerOptions options)
    : options_(std::move(options)), thread_([this] { run(); }) {}

CountingViewer::~CountingViewer() {
    stop_ = true;
    thread_.join();
}

bool CountingViewer::waitReady(milliseconds timeout) const {
    testing::waitUntil([&] { return ready_.load() || ended_.load(); }, timeout, milliseconds{5});
    return ready_.load();
}

void CountingViewer::run() {
    pthread_setname_np(pthread_self(), "soak-viewer");
    testing::TestViewer viewer(options_);
    Clock::time_point last{};
    viewer.onUpdate([&] {
        const Clock::time_point now = Clock::now();
        updates_.fetch_add(1);
        if (now - last >= kFrameGap)
            frames_.fetch_add(1);
        last = now;
    });
    if (viewer.connect() && viewer.pumpUntil([&] { return viewer.updates() > 0 || stop_.load(); },
                                             std::chrono::seconds{60})) {
        ready_ = viewer.updates() > 0;
        while (!stop_.load() && viewer.pump(milliseconds{50})) {
        }
    }
    if (!stop_.load()) {
        endedAt_ = Clock::now().time_since_epoch().count();
        ended_ = true;
    }
}

RateMeter::RateMeter(const std::vector<std::unique_ptr<CountingViewer>> &viewers)
    : viewers_(viewers), start_(CountingViewer::Clock::now()) {
    for (const auto &viewer : viewers_) {
        updates_.push_back(viewer->updates());
        frames_.push_back(viewer->frames());
    }
}

ViewerRates RateMeter::rates() const {
    const double seconds =
        std::chrono::duration<double>(CountingViewer::Clock::now() - start_).count();
    ViewerRates rates;
    for (size_t i = 0; i < viewers_.size() && i < updates_.size(); ++i) {
        rates.updates.push_back(static_cast<double>(viewers_[i]->updates() - updates_[i]) /
                                seconds);
        rates.frames.push_back(static_cast<double>(viewers_[i]->frames() - frames_[i]) / seconds);
    }
    return rates;
}

std::string minMedianText(const std::vector<double> &values) {
    if (values.empty())
        return "-";
    char text[64];
    std::snprintf(text, sizeof(text), "%.1f / %.1f",
                  *std::min_element(values.begin(), values.end()), bench::quantile(values, 0.5));
    return text;
}

std::vector<std::unique_ptr<CountingViewer>> connectViewers(const testing::ViewerOptions &options,
                                                            int count, int &failed) {
    constexpr int kAtOnce = 4;
    std::vector<std::unique_ptr<CountingViewer>> ready;
    failed = 0;
    // The first alone: libvncclient sets GnuTLS up on its first TLS login
    // without a lock, and two threads doing that at once crash.
    for (int first = 0, size = 1; first < count; first += size, size = kAtOnce) {
        std::vector<std::unique_ptr<CountingViewer>> batch;
        for (int i = first; i < std::min(count, first + size); ++i)
            batch.push_back(std::make_unique<CountingViewer>(options));
        for (auto &viewer : batch) {
            if (viewer->waitReady(std::chrono::seconds{60}))
                ready.push_back(std::move(viewer));
            else
                ++failed;
        }
    }
    return ready;
}

}  // namespace kvmvnc::soak
