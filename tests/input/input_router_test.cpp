// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/input_router.h"

#include <gtest/gtest.h>

#include "kvmvnc/input/hid_usage.h"
#include "recording_sink.h"

namespace kvmvnc::input {

namespace {

KeyboardReport keys(uint8_t modifiers, uint8_t k1 = 0, uint8_t k2 = 0) {
    return {modifiers, 0, k1, k2, 0, 0, 0, 0};
}

constexpr uint32_t kShiftL = 0xffe1;
constexpr uint32_t kControlL = 0xffe3;
constexpr uint32_t kAltL = 0xffe9;
constexpr uint32_t kDelete = 0xffff;

class InputRouterTest : public testing::Test {
protected:
    void useLayout(const char *name, MouseMode mouseMode = MouseMode::Absolute) {
        router =
            std::make_unique<InputRouter>(std::make_shared<const KeysymMap>(KeysymMap::forLayout(
                                              name, {KVMVNC_KEYMAPS_BUILD_DIR})),
                                          sink, mouseMode);
    }
    void tap(ViewerId viewer, uint32_t keysym) {
        router->keysymEvent(viewer, true, keysym);
        router->keysymEvent(viewer, false, keysym);
    }

    RecordingSink sink;
    std::unique_ptr<InputRouter> router;
};

}  // namespace

TEST_F(InputRouterTest, PlainKeyIsPressedAndReleased) {
    useLayout("us");
    tap(1, 'a');
    EXPECT_EQ(sink.keyboard, (std::vector<KeyboardReport>{keys(0, 0x04), keys(0)}));
}

TEST_F(InputRouterTest, ShiftTheViewerDidNotSendIsAddedAroundTheKey) {
    useLayout("us");
    tap(1, 'A');
    // Shift first, then the key, then the key up, then Shift up.
    EXPECT_EQ(sink.keyboard,
              (std::vector<KeyboardReport>{keys(0x02), keys(0x02, 0x04), keys(0x02), keys(0)}));
}

TEST_F(InputRouterTest, UsViewerTypingAtOnAGermanTarget) {
    useLayout("de");
    // A US keyboard sends Shift and '@'; on German '@' is AltGr+Q, no Shift.
    router->keysymEvent(1, true, kShiftL);
    tap(1, '@');
    router->keysymEvent(1, false, kShiftL);
    EXPECT_EQ(sink.keyboard, (std::vector<KeyboardReport>{keys(0x02), keys(0x40), keys(0x40, 0x14),
                                                          keys(0x40), keys(0x02), keys(0)}));
}

TEST_F(InputRouterTest, ColonOnAGermanTargetGetsShift) {
    useLayout("de");
    tap(1, ':');
    EXPECT_EQ(sink.keyboard[1], keys(0x02, 0x37));
}

TEST_F(InputRouterTest, CtrlAltDelFromKeysyms) {
    useLayout("us");
    router->keysymEvent(1, true, kControlL);
    router->keysymEvent(1, true, kAltL);
    router->keysymEvent(1, true, kDelete);
    EXPECT_EQ(sink.keyboard.back(), keys(0x05, 0x4c));
}

TEST_F(InputRouterTest, ShortcutsKeepTheirModifiers) {
    useLayout("us");
    router->keysymEvent(1, true, kControlL);
    tap(1, 'c');
    EXPECT_EQ(sink.keyboard[1], keys(0x01, 0x06));
}

TEST_F(InputRouterTest, ScancodesNeedNoLayout) {
    useLayout("fr");
    router->scancodeEvent(1, true, 0x9d);  // Right Control
    router->scancodeEvent(1, true, 0x10);  // the key labelled Q in the US
    router->scancodeEvent(1, false, 0x10);
    router->scancodeEvent(1, false, 0x9d);
    EXPECT_EQ(sink.keyboard,
              (std::vector<KeyboardReport>{keys(0x10), keys(0x10, 0x14), keys(0x10), keys(0)}));
}

TEST_F(InputRouterTest, SeventhKeyIsRollover) {
    useLayout("us");
    for (uint32_t keysym : std::initializer_list<uint32_t>{'a', 'b', 'c', 'd', 'e', 'f', 'g'})
        router->keysymEvent(1, true, keysym);
    EXPECT_EQ(sink.keyboard.back(), (KeyboardReport{0, 0, 1, 1, 1, 1, 1, 1}));
}

TEST_F(InputRouterTest, KeysOfAViewerThatLeavesAreReleased) {
    useLayout("us");
    router->keysymEvent(1, true, 'a');
    router->keysymEvent(2, true, 'b');
    router->viewerLeft(1);
    EXPECT_EQ(sink.keyboard.back(), keys(0, 0x05));
    EXPECT_TRUE(sink.mouse.empty()) << "another viewer is still there";
    router->viewerLeft(2);
    EXPECT_EQ(sink.keyboard.back(), keys(0));
    ASSERT_FALSE(sink.mouse.empty());
    EXPECT_EQ(sink.mouse.back()[0], 0) << "buttons released when the last viewer left";
}

TEST_F(InputRouterTest, ViewerThatNeverTypedChangesNothingWhenLeaving) {
    useLayout("us");
    router->keysymEvent(1, true, 'a');
    router->viewerLeft(7);
    EXPECT_EQ(sink.keyboard.back(), keys(0, 0x04));
}

TEST_F(InputRouterTest, AutoRepeatOfAHeldKeyIsNotSentAgain) {
    useLayout("us");
    router->keysymEvent(1, true, 'a');
    router->keysymEvent(1, true, 'a');
    router->keysymEvent(1, true, 'a');
    router->keysymEvent(1, false, 'a');
    EXPECT_EQ(sink.keyboard.size(), 2u);
}

TEST_F(InputRouterTest, UntypeableKeysymsAreCountedNotGuessed) {
    useLayout("us");
    tap(1, 0xe9);  // é
    EXPECT_TRUE(sink.keyboard.empty());
    EXPECT_EQ(router->stats().unmappedKeysyms, 1u);
}

TEST_F(InputRouterTest, PointerIsScaledToTheScreen) {
    useLayout("us");
    router->pointerEvent(1, 0x01, 1023, 767, {1024, 768});
    ASSERT_EQ(sink.mouse.size(), 1u);
    EXPECT_EQ(sink.mouse[0], (AbsoluteMouseReport{0x01, 0xff, 0x7f, 0xff, 0x7f, 0, 0}));
}

TEST_F(InputRouterTest, HostStateIsTheSinks) {
    useLayout("us");
    sink.result = HidWriteResult::HostNotListening;
    tap(1, 'a');
    EXPECT_FALSE(router->stats().hostListening);
    sink.result = HidWriteResult::Ok;
    tap(1, 'a');
    EXPECT_TRUE(router->stats().hostListening);
}

TEST_F(InputRouterTest, ReleaseAllSendsEmptyReports) {
    useLayout("us");
    router->keysymEvent(1, true, kShiftL);
    router->pointerEvent(1, 0x04, 5, 5, {10, 10});
    router->releaseAll();
    EXPECT_EQ(sink.keyboard.back(), keys(0));
    EXPECT_EQ(sink.mouse.back()[0], 0);
}

TEST_F(InputRouterTest, RelativeMouseGetsTheMovementOnly) {
    useLayout("us", MouseMode::Relative);
    router->pointerEvent(1, 0, 100, 100, {1024, 768});
    router->pointerEvent(1, 0x01, 90, 130, {1024, 768});
    EXPECT_TRUE(sink.mouse.empty()) << "no absolute reports";
    EXPECT_EQ(sink.relativeMouse,
              (std::vector<RelativeMouseReport>{{0, static_cast<uint8_t>(-10), 30, 0, 0},
                                                {0x01, 0, 0, 0, 0}}));
    router->viewerLeft(1);
    EXPECT_EQ(sink.relativeMouse.back(), (RelativeMouseReport{0, 0, 0, 0, 0}))
        << "the button is released when the last viewer leaves";
    router->releaseAll();
    EXPECT_EQ(sink.relativeMouse.size(), 4u);
    EXPECT_TRUE(sink.mouse.empty());
}

TEST_F(InputRouterTest, NewLayoutAppliesToTheKeysymsThatFollow) {
    useLayout("us");
    tap(1, 'z');
    EXPECT_EQ(sink.keyboard[0], keys(0, 0x1d));
    EXPECT_FALSE(router->setLayout(
        std::make_shared<const KeysymMap>(KeysymMap::forLayout("de", {KVMVNC_KEYMAPS_BUILD_DIR}))))
        << "no key was held";
    EXPECT_EQ(sink.keyboard.size(), 2u) << "nothing to release, nothing sent";
    EXPECT_EQ(router->layout().name(), "de");
    tap(1, 'z');  // Z and Y swap places on a German keyboard
    EXPECT_EQ(sink.keyboard[2], keys(0, 0x1c));
}

TEST_F(InputRouterTest, LayoutSwitchReleasesHeldKeysFirst) {
    useLayout("us");
    router->keysymEvent(1, true, kControlL);
    router->keysymEvent(2, true, 'a');
    router->scancodeEvent(2, true, 0x2c);  // XT Z
    ASSERT_EQ(sink.keyboard.back(), keys(0x01, 0x04, 0x1d));
    EXPECT_TRUE(router->setLayout(
        std::make_shared<const KeysymMap>(KeysymMap::forLayout("de", {KVMVNC_KEYMAPS_BUILD_DIR}))));
    EXPECT_EQ(sink.keyboard.back(), keys(0));
    const size_t sent = sink.keyboard.size();
    // The viewers' key-ups find nothing left to release.
    router->keysymEvent(2, false, 'a');
    router->scancodeEvent(2, false, 0x2c);
    router->keysymEvent(1, false, kControlL);
    EXPECT_EQ(sink.keyboard.size(), sent);
}

TEST_F(InputRouterTest, LayoutsInUseStayAliveAndCanBeUsedAgain) {
    useLayout("us");
    const KeysymMap &us = router->layout();
    auto de =
        std::make_shared<const KeysymMap>(KeysymMap::forLayout("de", {KVMVNC_KEYMAPS_BUILD_DIR}));
    router->setLayout(de);
    // A reference taken before the switch still reads the old table (under
    // ASan, a freed one would fail here).
    EXPECT_EQ(us.name(), "us");
    EXPECT_EQ(us.lookup('z'), (KeyStroke{0x1d, 0}));
    EXPECT_EQ(router->usedLayout("de"), de);
    ASSERT_NE(router->usedLayout("us"), nullptr);
    EXPECT_EQ(router->usedLayout("us").get(), &us);
    EXPECT_EQ(router->usedLayout("fr"), nullptr);
    router->setLayout(router->usedLayout("us"));
    EXPECT_EQ(&router->layout(), &us);
}

}  // namespace kvmvnc::input
