// SPDX-License-Identifier: GPL-2.0-or-later
#include "watchdog.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <set>

namespace kvmvnc::soak {

namespace {

std::mutex gDaemonsMutex;
std::set<pid_t> gDaemons;

}  // namespace

Watchdog::Watchdog() : thread_([this] { run(); }) {}

Watchdog::~Watchdog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void Watchdog::arm(const std::string &scenario, std::chrono::seconds budget) {
    {
        std::lock_guard lock(mutex_);
        scenario_ = scenario;
        deadline_ = std::chrono::steady_clock::now() + budget;
        armed_ = true;
    }
    wake_.notify_all();
}

void Watchdog::disarm() {
    std::lock_guard lock(mutex_);
    armed_ = false;
}

void Watchdog::remember(pid_t daemon) {
    std::lock_guard lock(gDaemonsMutex);
    gDaemons.insert(daemon);
}

void Watchdog::forget(pid_t daemon) {
    std::lock_guard lock(gDaemonsMutex);
    gDaemons.erase(daemon);
}

void Watchdog::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        if (!armed_) {
            wake_.wait(lock);
            continue;
        }
        if (wake_.wait_until(lock, deadline_) != std::cv_status::timeout || !armed_)
            continue;
        if (std::chrono::steady_clock::now() < deadline_)
            continue;
        std::fprintf(stderr, "\nkvmvnc_soak: %s did not finish in time: it hangs; giving up\n",
                     scenario_.c_str());
        std::fflush(stdout);
        {
            std::lock_guard daemons(gDaemonsMutex);
            for (pid_t daemon : gDaemons)
                ::kill(daemon, SIGKILL);
        }
        ::_exit(1);
    }
}

}  // namespace kvmvnc::soak
