// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kvmvnc::door {

// The front door's limited places for connections it has not admitted, and
// who gives one up when a newcomer finds them full.
//
// Two pools, each with a limit in all and one per address group (an IPv4
// address, an IPv6 /64): handshakes (from accept until the client has
// authenticated) and static files (an HTTP connection fetching the panel
// between requests, which needs no handshake place). A full pool never turns
// the newcomer away: whoever filled it first could then keep everyone out by
// reopening what times out. It pushes out the holder that has waited longest
// in the group holding the most places, the newcomer counted in its own. A
// flood from a few addresses thus pushes out only its own connections, and a
// client from any other address keeps its place for as long as its
// handshake takes (a person typing a password). Only a flood from more
// groups than the pool has places can push everyone out.
//
// `Holder` names a connection (the front door's record of it). Not
// thread-safe: the front door calls it under its state lock.
template <typename Holder>
class ConnectionSlots {
public:
    enum class Pool { Handshake, Files };
    struct Limits {
        int total;
        int perGroup;
    };

    // Throws std::invalid_argument unless every limit is at least 1.
    ConnectionSlots(Limits handshakes, Limits files) : handshakes_(handshakes), files_(files) {
        for (const Limits &limits : {handshakes, files}) {
            if (limits.total < 1 || limits.perGroup < 1)
                throw std::invalid_argument("connection limits must be at least 1");
        }
    }

    // Gives `holder`, from `group`, a place in `pool`, leaving the one it
    // held before. When that overfills the pool or the group's share of it,
    // returns the holder pushed out to make room (never `holder`), which
    // then holds no place.
    std::optional<Holder> take(Holder holder, const std::string &group, Pool pool) {
        release(holder);
        const Limits limits = pool == Pool::Handshake ? handshakes_ : files_;
        std::map<std::string_view, int> byGroup;
        int total = 0;
        for (const Place &place : places_) {
            if (place.pool == pool) {
                ++byGroup[place.group];
                ++total;
            }
        }
        const int own = ++byGroup[group];
        // places_ is in the order places were taken: the first match is the oldest.
        auto victim = places_.end();
        if (own > limits.perGroup) {
            victim = std::find_if(places_.begin(), places_.end(), [&](const Place &place) {
                return place.pool == pool && place.group == group;
            });
        } else if (total + 1 > limits.total) {
            int most = 0;
            for (const auto &[name, count] : byGroup)
                most = std::max(most, count);
            victim = std::find_if(places_.begin(), places_.end(), [&](const Place &place) {
                return place.pool == pool && byGroup[place.group] == most;
            });
        }
        std::optional<Holder> pushed;
        if (victim != places_.end()) {
            pushed = victim->holder;
            places_.erase(victim);
        }
        places_.push_back({holder, group, pool});
        return pushed;
    }

    // Gives up `holder`'s place; false when it held none (pushed out, or
    // released before).
    bool release(Holder holder) {
        const auto it = std::find_if(places_.begin(), places_.end(),
                                     [&](const Place &place) { return place.holder == holder; });
        if (it == places_.end())
            return false;
        places_.erase(it);
        return true;
    }

    int count(Pool pool) const {
        return static_cast<int>(
            std::count_if(places_.begin(), places_.end(),
                          [&](const Place &place) { return place.pool == pool; }));
    }

private:
    struct Place {
        Holder holder;
        std::string group;
        Pool pool;
    };

    Limits handshakes_;
    Limits files_;
    std::vector<Place> places_;  // oldest first
};

}  // namespace kvmvnc::door
