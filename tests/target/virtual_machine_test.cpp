// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_machine.h"

#include <gtest/gtest.h>

namespace kvmvnc::target {

using std::chrono::milliseconds;

class VirtualMachineTest : public testing::Test {
protected:
    VirtualMachine::Clock::time_point t0 = VirtualMachine::Clock::now();
    VirtualMachine machine{{{1280, 720}, milliseconds{3000}, nullptr}};
};

TEST_F(VirtualMachineTest, BootsThroughTheBiosToTheDesktop) {
    machine.powerOff();
    machine.powerOn(t0);
    MachineView bios = machine.view(t0 + milliseconds{1500});
    EXPECT_EQ(bios.phase, MachinePhase::Bios);
    EXPECT_EQ(bios.outputSize, (Size{720, 400}));
    EXPECT_DOUBLE_EQ(bios.biosProgress, 0.5);
    MachineView desktop = machine.view(t0 + milliseconds{3000});
    EXPECT_EQ(desktop.phase, MachinePhase::Desktop);
    EXPECT_EQ(desktop.outputSize, (Size{1280, 720}));
}

TEST_F(VirtualMachineTest, PowerOffShowsNothingAndPowerOnBootsAgain) {
    unsigned boots = machine.view().bootCount;
    machine.powerOff();
    EXPECT_FALSE(machine.isPoweredOn());
    EXPECT_EQ(machine.view().phase, MachinePhase::Off);
    machine.powerOn(t0);
    EXPECT_EQ(machine.view(t0).phase, MachinePhase::Bios);
    EXPECT_EQ(machine.view(t0).bootCount, boots + 1);
}

TEST_F(VirtualMachineTest, ResetRestartsTheBiosOnlyWhenOn) {
    machine.reset(t0);
    EXPECT_EQ(machine.view(t0 + milliseconds{10}).phase, MachinePhase::Bios);
    machine.powerOff();
    machine.reset(t0);
    EXPECT_EQ(machine.view(t0).phase, MachinePhase::Off);
}

TEST_F(VirtualMachineTest, EscapeSkipsTheSelfTestButNothingElse) {
    ASSERT_EQ(machine.view().phase, MachinePhase::Bios);
    ASSERT_TRUE(machine.keyboardReport({0, 0, 0x29, 0, 0, 0, 0, 0}));
    ASSERT_TRUE(machine.keyboardReport({}));
    const MachineView desktop = machine.view();
    EXPECT_EQ(desktop.phase, MachinePhase::Desktop);
    EXPECT_EQ(desktop.outputSize, (Size{1280, 720}));
    // On the desktop, Esc is just a key: the machine does not reboot.
    ASSERT_TRUE(machine.keyboardReport({0, 0, 0x29, 0, 0, 0, 0, 0}));
    EXPECT_EQ(machine.view().phase, MachinePhase::Desktop);
    EXPECT_EQ(machine.view().bootCount, desktop.bootCount);
}

TEST_F(VirtualMachineTest, PowerButtonShutsDownCleanlyOrForcesOff) {
    using std::chrono::milliseconds;
    const auto desktop = t0 + milliseconds{5000};  // past the 3 s BIOS
    machine.powerOff();
    machine.powerOn(t0);
    // A click at the desktop: the OS shuts down, then the power goes.
    machine.setPowerButton(true, desktop);
    machine.setPowerButton(false, desktop + milliseconds{100});
    EXPECT_TRUE(machine.view(desktop + milliseconds{200}).shuttingDown);
    EXPECT_TRUE(machine.powerLed(desktop + milliseconds{200}));
    EXPECT_FALSE(machine.powerLed(desktop + milliseconds{100} + VirtualMachine::kShutdownTime));
    // A click while off turns it on.
    const auto later = desktop + milliseconds{10000};
    machine.setPowerButton(true, later);
    machine.setPowerButton(false, later + milliseconds{100});
    EXPECT_EQ(machine.view(later + milliseconds{200}).phase, MachinePhase::Bios);
    // Held: off once kForcedOffHold has passed, though still held.
    const auto held = later + milliseconds{10000};
    machine.setPowerButton(true, held);
    EXPECT_TRUE(machine.powerLed(held + VirtualMachine::kForcedOffHold - milliseconds{1}));
    EXPECT_FALSE(machine.powerLed(held + VirtualMachine::kForcedOffHold));
    machine.setPowerButton(false, held + milliseconds{6000});
    EXPECT_FALSE(machine.powerLed(held + milliseconds{6001})) << "releasing does not turn it on";
}

TEST_F(VirtualMachineTest, ShowsTheInsertedDriveAndItsActivity) {
    DriveView drive{"debian.iso", 1 << 20, true, true, std::vector<uint8_t>(40, 0x42)};
    machine.setDrive(drive, t0);
    MachineView view = machine.view(t0 + std::chrono::milliseconds{10});
    ASSERT_TRUE(view.drive);
    EXPECT_EQ(view.drive->firstBytes.size(), VirtualMachine::kDriveBytesShown);
    EXPECT_EQ(view.drive->name, "debian.iso");
    EXPECT_TRUE(view.hddLed) << "the machine reads the new drive";
    EXPECT_FALSE(machine.view(t0 + VirtualMachine::kDriveActivity).drive->name.empty());
    machine.setDrive(std::nullopt, t0);
    EXPECT_FALSE(machine.view(t0).drive);
}

TEST_F(VirtualMachineTest, DesktopResolutionChangesLive) {
    machine.setDesktopSize({3840, 2160});
    EXPECT_EQ(machine.view(VirtualMachine::Clock::now() + milliseconds{5000}).outputSize,
              (Size{3840, 2160}));
}

}  // namespace kvmvnc::target

namespace kvmvnc::target {

namespace {
input::KeyboardReport keys(uint8_t modifiers, uint8_t k1 = 0, uint8_t k2 = 0) {
    return {modifiers, 0, k1, k2, 0, 0, 0, 0};
}
}  // namespace

class VirtualMachineInputTest : public testing::Test {
protected:
    void SetUp() override {
        MachineOptions options{{1024, 768}, std::chrono::milliseconds{0}, nullptr};
        options.keyboardLayout = std::make_shared<const input::KeysymMap>(
            input::KeysymMap::forLayout("de", {KVMVNC_KEYMAPS_BUILD_DIR}));
        machine = std::make_unique<VirtualMachine>(options);
    }
    void type(uint8_t modifiers, uint8_t key) {
        ASSERT_TRUE(machine->keyboardReport(keys(modifiers, key)));
        ASSERT_TRUE(machine->keyboardReport(keys(modifiers)));
    }
    std::unique_ptr<VirtualMachine> machine;
};

TEST_F(VirtualMachineInputTest, DecodesReportsWithItsOwnLayout) {
    type(0x02, 0x0b);  // Shift+H
    type(0, 0x0c);     // i
    type(0, 0x1c);     // the German z key
    type(0x40, 0x14);  // AltGr+Q is @ on German
    EXPECT_EQ(machine->view().input.commandLine, "Hiz@");
    type(0, 0x2a);  // Backspace
    EXPECT_EQ(machine->view().input.commandLine, "Hiz");
    type(0, 0x28);  // Enter
    EXPECT_EQ(machine->view().input.commandLine, "");
    EXPECT_EQ(machine->view().input.terminal, std::vector<std::string>{"Hiz"});
}

TEST_F(VirtualMachineInputTest, HeldKeyTypesOnceAndShortcutsTypeNothing) {
    ASSERT_TRUE(machine->keyboardReport(keys(0, 0x04)));
    ASSERT_TRUE(machine->keyboardReport(keys(0, 0x04, 0x05)));
    type(0x01, 0x06);  // Ctrl+C
    EXPECT_EQ(machine->view().input.commandLine, "ab");
}

TEST_F(VirtualMachineInputTest, CapsLockTogglesItsLedAndTheCase) {
    std::vector<uint8_t> ledChanges;
    machine->setLedListener([&](uint8_t leds) { ledChanges.push_back(leds); });
    type(0, 0x39);  // Caps Lock
    type(0, 0x04);
    type(0x02, 0x04);
    type(0, 0x39);
    EXPECT_EQ(machine->view().input.commandLine, "Aa");
    EXPECT_EQ(ledChanges, (std::vector<uint8_t>{0x02, 0x00}));
}

TEST_F(VirtualMachineInputTest, CtrlAltDelReboots) {
    const unsigned boots = machine->view().bootCount;
    type(0x05, 0x4c);
    EXPECT_EQ(machine->view().bootCount, boots + 1);
}

TEST_F(VirtualMachineInputTest, MouseReportsMoveThePointerAndCountClicks) {
    ASSERT_TRUE(machine->mouseReport({0x01, 0x00, 0x40, 0xff, 0x7f, 0, 0}));
    ASSERT_TRUE(machine->mouseReport({0x00, 0x00, 0x40, 0xff, 0x7f, 0xff, 0}));
    InputView input = machine->view().input;
    EXPECT_EQ(input.pointerX, 0x4000);
    EXPECT_EQ(input.pointerY, 0x7fff);
    EXPECT_EQ(input.clicks, 1u);
    EXPECT_EQ(input.wheel, -1);
}

TEST_F(VirtualMachineInputTest, RelativeReportsMoveThePointerFromTheMiddlePixelByPixel) {
    const auto pixel = [&] {
        const InputView input = machine->view().input;
        return std::pair{input.pointerX * 1024 / 32768, input.pointerY * 768 / 32768};
    };
    ASSERT_TRUE(machine->relativeMouseReport({0, 10, static_cast<uint8_t>(-20), 0, 0}));
    EXPECT_EQ(pixel(), (std::pair{512 + 10, 384 - 20}));
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(machine->relativeMouseReport({0, 1, 1, 0, 0}));
    EXPECT_EQ(pixel(), (std::pair{1023, 767})) << "stopped at the edge, no drift";
    ASSERT_TRUE(machine->relativeMouseReport({0x02, static_cast<uint8_t>(-127), 0, 1, 0}));
    const InputView input = machine->view().input;
    EXPECT_EQ(pixel(), (std::pair{1023 - 127, 767}));
    EXPECT_EQ(input.clicks, 1u);
    EXPECT_EQ(input.buttons, 0x02);
    EXPECT_EQ(input.wheel, 1);
}

TEST_F(VirtualMachineInputTest, RelativeReportsOnAnEmptyDesktopMoveNothing) {
    machine->setDesktopSize({0, 0});
    ASSERT_TRUE(machine->relativeMouseReport({0x01, 10, 10, 0, 0}));
    const InputView input = machine->view().input;
    EXPECT_EQ(input.pointerX, 16384);
    EXPECT_EQ(input.pointerY, 16384);
    EXPECT_EQ(input.clicks, 1u);
}

TEST_F(VirtualMachineInputTest, NoHostListensWhileOff) {
    machine->powerOff();
    EXPECT_FALSE(machine->keyboardReport(keys(0, 0x04)));
    EXPECT_FALSE(machine->mouseReport({}));
    EXPECT_FALSE(machine->relativeMouseReport({}));
}

}  // namespace kvmvnc::target

namespace kvmvnc::target {

// The video player: `video` at the terminal starts it; while it shows,
// Space pauses and resumes, Esc stops, and other keys do nothing.
TEST_F(VirtualMachineInputTest, TheVideoCommandPlaysPausesAndStops) {
    for (uint8_t key : {uint8_t{0x19}, uint8_t{0x0c}, uint8_t{0x07}, uint8_t{0x08}, uint8_t{0x12}})
        type(0, key);  // "video" (the same keys on the German layout)
    EXPECT_FALSE(machine->view().video);
    type(0, 0x28);  // Enter
    const auto start = VirtualMachine::Clock::now();
    ASSERT_TRUE(machine->view(start).video);
    EXPECT_FALSE(machine->view(start).video->paused);
    const auto playing = machine->view(start + milliseconds{500}).video->position;
    EXPECT_GE(playing, milliseconds{500});

    type(0, 0x2c);  // Space: paused
    const auto paused = machine->view().video;
    ASSERT_TRUE(paused);
    EXPECT_TRUE(paused->paused);
    EXPECT_EQ(machine->view(VirtualMachine::Clock::now() + milliseconds{2000}).video, paused);
    type(0, 0x04);  // a letter goes to the player, not the terminal
    EXPECT_EQ(machine->view().input.commandLine, "");
    type(0, 0x2c);  // Space: playing on from where it was
    EXPECT_GE(machine->view(VirtualMachine::Clock::now() + milliseconds{300}).video->position,
              paused->position + milliseconds{300});

    type(0, 0x29);  // Esc
    EXPECT_FALSE(machine->view().video);
    type(0, 0x04);
    EXPECT_EQ(machine->view().input.commandLine, "a");
}

TEST_F(VirtualMachineInputTest, ARestartEndsTheVideo) {
    for (uint8_t key :
         {uint8_t{0x19}, uint8_t{0x0c}, uint8_t{0x07}, uint8_t{0x08}, uint8_t{0x12}, uint8_t{0x28}})
        type(0, key);
    ASSERT_TRUE(machine->view().video);
    machine->reset();
    EXPECT_FALSE(machine->view().video);
    // Another command line is just a command line.
    for (uint8_t key : {uint8_t{0x19}, uint8_t{0x0c}, uint8_t{0x28}})
        type(0, key);
    EXPECT_FALSE(machine->view().video);
}

}  // namespace kvmvnc::target
