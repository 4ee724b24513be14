// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/v4l2_capture.h"

#include <gtest/gtest.h>

namespace kvmvnc::capture {

TEST(V4l2FrameRateTest, InvertsTheFrameInterval) {
    EXPECT_DOUBLE_EQ(framesPerSecond(1, 30), 30.0);
    EXPECT_DOUBLE_EQ(framesPerSecond(1001, 60000), 60000.0 / 1001);
}

// A driver that does not fill the interval in leaves 0/0; one that fills it
// half leaves n/0 or 0/n. None of them is a rate, and none is divided by.
TEST(V4l2FrameRateTest, AnEmptyFrameIntervalIsNoRate) {
    EXPECT_EQ(framesPerSecond(0, 0), 0.0);
    EXPECT_EQ(framesPerSecond(1, 0), 0.0);
    EXPECT_EQ(framesPerSecond(0, 30), 0.0);
}

}  // namespace kvmvnc::capture
