// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kvmvnc/door/transport.h"

namespace kvmvnc::door {

// Slows password guessing, per source and over all sources.
//
// Sources: an IPv4 address; an IPv6 /64 (one host can use a whole /64), and
// also the /56 and /48 around it, each with more free failures (a site is
// given 256 or 65536 /64s: cycling through them is throttled as a whole).
// IPv4 is not grouped into /24s: addresses are too scarce to cycle cheaply,
// and a /24 is often many unrelated people (carrier NAT, a campus) - the
// budget below covers many addresses instead.
//
// Per source, the first few failures are free (people mistype); each further
// one blocks it for twice as long as the one before, up to a cap. While
// blocked, a source is refused before it may try (with how long to wait), so
// parallel connections gain nothing. A success forgives nothing (someone with
// a view-only password would otherwise get unlimited guesses at the full
// one); a source quiet for twice the cap starts afresh.
//
// Over all sources, each failure fills a budget that drains at
// failuresPerMinute. When it holds more than a minute's worth, every
// address without a successful login in the last knownFor ("unknown") waits
// until it has drained to half (so at least 30 s): many addresses together
// get no more guesses than that rate. An address a password was accepted
// from recently is judged by its own failures only - neither the budget nor
// its /56 and /48 hold it back - so an attack does not lock the owner out.
// The budget logs when it trips and when it recovers; draining to half
// between the two keeps those lines at least 30 s apart.
//
// Memory is bounded: at most maxAddresses sources (prefixes included) and
// maxKnown known addresses. A full table forgets stale sources first, then
// unblocked ones (the fewest failures beyond their free ones first, the
// oldest among equals), never a blocked one: forgetting it would let its
// attacker out.
// When every entry is blocked, the failures of sources that find no room
// are counted together as if from one source, whose blocks hold back every
// unknown address without an entry of its own: new sources wait rather than
// blocked ones go free.
// Thread-safe.
class AuthThrottle {
public:
    struct Policy {
        int freeFailures = 3;  // per IPv4 address or IPv6 /64
        int freeFailuresPer56 = 8;
        int freeFailuresPer48 = 16;
        std::chrono::milliseconds firstBlock{2000};
        std::chrono::milliseconds maxBlock{300000};
        size_t maxAddresses = 4096;
        int failuresPerMinute = 30;  // from all addresses; 0: no budget
        std::chrono::milliseconds knownFor{std::chrono::hours{24 * 30}};
        size_t maxKnown = 256;
    };

    // How long a source must still wait before it may try, and what is
    // blocked: the address, its /56 or /48, or kUnknownAddresses.
    struct Wait {
        std::chrono::milliseconds time{0};
        std::string from;
    };
    static constexpr const char *kUnknownAddresses = "addresses with no recent login";

    AuthThrottle() : AuthThrottle(Policy{}) {}
    explicit AuthThrottle(Policy policy)
        : policy_(policy), overflow_{.freeFailures = policy.freeFailures} {}

    // `address`: an IPv4 or IPv6 literal (anything else counts as itself).
    Wait blockedFor(const std::string &address, Clock::time_point now);
    // Counts a failure; returns the wait the address has from now (zero
    // while its failures are still free and the budget holds).
    Wait recordFailure(const std::string &address, Clock::time_point now);
    // A password was accepted from `address`: it is known from now on.
    void recordSuccess(const std::string &address, Clock::time_point now);
    // Lets the budget drain, and its recovery be logged, while nobody tries
    // to log in (the door calls it about once a second).
    void update(Clock::time_point now);

    size_t trackedAddresses() const;
    size_t knownAddresses() const;

private:
    struct Entry {
        int failures = 0;
        int freeFailures = 0;
        Clock::time_point lastFailure{};
        Clock::time_point blockedUntil{};
    };
    // A name a failure counts under, and its free failures.
    struct Source {
        std::string name;
        int freeFailures;
    };

    // The address first, then the prefixes around it.
    std::vector<Source> sourcesOf(const std::string &address) const;
    Wait waitFor(const std::vector<Source> &sources, Clock::time_point now);
    bool known(const std::string &name, Clock::time_point now) const;
    Entry *entryFor(const Source &source, const std::vector<Source> &sources,
                    Clock::time_point now);
    bool makeRoom(const std::vector<Source> &sources, Clock::time_point now);
    void countFailure(Entry &entry, Clock::time_point now) const;
    void drainBudget(Clock::time_point now);
    void countInBudget(Clock::time_point now);

    const Policy policy_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    Entry overflow_;                                            // the sources that found no room
    std::unordered_map<std::string, Clock::time_point> known_;  // the last success

    int64_t budget_ = 0;  // failures x 60000, see drainBudget()
    Clock::time_point budgetAt_;
    bool budgetTripped_ = false;
    Clock::time_point trippedAt_;
    int failedWhileTripped_ = 0;
    int refusedWhileTripped_ = 0;
};

}  // namespace kvmvnc::door
