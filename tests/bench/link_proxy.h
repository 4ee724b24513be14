// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::bench {

// A network link for one viewer, on loopback: forwards one TCP connection
// to 127.0.0.1:serverPort, delays each direction by half of `roundTrip`
// (what `tc netem delay` on both ends does) and counts the bytes the server
// sends. At most kMaxInFlight bytes are held per direction; beyond that it
// stops reading, so the sender feels the link fill as it would on a real
// one instead of an endless buffer.
//
// One thread, started by the constructor and joined by the destructor; the
// counters may be read from any thread.
class LinkProxy {
public:
    static constexpr size_t kMaxInFlight = 8 << 20;

    LinkProxy(int serverPort, std::chrono::milliseconds roundTrip);
    ~LinkProxy();
    LinkProxy(const LinkProxy &) = delete;
    LinkProxy &operator=(const LinkProxy &) = delete;

    int port() const { return port_; }
    uint64_t serverBytes() const { return serverBytes_.load(); }
    // CPU time of the proxy's thread, to be taken off the process's.
    double cpuSeconds() const { return cpu_.load(); }

private:
    void run();

    int serverPort_;
    std::chrono::microseconds oneWay_;
    int port_ = 0;
    UniqueFd listen_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> serverBytes_{0};
    std::atomic<double> cpu_{0.0};
    std::thread thread_;
};

// CPU seconds of the calling thread, and of the whole process.
double threadCpuSeconds();
double processCpuSeconds();

}  // namespace kvmvnc::bench
