// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/auth_throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "kvmvnc/base/log.h"

namespace kvmvnc::door {

namespace {

constexpr const char *kLog = "door";

using std::chrono::milliseconds;
constexpr int64_t kMinute = 60000;  // ms

// The first `bits` of `address`, as "2001:db8:1::/48".
std::string prefix(in6_addr address, int bits) {
    std::memset(address.s6_addr + bits / 8, 0, 16 - bits / 8);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &address, text, sizeof(text));
    return std::string(text) + "/" + std::to_string(bits);
}

milliseconds until(Clock::time_point then, Clock::time_point now) {
    if (then <= now)
        return milliseconds{0};
    // Rounded up, so a caller never retries a moment too early.
    return std::chrono::ceil<milliseconds>(then - now);
}

// "30 days", "12 hours".
std::string spell(milliseconds time) {
    const auto hours = std::chrono::duration_cast<std::chrono::hours>(time).count();
    if (hours >= 48)
        return std::to_string(hours / 24) + " days";
    return std::to_string(hours) + " hours";
}

bool blocked(const auto &entry, Clock::time_point now) { return entry.blockedUntil > now; }

}  // namespace

std::vector<AuthThrottle::Source> AuthThrottle::sourcesOf(const std::string &address) const {
    // A link-local peer comes with its interface ("fe80::1%eth0").
    const std::string literal = address.substr(0, address.find('%'));
    in6_addr v6{};
    if (inet_pton(AF_INET6, literal.c_str(), &v6) != 1)
        return {{address, policy_.freeFailures}};
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, v6.s6_addr + 12, text, sizeof(text));
        return {{text, policy_.freeFailures}};
    }
    return {{prefix(v6, 64), policy_.freeFailures},
            {prefix(v6, 56), policy_.freeFailuresPer56},
            {prefix(v6, 48), policy_.freeFailuresPer48}};
}

AuthThrottle::Wait AuthThrottle::blockedFor(const std::string &address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Wait wait = waitFor(sourcesOf(address), now);
    if (budgetTripped_ && wait.time.count() > 0)
        ++refusedWhileTripped_;
    return wait;
}

AuthThrottle::Wait AuthThrottle::recordFailure(const std::string &address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const std::vector<Source> sources = sourcesOf(address);
    bool overflowed = false;
    for (const Source &source : sources) {
        if (Entry *entry = entryFor(source, sources, now))
            countFailure(*entry, now);
        else
            overflowed = true;
    }
    if (overflowed)
        countFailure(overflow_, now);
    countInBudget(now);
    return waitFor(sources, now);
}

void AuthThrottle::recordSuccess(const std::string &address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const std::string name = sourcesOf(address).front().name;
    if (!known_.contains(name) && known_.size() >= policy_.maxKnown) {
        std::erase_if(known_,
                      [&](const auto &item) { return now - item.second > policy_.knownFor; });
        // Still full: the address whose last success is oldest goes.
        if (known_.size() >= policy_.maxKnown)
            known_.erase(
                std::min_element(known_.begin(), known_.end(),
                                 [](const auto &a, const auto &b) { return a.second < b.second; }));
    }
    known_[name] = now;
}

void AuthThrottle::update(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    drainBudget(now);
}

size_t AuthThrottle::trackedAddresses() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

size_t AuthThrottle::knownAddresses() const {
    std::lock_guard lock(mutex_);
    return known_.size();
}

AuthThrottle::Wait AuthThrottle::waitFor(const std::vector<Source> &sources,
                                         Clock::time_point now) {
    drainBudget(now);
    Wait wait;
    auto consider = [&](milliseconds time, const std::string &from) {
        if (time > wait.time)
            wait = {time, from};
    };
    // A known address answers for its own failures only: not for its
    // neighbours', nor for everyone's.
    const bool isKnown = known(sources.front().name, now);
    for (const Source &source : sources) {
        auto it = entries_.find(source.name);
        if (it != entries_.end())
            consider(until(it->second.blockedUntil, now), source.name);
        if (isKnown)
            return wait;
    }
    if (!entries_.contains(sources.front().name))
        consider(until(overflow_.blockedUntil, now), kUnknownAddresses);
    if (budgetTripped_) {
        const int64_t rate = policy_.failuresPerMinute;
        const int64_t excess = budget_ - rate * kMinute / 2;
        consider(milliseconds{(excess + rate - 1) / rate}, kUnknownAddresses);
    }
    return wait;
}

bool AuthThrottle::known(const std::string &name, Clock::time_point now) const {
    auto it = known_.find(name);
    return it != known_.end() && now - it->second <= policy_.knownFor;
}

AuthThrottle::Entry *AuthThrottle::entryFor(const Source &source,
                                            const std::vector<Source> &sources,
                                            Clock::time_point now) {
    auto it = entries_.find(source.name);
    if (it != entries_.end())
        return &it->second;
    if (entries_.size() >= policy_.maxAddresses && !makeRoom(sources, now))
        return nullptr;
    Entry &entry = entries_[source.name];
    entry.freeFailures = source.freeFailures;
    return &entry;
}

bool AuthThrottle::makeRoom(const std::vector<Source> &sources, Clock::time_point now) {
    auto ours = [&](const std::string &name) {
        return std::any_of(sources.begin(), sources.end(),
                           [&](const Source &source) { return source.name == name; });
    };
    std::erase_if(entries_, [&](const auto &item) {
        return !blocked(item.second, now) && now - item.second.lastFailure > 2 * policy_.maxBlock &&
               !ours(item.first);
    });
    if (entries_.size() < policy_.maxAddresses)
        return true;
    // Still full: an unblocked entry goes, the one with the fewest failures
    // beyond its free ones first (none: it was never blocked), the one that
    // failed longest ago among equals. A blocked entry never goes.
    auto victim = entries_.end();
    auto rank = [](const Entry &entry) {
        return std::pair{std::max(entry.failures - entry.freeFailures, 0), entry.lastFailure};
    };
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (blocked(it->second, now) || ours(it->first))
            continue;
        if (victim == entries_.end() || rank(it->second) < rank(victim->second))
            victim = it;
    }
    if (victim == entries_.end())
        return false;
    entries_.erase(victim);
    return true;
}

void AuthThrottle::countFailure(Entry &entry, Clock::time_point now) const {
    // Failures are forgotten only after a quiet spell, never by a success:
    // a view-only password must not buy unlimited guesses at the full one.
    if (entry.failures > 0 && now - entry.lastFailure > 2 * policy_.maxBlock)
        entry.failures = 0;
    entry.failures += 1;
    entry.lastFailure = now;
    const int beyond = entry.failures - entry.freeFailures;
    if (beyond <= 0)
        return;
    milliseconds block = policy_.firstBlock;
    for (int i = 1; i < beyond && block < policy_.maxBlock; ++i)
        block *= 2;
    entry.blockedUntil = now + std::min(block, policy_.maxBlock);
}

// The budget counts in failures x 60000: a failure adds a minute's worth of
// milliseconds, and it drains by failuresPerMinute each millisecond, which
// keeps the arithmetic exact.
void AuthThrottle::drainBudget(Clock::time_point now) {
    if (policy_.failuresPerMinute <= 0 || now <= budgetAt_)
        return;
    const int64_t rate = policy_.failuresPerMinute;
    const int64_t half = rate * kMinute / 2;
    const auto elapsed = std::chrono::duration_cast<milliseconds>(now - budgetAt_);
    const int64_t before = budget_;
    budget_ = std::max<int64_t>(0, budget_ - elapsed.count() * rate);
    if (budgetTripped_ && budget_ <= half) {
        // When it fell to half, which may be before anyone asked.
        const auto recovered = budgetAt_ + milliseconds{(before - half + rate - 1) / rate};
        budgetTripped_ = false;
        LOG_INFO(kLog,
                 "failed logins are back under %d a minute: addresses with no recent login may "
                 "try again (after %lld s; meanwhile %d failed and %d were refused)",
                 policy_.failuresPerMinute,
                 static_cast<long long>(
                     std::chrono::ceil<std::chrono::seconds>(recovered - trippedAt_).count()),
                 failedWhileTripped_, refusedWhileTripped_);
    }
    budgetAt_ += elapsed;
}

void AuthThrottle::countInBudget(Clock::time_point now) {
    if (policy_.failuresPerMinute <= 0)
        return;
    drainBudget(now);
    budget_ += kMinute;
    if (budgetTripped_) {
        ++failedWhileTripped_;
        return;
    }
    if (budget_ > policy_.failuresPerMinute * kMinute) {
        budgetTripped_ = true;
        trippedAt_ = now;
        failedWhileTripped_ = 0;
        refusedWhileTripped_ = 0;
        LOG_WARN(kLog,
                 "more than %d failed logins a minute from all addresses together: addresses "
                 "with no successful login in the last %s must wait",
                 policy_.failuresPerMinute, spell(policy_.knownFor).c_str());
    }
}

}  // namespace kvmvnc::door
