// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/connection_slots.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace kvmvnc::door {
namespace {

using Slots = ConnectionSlots<int>;
using Pool = Slots::Pool;

TEST(ConnectionSlots, TakesPlacesUpToTheLimits) {
    Slots slots({3, 2}, {1, 1});
    EXPECT_EQ(slots.take(1, "a", Pool::Handshake), std::nullopt);
    EXPECT_EQ(slots.take(2, "a", Pool::Handshake), std::nullopt);
    EXPECT_EQ(slots.take(3, "b", Pool::Handshake), std::nullopt);
    EXPECT_EQ(slots.take(4, "c", Pool::Files), std::nullopt);
    EXPECT_EQ(slots.count(Pool::Handshake), 3);
    EXPECT_EQ(slots.count(Pool::Files), 1);
}

TEST(ConnectionSlots, AFullGroupMakesRoomWithItsOwnOldest) {
    Slots slots({10, 2}, {1, 1});
    slots.take(1, "a", Pool::Handshake);
    slots.take(2, "b", Pool::Handshake);
    slots.take(3, "a", Pool::Handshake);
    EXPECT_EQ(slots.take(4, "a", Pool::Handshake), 1);
    EXPECT_EQ(slots.take(5, "a", Pool::Handshake), 3);
    EXPECT_EQ(slots.count(Pool::Handshake), 3);
}

TEST(ConnectionSlots, AFullPoolMakesRoomInTheGroupHoldingTheMost) {
    Slots slots({4, 4}, {1, 1});
    slots.take(1, "viewer", Pool::Handshake);
    slots.take(2, "flood", Pool::Handshake);
    slots.take(3, "flood", Pool::Handshake);
    slots.take(4, "other", Pool::Handshake);
    // The viewer's place is the oldest, but the flood holds the most.
    EXPECT_EQ(slots.take(5, "other", Pool::Handshake), 2);
    // Now flood and other hold two each with the newcomer: the older goes.
    EXPECT_EQ(slots.take(6, "flood", Pool::Handshake), 3);
    EXPECT_EQ(slots.take(7, "flood", Pool::Handshake), 4);
}

TEST(ConnectionSlots, AFloodReopeningItsConnectionsNeverPushesOutAnotherAddress) {
    Slots slots({32, 8}, {1, 1});
    int next = 100;
    for (int i = 0; i < 40; ++i)
        slots.take(next++, "flood" + std::to_string(i % 5), Pool::Handshake);
    slots.take(1, "viewer", Pool::Handshake);
    for (int i = 0; i < 10000; ++i) {
        const std::optional<int> pushed =
            slots.take(next++, "flood" + std::to_string(i % 5), Pool::Handshake);
        ASSERT_TRUE(pushed);
        ASSERT_NE(*pushed, 1) << "after " << i << " reopened connections";
    }
    EXPECT_EQ(slots.count(Pool::Handshake), 32);
    EXPECT_TRUE(slots.release(1));
}

TEST(ConnectionSlots, EqualGroupsGiveUpTheirOldestPlace) {
    Slots slots({3, 3}, {1, 1});
    slots.take(1, "a", Pool::Handshake);
    slots.take(2, "b", Pool::Handshake);
    slots.take(3, "c", Pool::Handshake);
    EXPECT_EQ(slots.take(4, "d", Pool::Handshake), 1);
    EXPECT_EQ(slots.take(5, "e", Pool::Handshake), 2);
}

TEST(ConnectionSlots, MovingToTheOtherPoolFreesThePlace) {
    Slots slots({1, 1}, {2, 2});
    slots.take(1, "a", Pool::Handshake);
    EXPECT_EQ(slots.take(1, "a", Pool::Files), std::nullopt);
    EXPECT_EQ(slots.take(2, "a", Pool::Handshake), std::nullopt) << "1 left the handshakes";
    EXPECT_EQ(slots.take(3, "a", Pool::Files), std::nullopt);
    // Back to the files pool's limit: the oldest there goes, the handshake stays.
    EXPECT_EQ(slots.take(4, "b", Pool::Files), 1);
    EXPECT_EQ(slots.count(Pool::Handshake), 1);
    EXPECT_EQ(slots.count(Pool::Files), 2);
}

TEST(ConnectionSlots, ReleaseSaysWhetherAPlaceWasHeld) {
    Slots slots({1, 1}, {1, 1});
    slots.take(1, "a", Pool::Handshake);
    EXPECT_EQ(slots.take(2, "a", Pool::Handshake), 1);
    EXPECT_FALSE(slots.release(1)) << "pushed out already";
    EXPECT_TRUE(slots.release(2));
    EXPECT_FALSE(slots.release(2));
    EXPECT_EQ(slots.count(Pool::Handshake), 0);
}

TEST(ConnectionSlots, RefusesLimitsBelowOne) {
    EXPECT_THROW(Slots({0, 1}, {1, 1}), std::invalid_argument);
    EXPECT_THROW(Slots({1, 1}, {1, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace kvmvnc::door
