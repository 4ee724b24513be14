// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <thread>

namespace kvmvnc::testing {

// Asks `condition` every `interval` until it holds or `timeout` has passed;
// whether it held. It is asked once more after the last wait, so a test
// whose condition came true during it does not fail. The timeout is taken
// as given: callers scale it for slow builds (test_timing.h) where the wait
// is for the code under test rather than for an outside program.
template <typename Condition>
bool waitUntil(Condition &&condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds{10}) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= until)
            return false;
        std::this_thread::sleep_for(interval);
    }
    return true;
}

}  // namespace kvmvnc::testing
