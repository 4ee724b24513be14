// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/motion_policy.h"

#include <gtest/gtest.h>

namespace kvmvnc::rfb {
namespace {

using namespace std::chrono_literals;
using Clock = MotionPolicy::Clock;

constexpr int64_t kScreen = 1000 * 1000;
constexpr int64_t kLarge = kScreen * MotionPolicy::kAreaPercent / 100;

TEST(MotionPolicyTest, MotionStartsAtTheThirdLargeFrameInARow) {
    MotionPolicy policy;
    Clock::time_point now{1h};
    EXPECT_FALSE(policy.active(now)) << "nothing moved yet";
    for (int i = 1; i < MotionPolicy::kFrames; ++i) {
        policy.noteFrame(kLarge, kScreen, now);
        EXPECT_FALSE(policy.active(now)) << "a window opening is one large change, not motion";
    }
    policy.noteFrame(kLarge, kScreen, now);
    EXPECT_TRUE(policy.active(now));
}

TEST(MotionPolicyTest, SmallChangesBreakTheRunAndNeverStartMotion) {
    MotionPolicy policy;
    Clock::time_point now{1h};
    for (int i = 0; i < 20; ++i) {
        policy.noteFrame(kLarge - 1, kScreen, now);  // just under the share
        policy.noteFrame(kLarge, kScreen, now);
    }
    EXPECT_FALSE(policy.active(now));
    policy.noteFrame(10, kScreen, now);  // a cursor blink
    policy.noteFrame(kLarge, kScreen, now);
    policy.noteFrame(kLarge, kScreen, now);
    policy.noteFrame(10, kScreen, now);
    policy.noteFrame(kLarge, kScreen, now);
    EXPECT_FALSE(policy.active(now));
}

TEST(MotionPolicyTest, MotionEndsAStillPeriodAfterTheLastLargeFrame) {
    MotionPolicy policy;
    Clock::time_point now{1h};
    for (int i = 0; i < MotionPolicy::kFrames; ++i)
        policy.noteFrame(kScreen, kScreen, now);
    now += MotionPolicy::kStill - 1ms;
    EXPECT_TRUE(policy.active(now));
    policy.noteFrame(kScreen, kScreen, now);  // still moving: lasts on
    now += MotionPolicy::kStill - 1ms;
    EXPECT_TRUE(policy.active(now));
    now += 1ms;
    EXPECT_FALSE(policy.active(now)) << "still for kStill";
    EXPECT_FALSE(MotionPolicy{}.active(now));
}

}  // namespace
}  // namespace kvmvnc::rfb
