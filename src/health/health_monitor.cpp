// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/health_monitor.h"

#include <pthread.h>

#include <cmath>
#include <condition_variable>
#include <mutex>

#include "kvmvnc/base/log.h"

namespace kvmvnc::health {

namespace {
constexpr const char *kLog = "health";
}

HealthMonitor::HealthMonitor(HealthOptions options, HealthSources sources, PushFunction push)
    : options_(std::move(options)),
      sources_(std::move(sources)),
      push_(std::move(push)),
      sensors_(options_.sysfsRoot) {}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::start() {
    if (thread_.joinable())
        return;
    LOG_INFO(kLog, "%s", sensors_.description().c_str());
    thread_ = std::jthread([this](const std::stop_token &stop) { run(stop); });
}

void HealthMonitor::stop() {
    thread_.request_stop();  // wakes the wait below
    if (thread_.joinable())
        thread_.join();
}

HealthSnapshot HealthMonitor::latest() const {
    std::lock_guard lock(mutex_);
    return latest_;
}

void HealthMonitor::run(const std::stop_token &stop) {
    pthread_setname_np(pthread_self(), "kvm-health");
    // Only a stop request ends a wait early.
    std::condition_variable_any wake;
    std::mutex waitMutex;
    std::unique_lock lock(waitMutex);
    while (!stop.stop_requested()) {
        sampleNow();
        wake.wait_for(lock, stop, options_.interval, [] { return false; });
    }
}

void HealthMonitor::sampleNow(std::chrono::steady_clock::time_point now) {
    HealthSnapshot snapshot;
    const SocReading soc = sensors_.read();
    snapshot.milliCelsius = soc.milliCelsius;
    snapshot.throttled = soc.throttled;
    snapshot.hot = isHot(soc.milliCelsius, options_.hotCelsius, previous_ && previous_->hot);
    if (sources_.signal)
        snapshot.signal = sources_.signal();
    if (sources_.picture)
        snapshot.picture = sources_.picture();
    if (sources_.viewers)
        snapshot.viewers = sources_.viewers();
    if (sources_.framesCaptured)
        snapshot.framesCaptured = sources_.framesCaptured();
    if (previous_) {
        const double seconds = std::chrono::duration<double>(now - previousTime_).count();
        if (seconds > 0 && snapshot.framesCaptured >= previous_->framesCaptured)
            snapshot.fpsHundredths = static_cast<uint32_t>(std::lround(
                (snapshot.framesCaptured - previous_->framesCaptured) * 100.0 / seconds));
        else
            snapshot.fpsHundredths = previous_->fpsHundredths;
    }

    for (const HealthEvent &event :
         healthEvents(previous_ ? &*previous_ : nullptr, snapshot, options_.hotCelsius))
        KVM_LOG(event.level, kLog, "%s", event.text.c_str());

    previous_ = snapshot;
    previousTime_ = now;
    {
        std::lock_guard lock(mutex_);
        latest_ = snapshot;
    }
    if (push_ && (!pushed_ || worthPushing(*pushed_, snapshot))) {
        pushed_ = snapshot;
        push_(snapshot);
    }
}

}  // namespace kvmvnc::health
