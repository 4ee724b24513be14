// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/auth_throttle.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace kvmvnc::door {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// "2001:db8:1:<hextet>::<host>": one /64 for each hextet.
std::string inSite(unsigned hextet, unsigned host = 1) {
    char text[64];
    std::snprintf(text, sizeof(text), "2001:db8:1:%x::%x", hextet, host);
    return text;
}

TEST(AuthThrottleTest, FreeFailuresThenDoublingBlocksUpToTheCap) {
    AuthThrottle throttle({.freeFailures = 2,
                           .firstBlock = milliseconds{1000},
                           .maxBlock = milliseconds{5000},
                           .maxAddresses = 16});
    const Clock::time_point t0{};
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).time.count(), 0);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).time.count(), 0);
    EXPECT_EQ(throttle.blockedFor("10.0.0.1", t0).time.count(), 0) << "mistyping twice is free";
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).time.count(), 1000);
    EXPECT_EQ(throttle.blockedFor("10.0.0.1", t0 + milliseconds{400}).time.count(), 600);
    EXPECT_EQ(throttle.blockedFor("10.0.0.1", t0 + milliseconds{400}).from, "10.0.0.1");
    EXPECT_EQ(throttle.blockedFor("10.0.0.1", t0 + milliseconds{1000}).time.count(), 0);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).time.count(), 2000);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).time.count(), 4000);
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).time.count(), 5000) << "capped";
    EXPECT_EQ(throttle.recordFailure("10.0.0.1", t0).time.count(), 5000);
    EXPECT_EQ(throttle.blockedFor("10.0.0.2", t0).time.count(), 0)
        << "other addresses are not blocked";
}

TEST(AuthThrottleTest, ASuccessForgivesNothingButAQuietSpellDoes) {
    AuthThrottle throttle({.freeFailures = 1,
                           .firstBlock = milliseconds{1000},
                           .maxBlock = milliseconds{8000},
                           .maxAddresses = 16});
    const Clock::time_point t0{};
    throttle.recordFailure("a", t0);
    throttle.recordSuccess("a", t0);  // the view-only password, say
    EXPECT_EQ(throttle.recordFailure("a", t0).time.count(), 1000) << "the count goes on";
    const Clock::time_point later = t0 + milliseconds{16001};
    EXPECT_EQ(throttle.recordFailure("a", later).time.count(), 0) << "quiet for twice the cap";
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
        throttle.recordFailure(inSite(i), now);
        ASSERT_LE(throttle.trackedAddresses(), 8u);
    }
    // The blocked attacker stays blocked although others came after it.
    for (int i = 0; i < 4; ++i)
        throttle.recordFailure("198.51.100.1", now);
    throttle.recordFailure("192.0.2.5000", now);
    EXPECT_GT(throttle.blockedFor("198.51.100.1", now).time.count(), 0);
}

TEST(AuthThrottleTest, AFullTableForgetsUnblockedEntriesAndNeverABlockedOne) {
    AuthThrottle throttle({.freeFailures = 2,
                           .firstBlock = milliseconds{10000},
                           .maxBlock = milliseconds{60000},
                           .maxAddresses = 4,
                           .failuresPerMinute = 0});
    const Clock::time_point t0{};
    // The oldest entry, blocked for ten seconds.
    for (int i = 0; i < 3; ++i)
        throttle.recordFailure("198.51.100.1", t0);
    // Blocked too, for a moment only: its block is over when the table
    // fills, and it is the next oldest.
    throttle.recordFailure("198.51.100.2", t0 - 60s);
    throttle.recordFailure("198.51.100.2", t0 - 60s);
    ASSERT_GT(throttle.recordFailure("198.51.100.2", t0 - 60s + 1ms).time.count(), 0);
    // Newer, each still within its free failures.
    throttle.recordFailure("192.0.2.1", t0 + 1s);
    throttle.recordFailure("192.0.2.2", t0 + 2s);
    ASSERT_EQ(throttle.trackedAddresses(), 4u);

    // Each newcomer takes the place of an entry that was never blocked,
    // although the blocked ones failed longer ago.
    throttle.recordFailure("203.0.113.1", t0 + 3s);
    throttle.recordFailure("203.0.113.2", t0 + 3s);
    EXPECT_EQ(throttle.trackedAddresses(), 4u);
    EXPECT_GT(throttle.blockedFor("198.51.100.1", t0 + 3s).time.count(), 0);
    EXPECT_EQ(throttle.recordFailure("198.51.100.2", t0 + 3s).time.count(), 20000)
        << "its count was kept: the fourth failure blocks for twice the first block";
}

TEST(AuthThrottleTest, ATableFullOfBlockedEntriesHoldsBackNewSourcesInstead) {
    AuthThrottle throttle({.freeFailures = 1,
                           .firstBlock = milliseconds{10000},
                           .maxBlock = milliseconds{60000},
                           .maxAddresses = 3,
                           .failuresPerMinute = 0});
    const Clock::time_point t0{};
    throttle.recordSuccess("192.0.2.100", t0 - 1h);  // the owner, earlier
    for (const char *attacker : {"198.51.100.1", "198.51.100.2", "198.51.100.3"}) {
        throttle.recordFailure(attacker, t0);
        ASSERT_GT(throttle.recordFailure(attacker, t0).time.count(), 0);
    }
    // No room: the newcomers' failures are counted together, as if from one
    // source, and the blocked ones stay.
    EXPECT_EQ(throttle.recordFailure("198.51.100.4", t0).time.count(), 0) << "its free failure";
    const AuthThrottle::Wait wait = throttle.recordFailure("198.51.100.5", t0);
    EXPECT_EQ(wait.time.count(), 10000);
    EXPECT_EQ(wait.from, AuthThrottle::kUnknownAddresses);
    EXPECT_EQ(throttle.trackedAddresses(), 3u);
    EXPECT_GT(throttle.blockedFor("203.0.113.9", t0).time.count(), 0) << "any new source waits";
    for (const char *attacker : {"198.51.100.1", "198.51.100.2", "198.51.100.3"})
        EXPECT_GT(throttle.blockedFor(attacker, t0).time.count(), 0) << attacker;
    EXPECT_EQ(throttle.blockedFor("192.0.2.100", t0).time.count(), 0) << "the owner does not";

    // Once the blocks are over, a newcomer has a place of its own again.
    const Clock::time_point later = t0 + 11s;
    EXPECT_EQ(throttle.blockedFor("203.0.113.9", later).time.count(), 0);
    EXPECT_EQ(throttle.recordFailure("203.0.113.9", later).time.count(), 0);
    EXPECT_GT(throttle.recordFailure("203.0.113.9", later).time.count(), 0);
    EXPECT_EQ(throttle.blockedFor("203.0.113.10", later).time.count(), 0) << "not the shared one";
}

TEST(AuthThrottleTest, OneIpv6Slash64IsOneSource) {
    AuthThrottle throttle({.freeFailures = 3, .failuresPerMinute = 0});
    const Clock::time_point t0{};
    for (unsigned host = 1; host <= 3; ++host)
        EXPECT_EQ(throttle.recordFailure(inSite(5, host), t0).time.count(), 0);
    const AuthThrottle::Wait wait = throttle.recordFailure(inSite(5, 4), t0);
    EXPECT_EQ(wait.time.count(), 2000);
    EXPECT_EQ(wait.from, "2001:db8:1:5::/64");
    EXPECT_GT(throttle.blockedFor(inSite(5, 0xffff) + "%eth0", t0).time.count(), 0)
        << "the interface a link-local peer names changes nothing";
    EXPECT_EQ(throttle.blockedFor(inSite(6), t0).time.count(), 0) << "the next /64 is not";
}

TEST(AuthThrottleTest, CyclingTheSlash64sOfASlash48IsThrottledAsAWhole) {
    AuthThrottle throttle({.freeFailures = 3,
                           .freeFailuresPer56 = 8,
                           .freeFailuresPer48 = 16,
                           .failuresPerMinute = 0});
    const Clock::time_point t0{};
    // One failure from each /64, each in a /56 of its own.
    for (unsigned i = 0; i < 16; ++i)
        EXPECT_EQ(throttle.recordFailure(inSite(i << 8), t0).time.count(), 0) << i;
    const AuthThrottle::Wait wait = throttle.recordFailure(inSite(16 << 8), t0);
    EXPECT_EQ(wait.time.count(), 2000);
    EXPECT_EQ(wait.from, "2001:db8:1::/48");
    EXPECT_GT(throttle.blockedFor(inSite(0xfff0), t0).time.count(), 0) << "a fresh /64 of it";
    EXPECT_EQ(throttle.blockedFor("2001:db8:2::1", t0).time.count(), 0) << "another /48";
    EXPECT_EQ(throttle.recordFailure(inSite(17 << 8), t0 + 2s).time.count(), 4000)
        << "and doubling, like one address";
}

TEST(AuthThrottleTest, CyclingTheSlash64sOfASlash56IsThrottledAsAWhole) {
    AuthThrottle throttle({.freeFailures = 3,
                           .freeFailuresPer56 = 8,
                           .freeFailuresPer48 = 16,
                           .failuresPerMinute = 0});
    const Clock::time_point t0{};
    for (unsigned i = 0; i < 8; ++i)
        EXPECT_EQ(throttle.recordFailure(inSite(0x100 + i), t0).time.count(), 0) << i;
    const AuthThrottle::Wait wait = throttle.recordFailure(inSite(0x1ff), t0);
    EXPECT_EQ(wait.time.count(), 2000);
    EXPECT_EQ(wait.from, "2001:db8:1:100::/56");
    EXPECT_EQ(throttle.blockedFor(inSite(0x200), t0).time.count(), 0)
        << "another /56 of the same /48, which is still within its free failures";
}

TEST(AuthThrottleTest, Ipv4AddressesCountOneByOne) {
    AuthThrottle throttle({.freeFailures = 1, .failuresPerMinute = 0});
    const Clock::time_point t0{};
    for (int i = 1; i < 255; ++i)
        EXPECT_EQ(throttle.recordFailure("192.0.2." + std::to_string(i), t0).time.count(), 0)
            << "no /24 is counted as a whole";
    const AuthThrottle::Wait wait = throttle.recordFailure("::ffff:192.0.2.7", t0);
    EXPECT_EQ(wait.time.count(), 2000) << "an IPv4 address as IPv6 is the same address";
    EXPECT_EQ(wait.from, "192.0.2.7");
}

// More than failuresPerMinute failures from all addresses together hold back
// every address without a recent login until the budget drained to half;
// the owner's address is not held back.
TEST(AuthThrottleTest, TheGlobalBudgetHoldsBackUnknownAddressesButNotKnownOnes) {
    AuthThrottle throttle(
        {.freeFailures = 3, .failuresPerMinute = 6, .knownFor = std::chrono::hours{24}});
    const Clock::time_point t0 = Clock::time_point{} + 1h;
    throttle.recordSuccess("192.0.2.100", t0 - 1h);
    throttle.recordSuccess(inSite(7, 1), t0 - 1h);
    throttle.recordSuccess("192.0.2.200", t0 - 25h);  // too long ago
    for (int i = 1; i <= 6; ++i)
        throttle.recordFailure("198.51.100." + std::to_string(i), t0);
    EXPECT_EQ(throttle.blockedFor("203.0.113.1", t0).time.count(), 0) << "six a minute are fine";

    ::testing::internal::CaptureStderr();
    const AuthThrottle::Wait tripped = throttle.recordFailure("198.51.100.7", t0);
    const std::string trip = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(trip.find("more than 6 failed logins a minute from all addresses together"),
              std::string::npos)
        << trip;
    // Seven in the budget, drained to three at six a minute: 40 s.
    EXPECT_EQ(tripped.time.count(), 40000);
    EXPECT_EQ(tripped.from, AuthThrottle::kUnknownAddresses);
    EXPECT_EQ(throttle.blockedFor("203.0.113.1", t0).time.count(), 40000);
    EXPECT_EQ(throttle.blockedFor(inSite(9), t0).time.count(), 40000);
    EXPECT_GT(throttle.blockedFor("192.0.2.200", t0).time.count(), 0);
    EXPECT_EQ(throttle.blockedFor("192.0.2.100", t0).time.count(), 0) << "known";
    EXPECT_EQ(throttle.blockedFor(inSite(7, 2), t0).time.count(), 0) << "known, the same /64";

    // The owner mistypes: counted, and not held back.
    EXPECT_EQ(throttle.recordFailure("192.0.2.100", t0 + 1s).time.count(), 0);
    // Seven and one, less a second's draining: 49 s to half.
    EXPECT_EQ(throttle.blockedFor("203.0.113.1", t0 + 1s).time.count(), 49000);
    EXPECT_EQ(throttle.blockedFor("203.0.113.1", t0 + 49s).time.count(), 1000);
    ::testing::internal::CaptureStderr();
    throttle.update(t0 + 50s);  // nobody asks, and yet it is logged
    const std::string recovery = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(recovery.find("failed logins are back under 6 a minute"), std::string::npos)
        << recovery;
    EXPECT_NE(recovery.find("after 50 s; meanwhile 1 failed and 5 were refused"), std::string::npos)
        << recovery;
    EXPECT_EQ(throttle.blockedFor("203.0.113.1", t0 + 50s).time.count(), 0);
}

TEST(AuthThrottleTest, FailuresBelowTheBudgetsRateNeverTripIt) {
    AuthThrottle throttle({.freeFailures = 1000, .failuresPerMinute = 6});
    Clock::time_point now{};
    for (int i = 0; i < 200; ++i) {
        now += 11s;  // not quite six a minute
        ASSERT_EQ(throttle.recordFailure("198.51.100." + std::to_string(i), now).time.count(), 0)
            << i;
    }
    // A burst over the rate trips it.
    for (int i = 0; i < 6; ++i)
        throttle.recordFailure("198.51.100.1", now);
    EXPECT_GT(throttle.blockedFor("203.0.113.1", now).time.count(), 0);
}

TEST(AuthThrottleTest, AKnownAddressAnswersForItsOwnFailuresOnly) {
    AuthThrottle throttle({.freeFailures = 3,
                           .freeFailuresPer56 = 8,
                           .freeFailuresPer48 = 16,
                           .failuresPerMinute = 0});
    const Clock::time_point t0{};
    throttle.recordSuccess(inSite(0x4242), t0);
    for (unsigned i = 0; i < 20; ++i)
        throttle.recordFailure(inSite(i << 8), t0);
    ASSERT_GT(throttle.blockedFor(inSite(0x4243), t0).time.count(), 0) << "the /48 is blocked";
    EXPECT_EQ(throttle.blockedFor(inSite(0x4242), t0).time.count(), 0) << "but not for the owner";
    for (int i = 0; i < 3; ++i)
        throttle.recordFailure(inSite(0x4242), t0);
    const AuthThrottle::Wait wait = throttle.recordFailure(inSite(0x4242), t0);
    EXPECT_EQ(wait.time.count(), 2000) << "whose own failures still count";
    EXPECT_EQ(wait.from, "2001:db8:1:4242::/64");
}

TEST(AuthThrottleTest, KnownAddressesAreBoundedTheNewestStay) {
    AuthThrottle throttle({.failuresPerMinute = 1, .maxKnown = 4});
    const Clock::time_point t0 = Clock::time_point{} + 1h;
    for (int i = 0; i < 100; ++i) {
        throttle.recordSuccess("192.0.2." + std::to_string(i), t0 + std::chrono::seconds{i});
        ASSERT_LE(throttle.knownAddresses(), 4u);
    }
    const Clock::time_point now = t0 + 100s;
    throttle.recordFailure("198.51.100.1", now);
    throttle.recordFailure("198.51.100.2", now);  // the budget trips
    EXPECT_EQ(throttle.blockedFor("192.0.2.99", now).time.count(), 0);
    EXPECT_EQ(throttle.blockedFor("192.0.2.96", now).time.count(), 0);
    EXPECT_GT(throttle.blockedFor("192.0.2.95", now).time.count(), 0) << "forgotten";
}

}  // namespace
}  // namespace kvmvnc::door
