// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/auth_throttle.h"

#include <algorithm>

namespace kvmvnc::door {

using std::chrono::milliseconds;

milliseconds AuthThrottle::blockedFor(const std::string &address, Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(address);
    if (it == entries_.end() || it->second.blockedUntil <= now)
        return milliseconds{0};
    // Rounded up, so a caller never retries a moment too early.
    return std::chrono::ceil<milliseconds>(it->second.blockedUntil - now);
}

milliseconds AuthThrottle::recordFailure(const std::string &address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= policy_.maxAddresses && !entries_.count(address))
        forgetStale(now);
    Entry &entry = entries_[address];
    // Failures are forgotten only after a quiet spell, never by a success:
    // a view-only password must not buy unlimited guesses at the full one.
    if (entry.failures > 0 && now - entry.lastFailure > 2 * policy_.maxBlock)
        entry.failures = 0;
    entry.failures += 1;
    entry.lastFailure = now;
    const int beyond = entry.failures - policy_.freeFailures;
    if (beyond <= 0)
        return milliseconds{0};
    milliseconds block = policy_.firstBlock;
    for (int i = 1; i < beyond && block < policy_.maxBlock; ++i)
        block *= 2;
    block = std::min(block, policy_.maxBlock);
    entry.blockedUntil = now + block;
    return block;
}

size_t AuthThrottle::trackedAddresses() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void AuthThrottle::forgetStale(Clock::time_point now) {
    std::erase_if(entries_, [&](const auto &item) {
        return item.second.blockedUntil <= now &&
               now - item.second.lastFailure > 2 * policy_.maxBlock;
    });
    // Still full: the address that failed longest ago goes.
    while (entries_.size() >= policy_.maxAddresses) {
        auto oldest =
            std::min_element(entries_.begin(), entries_.end(), [](const auto &a, const auto &b) {
                return a.second.lastFailure < b.second.lastFailure;
            });
        entries_.erase(oldest);
    }
}

}  // namespace kvmvnc::door
