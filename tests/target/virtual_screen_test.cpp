// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_screen.h"

#include <gtest/gtest.h>

namespace kvmvnc::target {

using capture::CaptureResult;
using capture::Frame;
using std::chrono::milliseconds;

namespace {
std::shared_ptr<VirtualMachine> desktopMachine(Size size) {
    return std::make_shared<VirtualMachine>(MachineOptions{size, milliseconds{0}, nullptr});
}

CaptureResult captureWithin(VirtualScreen &screen, Frame &frame, milliseconds budget) {
    auto deadline = std::chrono::steady_clock::now() + budget;
    CaptureResult result = CaptureResult::Timeout;
    while (result == CaptureResult::Timeout && std::chrono::steady_clock::now() < deadline)
        result = screen.capture(frame, milliseconds{50});
    return result;
}
}  // namespace

TEST(VirtualScreenTest, StillPictureIsRenderedOnceAndMatchesTheRenderer) {
    auto machine = desktopMachine({1024, 768});
    VirtualScreen screen(machine, 60, false);
    Frame frame;
    ASSERT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Frame);
    EXPECT_EQ(frame.size(), (Size{1024, 768}));

    Frame expected;
    renderVirtualScreen(stillInputs(machine->view(), 60), expected);
    EXPECT_EQ(frame.pixels, expected.pixels);

    // Nothing changes, so nothing new is produced.
    EXPECT_EQ(captureWithin(screen, frame, milliseconds{200}), CaptureResult::Timeout);
}

TEST(VirtualScreenTest, AnimatedDesktopKeepsChanging) {
    auto machine = desktopMachine({960, 540});
    VirtualScreen screen(machine, 60, true);
    Frame first;
    Frame second;
    ASSERT_EQ(captureWithin(screen, first, milliseconds{1000}), CaptureResult::Frame);
    ASSERT_EQ(captureWithin(screen, second, milliseconds{1000}), CaptureResult::Frame);
    EXPECT_NE(first.pixels, second.pixels);
}

// The smallest desktop [capture] allows leaves the bouncing ball no room:
// a path of length 0, which must not become a division by zero.
TEST(VirtualScreenTest, AnimatesTheSmallestDesktop) {
    auto machine = desktopMachine({160, 120});
    VirtualScreen screen(machine, 60, true);
    Frame frame;
    ASSERT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Frame);
    EXPECT_EQ(frame.size(), (Size{160, 120}));
}

TEST(VirtualScreenTest, ARateOfZeroIsOneFramePerSecond) {
    VirtualScreen screen(desktopMachine({640, 480}), 0, false);
    EXPECT_EQ(screen.description(), "virtual target at 1 fps (still)");
    Frame frame;
    EXPECT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Frame);
}

TEST(VirtualScreenTest, PoweredOffMeansNoSignal) {
    auto machine = desktopMachine({640, 480});
    machine->powerOff();
    VirtualScreen screen(machine, 30, false);
    Frame frame;
    EXPECT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Unavailable);
    EXPECT_EQ(screen.status().state, capture::SignalState::NoSignal);

    machine->powerOn();
    EXPECT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Frame);
    EXPECT_EQ(screen.status().state, capture::SignalState::Ok);
}

TEST(VirtualScreenTest, ResolutionChangeProducesAFrameOfTheNewSize) {
    auto machine = desktopMachine({800, 600});
    VirtualScreen screen(machine, 60, false);
    Frame frame;
    ASSERT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Frame);
    machine->setDesktopSize({1280, 1024});
    ASSERT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Frame);
    EXPECT_EQ(frame.size(), (Size{1280, 1024}));
}

TEST(VirtualScreenTest, BiosIsVgaTextModeWithText) {
    MachineView view;
    view.phase = MachinePhase::Bios;
    view.outputSize = kBiosTextModeSize;
    view.biosProgress = 1.0;
    Frame frame;
    renderVirtualScreen(stillInputs(view, 30), frame);
    EXPECT_EQ(frame.size(), (Size{720, 400}));
    int lit = 0;
    for (int y = 0; y < 16; ++y)  // the first text row holds the BIOS name
        for (int x = 0; x < 300; ++x)
            lit += frame.row(y)[x * 4] != 0;
    EXPECT_GT(lit, 200);
}

TEST(VirtualScreenTest, BiosMemoryCountAdvancesDuringTheSelfTest) {
    MachineView view;
    view.phase = MachinePhase::Bios;
    view.outputSize = kBiosTextModeSize;
    ScreenInputs early;
    early.view = view;
    early.view.biosProgress = 0.1;
    ScreenInputs late = early;
    late.view.biosProgress = 0.4;
    Frame a;
    Frame b;
    renderVirtualScreen(early, a);
    renderVirtualScreen(late, b);
    EXPECT_NE(a.pixels, b.pixels);
}

}  // namespace kvmvnc::target

namespace kvmvnc::target {

namespace {
// The share of pixels that differ between two pictures of one size.
double changedShare(const Frame &a, const Frame &b) {
    size_t changed = 0;
    for (int y = 0; y < a.height; ++y) {
        const auto *rowA = reinterpret_cast<const uint32_t *>(a.row(y));
        const auto *rowB = reinterpret_cast<const uint32_t *>(b.row(y));
        for (int x = 0; x < a.width; ++x)
            changed += rowA[x] != rowB[x];
    }
    return static_cast<double>(changed) / (static_cast<double>(a.width) * a.height);
}

ScreenInputs videoAt(milliseconds position, bool paused = false) {
    MachineView view;
    view.phase = MachinePhase::Desktop;
    view.outputSize = {960, 540};
    view.video = VideoView{position, paused};
    return stillInputs(view, 30);
}
}  // namespace

// Every frame of the video changes most pixels (no tile or scroll
// shortcut), and one position always renders the same picture.
TEST(VirtualScreenTest, TheVideoChangesTheWholeScreenFromFrameToFrame) {
    Frame first;
    Frame next;
    Frame again;
    renderVirtualScreen(videoAt(milliseconds{1000}), first);
    renderVirtualScreen(videoAt(milliseconds{1033}), next);
    renderVirtualScreen(videoAt(milliseconds{1000}), again);
    EXPECT_GT(changedShare(first, next), 0.8);
    EXPECT_EQ(first.pixels, again.pixels);
}

// The video plays on a still virtual target too (it was asked for), and a
// paused one is a still picture: rendered once.
TEST(VirtualScreenTest, AStillTargetPlaysTheVideoAndHoldsItWhenPaused) {
    MachineOptions options{{960, 540}, milliseconds{0}, nullptr};
    options.keyboardLayout = std::make_shared<const input::KeysymMap>(
        input::KeysymMap::forLayout("us", {KVMVNC_KEYMAPS_BUILD_DIR}));
    auto machine = std::make_shared<VirtualMachine>(options);
    VirtualScreen screen(machine, 30, false);
    Frame frame;
    ASSERT_EQ(captureWithin(screen, frame, milliseconds{1000}), CaptureResult::Frame);
    auto type = [&](uint8_t key) {
        ASSERT_TRUE(machine->keyboardReport({0, 0, key, 0, 0, 0, 0, 0}));
        ASSERT_TRUE(machine->keyboardReport({}));
    };
    for (uint8_t key :
         {uint8_t{0x19}, uint8_t{0x0c}, uint8_t{0x07}, uint8_t{0x08}, uint8_t{0x12}, uint8_t{0x28}})
        type(key);
    Frame first;
    Frame second;
    ASSERT_EQ(captureWithin(screen, first, milliseconds{1000}), CaptureResult::Frame);
    ASSERT_EQ(captureWithin(screen, second, milliseconds{1000}), CaptureResult::Frame);
    EXPECT_GT(changedShare(first, second), 0.5);

    type(0x2c);  // Space
    ASSERT_EQ(captureWithin(screen, first, milliseconds{1000}), CaptureResult::Frame);
    EXPECT_EQ(captureWithin(screen, second, milliseconds{300}), CaptureResult::Timeout);
}

}  // namespace kvmvnc::target
