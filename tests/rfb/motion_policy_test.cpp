// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/motion_policy.h"

#include <gtest/gtest.h>

namespace kvmvnc::rfb {
namespace {

using namespace std::chrono_literals;
using Clock = MotionPolicy::Clock;

constexpr int64_t kScreen = 1000 * 1000;
const MotionPolicy::Options kDefaults;  // 25%, 3 frames, 300 ms
const int64_t kLarge = kScreen * kDefaults.areaPercent / 100;

TEST(MotionPolicyTest, MotionStartsAtTheThirdLargeFrameInARow) {
    MotionPolicy policy;
    Clock::time_point now{1h};
    EXPECT_FALSE(policy.active(now)) << "nothing moved yet";
    for (int i = 1; i < kDefaults.frames; ++i) {
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
    for (int i = 0; i < kDefaults.frames; ++i)
        policy.noteFrame(kScreen, kScreen, now);
    now += kDefaults.still - 1ms;
    EXPECT_TRUE(policy.active(now));
    policy.noteFrame(kScreen, kScreen, now);  // still moving: lasts on
    now += kDefaults.still - 1ms;
    EXPECT_TRUE(policy.active(now));
    now += 1ms;
    EXPECT_FALSE(policy.active(now)) << "still for `still`";
    EXPECT_FALSE(MotionPolicy{}.active(now));
}

TEST(MotionPolicyTest, APauseAsLongAsTheStillPeriodEndsTheRun) {
    MotionPolicy policy;
    Clock::time_point now{1h};
    for (int i = 0; i < kDefaults.frames; ++i)
        policy.noteFrame(kScreen, kScreen, now);
    ASSERT_TRUE(policy.active(now));
    now += kDefaults.still;
    EXPECT_FALSE(policy.active(now));
    policy.noteFrame(kScreen, kScreen, now);  // a window opening after the video stopped
    EXPECT_FALSE(policy.active(now));
    for (int i = 1; i < kDefaults.frames; ++i)
        policy.noteFrame(kScreen, kScreen, now);
    EXPECT_TRUE(policy.active(now)) << "moving again";
}

// [h264] motion_percent, motion_frames and still_ms.
TEST(MotionPolicyTest, TheThresholdsAreTheConfiguredOnes) {
    MotionPolicy policy({.areaPercent = 10, .frames = 1, .still = 1000ms});
    Clock::time_point now{1h};
    policy.noteFrame(kScreen / 10 - 1, kScreen, now);
    EXPECT_FALSE(policy.active(now));
    policy.noteFrame(kScreen / 10, kScreen, now);
    EXPECT_TRUE(policy.active(now)) << "one frame of a tenth of the screen";
    EXPECT_TRUE(policy.active(now + 999ms));
    EXPECT_FALSE(policy.active(now + 1000ms));
}

}  // namespace
}  // namespace kvmvnc::rfb
