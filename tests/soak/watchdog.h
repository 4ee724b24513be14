// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace kvmvnc::soak {

// Ends a soak that hangs instead of letting it wait forever: when a
// scenario has not finished by its deadline, it says which, kills the
// daemons the scenario started (by their ids, remembered here while they
// run) and exits the program with status 1. A hang is a finding too, but
// the daemons must not outlive the run. One per program; thread-safe.
class Watchdog {
public:
    Watchdog();
    ~Watchdog();
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

    // Starts timing `scenario`; replaces the previous one.
    void arm(const std::string &scenario, std::chrono::seconds budget);
    void disarm();

    static void remember(pid_t daemon);
    static void forget(pid_t daemon);

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::string scenario_;
    std::chrono::steady_clock::time_point deadline_{};
    bool armed_ = false;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace kvmvnc::soak
