// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_machine.h"

#include <gtest/gtest.h>

namespace kvmvnc::target {

using std::chrono::milliseconds;

class VirtualMachineTest : public testing::Test {
protected:
    VirtualMachine::Clock::time_point t0 = VirtualMachine::Clock::now();
    VirtualMachine machine{{{1280, 720}, milliseconds{3000}}};
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

TEST_F(VirtualMachineTest, DesktopResolutionChangesLive) {
    machine.setDesktopSize({3840, 2160});
    EXPECT_EQ(machine.view(VirtualMachine::Clock::now() + milliseconds{5000}).outputSize,
              (Size{3840, 2160}));
}

}  // namespace kvmvnc::target
