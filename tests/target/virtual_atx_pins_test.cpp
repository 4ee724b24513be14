// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_atx_pins.h"

#include <gtest/gtest.h>

#include <thread>

#include "kvmvnc/atx/atx_controller.h"
#include "wait_until.h"

namespace kvmvnc::target {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using atx::AtxAction;
using atx::AtxResult;
using testing::waitUntil;

// The virtual machine's front panel through the real controller, with short
// timings: what a viewer's power button does to the virtual target.
class VirtualAtxPinsTest : public ::testing::Test {
protected:
    VirtualAtxPinsTest() {
        atx::AtxTimings timings;
        timings.click = 20ms;
        timings.longPress = VirtualMachine::kForcedOffHold + 200ms;
        timings.busyAfter = 20ms;
        timings.ledDebounce = 20ms;
        timings.ledPoll = 100ms;
        controller_.emplace(std::make_unique<VirtualAtxPins>(machine_), timings, std::nullopt);
    }

    void perform(AtxAction action) {
        std::string message;
        ASSERT_EQ(controller_->perform(action, message), AtxResult::Ok) << message;
    }

    bool atDesktop() { return machine_->view().phase == MachinePhase::Desktop; }

    std::shared_ptr<VirtualMachine> machine_ =
        std::make_shared<VirtualMachine>(MachineOptions{{640, 480}, 200ms, nullptr});
    std::optional<atx::AtxController> controller_;
};

TEST_F(VirtualAtxPinsTest, EverythingIsWired) {
    VirtualAtxPins pins(machine_);
    EXPECT_TRUE(pins.hasButton(atx::Button::Power));
    EXPECT_TRUE(pins.hasButton(atx::Button::Reset));
    EXPECT_EQ(pins.description(), "virtual target");
    EXPECT_TRUE(pins.readLeds().power);
}

TEST_F(VirtualAtxPinsTest, ClickWhileOffPowersOn) {
    machine_->powerOff();
    ASSERT_TRUE(waitUntil([&] { return !controller_->state().leds.power; }, 5s));
    const unsigned boots = machine_->view().bootCount;
    perform(AtxAction::PowerClick);
    EXPECT_TRUE(machine_->isPoweredOn());
    EXPECT_EQ(machine_->view().bootCount, boots + 1);
    EXPECT_TRUE(waitUntil([&] { return controller_->state().leds.power; }, 5s));
    // Released in time: still on after the click.
    EXPECT_TRUE(waitUntil([&] { return !controller_->state().busy; }, 5s));
    EXPECT_TRUE(machine_->isPoweredOn());
}

TEST_F(VirtualAtxPinsTest, ClickAtTheDesktopShutsDownAfterTheShutdownTime) {
    ASSERT_TRUE(waitUntil([&] { return atDesktop(); }, 5s));
    const auto clicked = Clock::now();
    perform(AtxAction::PowerClick);
    ASSERT_TRUE(waitUntil([&] { return machine_->view().shuttingDown; }, 5s));
    EXPECT_TRUE(machine_->isPoweredOn());
    ASSERT_TRUE(waitUntil([&] { return !machine_->isPoweredOn(); }, 5s));
    EXPECT_GE(Clock::now() - clicked, VirtualMachine::kShutdownTime);
    EXPECT_TRUE(waitUntil([&] { return !controller_->state().leds.power; }, 5s));
}

TEST_F(VirtualAtxPinsTest, LongPressForcesPowerOff) {
    ASSERT_TRUE(waitUntil([&] { return atDesktop(); }, 5s));
    const auto pressed = Clock::now();
    perform(AtxAction::PowerLongPress);
    ASSERT_TRUE(waitUntil([&] { return !machine_->isPoweredOn(); }, 10s));
    EXPECT_GE(Clock::now() - pressed, VirtualMachine::kForcedOffHold);
    EXPECT_FALSE(machine_->view().shuttingDown);
    EXPECT_TRUE(waitUntil([&] { return !controller_->state().leds.power; }, 5s));
    // Releasing after the forced off does not turn it on again.
    EXPECT_TRUE(waitUntil([&] { return !controller_->state().busy; }, 5s));
    EXPECT_FALSE(machine_->isPoweredOn());
}

TEST_F(VirtualAtxPinsTest, ResetRebootsIntoTheBios) {
    ASSERT_TRUE(waitUntil([&] { return atDesktop(); }, 5s));
    const unsigned boots = machine_->view().bootCount;
    const auto before = Clock::now();
    perform(AtxAction::ResetClick);
    const auto now = Clock::now();
    const MachineView view = machine_->view(now);
    EXPECT_EQ(view.bootCount, boots + 1);
    // Restarted from the BIOS during the click.
    EXPECT_LE(view.sincePowerOn, now - before);
    EXPECT_TRUE(machine_->isPoweredOn());
}

}  // namespace
}  // namespace kvmvnc::target
