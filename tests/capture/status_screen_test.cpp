// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/status_screen.h"

#include <gtest/gtest.h>

namespace kvmvnc::capture {

namespace {
int brightPixels(const Frame &frame) {
    int n = 0;
    for (int y = 0; y < frame.height; ++y)
        for (int x = 0; x < frame.width; ++x)
            n += frame.row(y)[x * 4 + 1] > 0x80;
    return n;
}
}  // namespace

TEST(StatusScreenTest, NamesTheStateInLargeLetters) {
    Frame frame;
    renderStatusScreen({SignalState::NoDevice, "/dev/video0: No such file or directory"},
                       {1920, 1080}, frame);
    EXPECT_EQ(frame.width, 1920);
    EXPECT_EQ(frame.height, 1080);
    EXPECT_GT(brightPixels(frame), 5000);
}

TEST(StatusScreenTest, SameStatusGivesTheSamePicture) {
    Frame a;
    Frame b;
    renderStatusScreen({SignalState::NoSignal, "HDMI"}, {1280, 720}, a);
    renderStatusScreen({SignalState::NoSignal, "HDMI"}, {1280, 720}, b);
    EXPECT_EQ(a.pixels, b.pixels);
    renderStatusScreen({SignalState::NoSync, "HDMI"}, {1280, 720}, b);
    EXPECT_NE(a.pixels, b.pixels);
    renderStatusScreen({SignalState::NoSignal, "other"}, {1280, 720}, b);
    EXPECT_NE(a.pixels, b.pixels);
}

TEST(StatusScreenTest, FitsSmallScreensAndLongDetails) {
    Frame frame;
    renderStatusScreen({SignalState::DeviceError, std::string(500, 'x')}, {320, 200}, frame);
    EXPECT_EQ(frame.width, 320);
    EXPECT_GT(brightPixels(frame), 100);
}

TEST(StatusScreenTest, EveryStateHasATitle) {
    for (SignalState state :
         {SignalState::NoSignal, SignalState::NoSync, SignalState::OutOfRange, SignalState::NoCable,
          SignalState::NoDevice, SignalState::DeviceError})
        EXPECT_STRNE(signalStateTitle(state), "");
    EXPECT_STREQ(signalStateTitle(SignalState::NoSignal), "NO SIGNAL");
    EXPECT_STREQ(signalStateTitle(SignalState::NoDevice), "NO DEVICE");
}

}  // namespace kvmvnc::capture
