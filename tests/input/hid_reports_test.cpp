// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/hid_reports.h"

#include <gtest/gtest.h>

#include "kvmvnc/input/hid_usage.h"

namespace kvmvnc::input {

TEST(KeyboardStateTest, KeysAndModifiersMakeTheBootReport) {
    KeyboardState keyboard;
    EXPECT_EQ(keyboard.report(), (KeyboardReport{0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_TRUE(keyboard.press(usage::kLeftShift));
    EXPECT_TRUE(keyboard.press(usage::kA));
    EXPECT_EQ(keyboard.report(), (KeyboardReport{0x02, 0, 0x04, 0, 0, 0, 0, 0}));
    EXPECT_FALSE(keyboard.press(usage::kA)) << "pressing a held key changes nothing";
    EXPECT_TRUE(keyboard.release(usage::kLeftShift));
    EXPECT_EQ(keyboard.report(), (KeyboardReport{0, 0, 0x04, 0, 0, 0, 0, 0}));
}

TEST(KeyboardStateTest, EveryModifierHasItsBit) {
    const uint8_t usages[] = {0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7};
    KeyboardState keyboard;
    uint8_t expected = 0;
    for (int i = 0; i < 8; ++i) {
        keyboard.press(usages[i]);
        expected |= static_cast<uint8_t>(1 << i);
        EXPECT_EQ(keyboard.report()[0], expected);
    }
    EXPECT_EQ(keyboard.report()[2], 0) << "modifiers take no key slot";
}

TEST(KeyboardStateTest, SixKeysFitTheSeventhIsRollover) {
    KeyboardState keyboard;
    for (uint8_t key = 0x04; key < 0x0a; ++key)
        keyboard.press(key);
    EXPECT_EQ(keyboard.report(), (KeyboardReport{0, 0, 4, 5, 6, 7, 8, 9}));
    keyboard.press(0x0a);
    EXPECT_EQ(keyboard.report(), (KeyboardReport{0, 0, 1, 1, 1, 1, 1, 1}));
    keyboard.release(0x04);
    EXPECT_EQ(keyboard.report(), (KeyboardReport{0, 0, 5, 6, 7, 8, 9, 0x0a}));
}

TEST(KeyboardStateTest, ModifierOverrideAddsAndRemoves) {
    KeyboardState keyboard;
    keyboard.press(usage::kLeftShift);
    keyboard.setModifierOverride(modifier::kAltGr, modifier::kShift);
    EXPECT_EQ(keyboard.report()[0], modifier::kAltGr);
    keyboard.setModifierOverride(0, 0);
    EXPECT_EQ(keyboard.report()[0], modifier::kLeftShift);
}

TEST(KeyboardStateTest, ReleaseAllLeavesNothingPressed) {
    KeyboardState keyboard;
    keyboard.press(usage::kLeftControl);
    keyboard.press(usage::kDelete);
    keyboard.setModifierOverride(modifier::kLeftShift, 0);
    EXPECT_TRUE(keyboard.releaseAll());
    EXPECT_EQ(keyboard.report(), KeyboardReport{});
    EXPECT_FALSE(keyboard.releaseAll());
}

TEST(MouseStateTest, ScalesPixelsToTheFullUsbRange) {
    EXPECT_EQ(MouseState::scale(0, 1920), 0);
    EXPECT_EQ(MouseState::scale(1919, 1920), 32767);
    EXPECT_EQ(MouseState::scale(960, 1920), 16392);
    EXPECT_EQ(MouseState::scale(-5, 1920), 0) << "clamped";
    EXPECT_EQ(MouseState::scale(5000, 1920), 32767) << "clamped";
    EXPECT_EQ(MouseState::scale(0, 1), 0);
}

// A framebuffer of 0 or 1 pixels (no picture yet, a degenerate mode) has no
// range to scale over: the pointer stays at 0 instead of dividing by zero,
// which traps on x86 and on 32-bit ARM alike.
TEST(MouseStateTest, AnEmptyFramebufferPutsThePointerAtTheOrigin) {
    MouseState mouse;
    for (Size screen : {Size{0, 0}, Size{1, 1}, Size{-1, -1}}) {
        auto reports = mouse.apply(rfbbutton::kLeft, 100, 100, screen);
        ASSERT_EQ(reports.size(), 1u);
        EXPECT_EQ(reports[0], (AbsoluteMouseReport{0x01, 0, 0, 0, 0, 0, 0}));
    }
    EXPECT_EQ(MouseState::scale(100, 0), 0);
}

TEST(MouseStateTest, ButtonsAndPositionMakeTheReport) {
    MouseState mouse;
    auto reports = mouse.apply(rfbbutton::kLeft | rfbbutton::kRight, 1919, 0, {1920, 1080});
    ASSERT_EQ(reports.size(), 1u);
    // HID buttons: 1 left, 2 right, 3 middle.
    EXPECT_EQ(reports[0], (AbsoluteMouseReport{0x03, 0xff, 0x7f, 0, 0, 0, 0}));
    reports = mouse.apply(rfbbutton::kMiddle, 0, 1079, {1920, 1080});
    EXPECT_EQ(reports[0], (AbsoluteMouseReport{0x04, 0, 0, 0xff, 0x7f, 0, 0}));
}

TEST(MouseStateTest, WheelButtonsBecomeOneStepPerPress) {
    MouseState mouse;
    auto reports = mouse.apply(rfbbutton::kWheelUp, 10, 10, {100, 100});
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(static_cast<int8_t>(reports[1][5]), 1);
    EXPECT_EQ(mouse.apply(0, 10, 10, {100, 100}).size(), 1u)
        << "releasing the wheel scrolls nothing";
    reports = mouse.apply(rfbbutton::kWheelDown, 10, 10, {100, 100});
    EXPECT_EQ(static_cast<int8_t>(reports[1][5]), -1);
    mouse.apply(0, 10, 10, {100, 100});
    reports = mouse.apply(rfbbutton::kWheelRight, 10, 10, {100, 100});
    EXPECT_EQ(static_cast<int8_t>(reports[1][6]), 1);
    EXPECT_EQ(reports[1][0], 0) << "wheel buttons are not mouse buttons";
}

TEST(MouseStateTest, ReleaseAllKeepsThePosition) {
    MouseState mouse;
    mouse.apply(rfbbutton::kLeft, 99, 99, {100, 100});
    EXPECT_EQ(mouse.releaseAll(), (AbsoluteMouseReport{0, 0xff, 0x7f, 0xff, 0x7f, 0, 0}));
}

TEST(RelativeMouseStateTest, FirstEventOnlyLearnsWhereTheViewerIs) {
    RelativeMouseState mouse;
    EXPECT_TRUE(mouse.apply(0, 500, 300).empty()) << "no movement is invented";
    EXPECT_EQ(mouse.apply(0, 510, 295), (std::vector<RelativeMouseReport>{{0, 10, 0xfb, 0, 0}}));
    EXPECT_TRUE(mouse.apply(0, 510, 295).empty()) << "nothing moved, nothing changed";
}

TEST(RelativeMouseStateTest, LongMovesAreSplitIntoStepsOfAtMost127) {
    RelativeMouseState mouse;
    mouse.apply(0, 0, 1000);
    const auto reports = mouse.apply(0, 300, 900);
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_EQ(reports[0], (RelativeMouseReport{0, 127, static_cast<uint8_t>(-100), 0, 0}));
    EXPECT_EQ(reports[1], (RelativeMouseReport{0, 127, 0, 0, 0}));
    EXPECT_EQ(reports[2], (RelativeMouseReport{0, 46, 0, 0, 0}));
    int sumX = 0;
    for (const RelativeMouseReport &report : mouse.apply(0, 0, 900))
        sumX += static_cast<int8_t>(report[1]);
    EXPECT_EQ(sumX, -300) << "the way back adds up exactly";
}

TEST(RelativeMouseStateTest, AClickLandsWhereThePointerArrived) {
    RelativeMouseState mouse;
    mouse.apply(0, 10, 10);
    auto reports = mouse.apply(rfbbutton::kLeft, 20, 10);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(reports[0], (RelativeMouseReport{0, 10, 0, 0, 0})) << "moved with the button up";
    EXPECT_EQ(reports[1], (RelativeMouseReport{0x01, 0, 0, 0, 0})) << "then pressed";
    reports = mouse.apply(rfbbutton::kLeft, 25, 10);
    EXPECT_EQ(reports, (std::vector<RelativeMouseReport>{{0x01, 5, 0, 0, 0}})) << "a drag";
    reports = mouse.apply(rfbbutton::kRight | rfbbutton::kMiddle | rfbbutton::kBack, 25, 10);
    EXPECT_EQ(reports, (std::vector<RelativeMouseReport>{{0x0e, 0, 0, 0, 0}}));
}

TEST(RelativeMouseStateTest, WheelButtonsBecomeOneStepPerPress) {
    RelativeMouseState mouse;
    mouse.apply(0, 10, 10);
    EXPECT_EQ(mouse.apply(rfbbutton::kWheelDown, 10, 10),
              (std::vector<RelativeMouseReport>{{0, 0, 0, 0xff, 0}}));
    EXPECT_TRUE(mouse.apply(0, 10, 10).empty()) << "releasing the wheel scrolls nothing";
    EXPECT_EQ(mouse.apply(rfbbutton::kWheelUp | rfbbutton::kWheelLeft, 10, 10),
              (std::vector<RelativeMouseReport>{{0, 0, 0, 1, 0xff}}));
}

TEST(RelativeMouseStateTest, ReleaseAllLiftsTheButtonsWithoutMoving) {
    RelativeMouseState mouse;
    mouse.apply(rfbbutton::kLeft, 10, 10);
    EXPECT_EQ(mouse.releaseAll(), (RelativeMouseReport{0, 0, 0, 0, 0}));
    EXPECT_EQ(mouse.apply(rfbbutton::kLeft, 10, 10),
              (std::vector<RelativeMouseReport>{{0x01, 0, 0, 0, 0}}))
        << "pressed again after the release";
}

}  // namespace kvmvnc::input
