// SPDX-License-Identifier: GPL-2.0-or-later
#include "counting_viewer.h"

#include <pthread.h>

#include <algorithm>

namespace kvmvnc::soak {

using std::chrono::milliseconds;

CountingViewer::CountingViewer(testing::ViewerOptions options)
    : options_(std::move(options)), thread_([this] { run(); }) {}

CountingViewer::~CountingViewer() {
    stop_ = true;
    thread_.join();
}

bool CountingViewer::waitReady(milliseconds timeout) const {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (!ready_.load() && !ended_.load() && Clock::now() < deadline)
        std::this_thread::sleep_for(milliseconds{5});
    return ready_.load();
}

void CountingViewer::run() {
    pthread_setname_np(pthread_self(), "soak-viewer");
    testing::TestViewer viewer(options_);
    viewer.onUpdate([this] { updates_.fetch_add(1); });
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
