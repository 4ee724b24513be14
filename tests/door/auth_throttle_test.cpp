// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/auth_throttle.h"

#include <gtest/gtest.h>

namespace kvmvnc::door {
namespace {

using std::chrono::milliseconds;

TEST(AuthThrottleTest, FreeFailuresThenDoublingBlocksUpToTheCap) {
    AuthThrottle throttle({.freeFailures = 2,
                           .firstBlock = milliseconds{1000},
                           .maxBlock = milliseconds{5000},
                           .maxAddresses = 16});
    const Clock::time_point t0{};
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).count(), 0);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).count(), 0);
    EXPECT_EQ(throttle.blockedFor("10.0.0.1", t0).count(), 0) << "mistyping twice is free";
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).count(), 1000);
    EXPECT_EQ(throttle.blockedFor("10.0.0.1", t0 + milliseconds{400}).count(), 600);
    EXPECT_EQ(throttle.blockedFor("10.0.0.1", t0 + milliseconds{1000}).count(), 0);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).count(), 2000);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).count(), 4000);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).count(), 5000) << "capped";
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).count(), 5000);
    EXPECT_EQ(throttle.blockedFor("10.0.0.2", t0).count(), 0) << "other addresses are not blocked";
}

TEST(AuthThrottleTest, ASuccessForgivesNothingButAQuietSpellDoes) {
    AuthThrottle throttle({.freeFailures = 1,
                           .firstBlock = milliseconds{1000},
                           .maxBlock = milliseconds{8000},
                           .maxAddresses = 16});
    const Clock::time_point t0{};
    throttle.recordFailure("a", t0);
    // (a login with the view-only password in between changes nothing)
    EXPECT_EQ(throttle.recordFailure("a", t0).count(), 1000) << "the count goes on";
    const Clock::time_point later = t0 + milliseconds{16001};
    EXPECT_EQ(throttle.recordFailure("a", later).count(), 0) << "quiet for twice the cap";
}

TEST(AuthThrottleTest, TheTableStaysBoundedUnderAFloodOfSources) {
    AuthThrottle throttle({.freeFailures = 3,
                           .firstBlock = milliseconds{1000},
                           .maxBlock = milliseconds{1000},
                           .maxAddresses = 8});
    Clock::time_point now{};
    for (int i = 0; i < 1000; ++i) {
        now += milliseconds{1};
        throttle.recordFailure("192.0.2." + std::to_string(i), now);
        ASSERT_LE(throttle.trackedAddresses(), 8u);
    }
    // The blocked attacker stays blocked although others came after it.
    for (int i = 0; i < 4; ++i)
        throttle.recordFailure("198.51.100.1", now);
    throttle.recordFailure("192.0.2.5000", now);
    EXPECT_GT(throttle.blockedFor("198.51.100.1", now).count(), 0);
}

}  // namespace
}  // namespace kvmvnc::door
