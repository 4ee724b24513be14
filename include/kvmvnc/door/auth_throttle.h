// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "kvmvnc/door/transport.h"

namespace kvmvnc::door {

// Slows password guessing per source address. The first few failures are
// free (people mistype); each further one blocks the address for twice as
// long as the one before, up to a cap. While blocked, an address is refused
// before it may try (with how long to wait), so parallel connections gain
// nothing. A success forgives nothing (someone with a view-only password
// would otherwise get unlimited guesses at the full one); an address quiet
// for twice the cap starts afresh, and the table holds a bounded number of
// addresses (the stalest unblocked ones go first), so a flood of sources
// cannot grow it without bound.
// Thread-safe.
class AuthThrottle {
public:
    struct Policy {
        int freeFailures = 3;
        std::chrono::milliseconds firstBlock{2000};
        std::chrono::milliseconds maxBlock{300000};
        size_t maxAddresses = 4096;
    };

    AuthThrottle() : AuthThrottle(Policy{}) {}
    explicit AuthThrottle(Policy policy) : policy_(policy) {}

    // How long `address` must still wait before it may try; zero when it may.
    std::chrono::milliseconds blockedFor(const std::string &address, Clock::time_point now) const;
    // Counts a failure; returns the block the address has from now (zero
    // while its failures are still free).
    std::chrono::milliseconds recordFailure(const std::string &address, Clock::time_point now);
    size_t trackedAddresses() const;

private:
    struct Entry {
        int failures = 0;
        Clock::time_point lastFailure;
        Clock::time_point blockedUntil;
    };
    void forgetStale(Clock::time_point now);

    const Policy policy_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace kvmvnc::door
