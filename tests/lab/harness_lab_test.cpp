// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's own checks: the kernel paths the HID, mass storage and ATX
// scenarios build on work in the guest, independently of kvmvncd. A USB
// gadget on dummy_hcd as the guest's own USB host sees it, and gpio-sim.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lab_test.h"

namespace kvmvnc::lab {
namespace {

using namespace std::chrono_literals;

class HarnessLab : public LabTest {
protected:
    HarnessLab() : LabTest("harness") {}
};

// A boot keyboard and a disk in one gadget bound to dummy_udc: the guest's
// USB host enumerates both; a key report written to /dev/hidg0 arrives as
// KEY_A press and release on the target's evdev device; Caps Lock set on
// that device arrives on /dev/hidg0 as the LED output report; the target
// reads the disk image; unbinding the UDC unplugs the gadget, binding plugs
// it in again.
TEST_F(HarnessLab, UsbGadgetOnDummyHcdReachesTheGuestsUsbHost) {
    LabVm::Reply up = run("gadget-up");
    ASSERT_EQ(up.rc, 0);
    EXPECT_NE(up.output.find("hidg=/dev/hidg0"), std::string::npos) << up.output;
    EXPECT_NE(up.output.find("input=/dev/input/event"), std::string::npos) << up.output;
    EXPECT_NE(up.output.find("block=/dev/sd"), std::string::npos) << up.output;
    EXPECT_NE(up.output.find("udc=dummy_udc.0"), std::string::npos) << up.output;
    EXPECT_EQ(run("udc-state").output, "configured\n");

    // EV_KEY = 1, KEY_A = 30.
    EXPECT_EQ(run("key-roundtrip").output,
              "type=1 code=30 value=1\n"
              "type=1 code=30 value=0\n");
    // Caps Lock is bit 1 of the keyboard's LED report.
    EXPECT_EQ(run("led-roundtrip").output, "led_report=02\n");
    EXPECT_EQ(run("disk-matches").output, "disk_matches=1\n");

    // Unplugged and plugged again. (dummy_udc's state attribute keeps saying
    // "configured" after an unbind, so the target's view is what counts.)
    run("gadget-unbind");
    EXPECT_EQ(run("target-sees-gadget 0").output, "present=0\n");
    run("gadget-bind");
    EXPECT_EQ(run("target-sees-gadget 1").output, "present=1\n");
    EXPECT_EQ(run("udc-state").output, "configured\n");
}

// packaging/kvmvnc-gadget on a real configfs: "up" binds kvmvnc's gadget to
// dummy_udc and the target gets its boot keyboard (with LEDs), its absolute
// mouse (ABS_X and ABS_Y) and its relative boot mouse (REL_X, REL_Y and the
// wheels, no ABS); "down" unplugs and removes it.
TEST_F(HarnessLab, KvmvncGadgetScriptPlugsKeyboardAndMouseIn) {
    LabVm::Reply up = run("kvmvnc-gadget up");
    ASSERT_EQ(up.rc, 0);
    EXPECT_EQ(up.output, "kvmvnc-gadget: bound to dummy_udc.0\n");
    EXPECT_EQ(run("sh ls /dev/hidg*").output, "/dev/hidg0\n/dev/hidg1\n/dev/hidg2\n");
    EXPECT_EQ(run("sh sleep 2").rc, 0);  // enumeration
    EXPECT_EQ(run("target-inputs kvmvnc kvmvnc keyboard and mouse").output,
              "handlers=sysrq kbd leds eventN ev=120013 abs=\n"
              "handlers=mouseN eventN ev=1f abs=3\n"
              "handlers=mouseN eventN ev=17 abs=\n");
    EXPECT_EQ(run("kvmvnc-gadget down").output, "kvmvnc-gadget: removed\n");
    EXPECT_EQ(run("sh sleep 1").rc, 0);
    EXPECT_EQ(run("target-inputs kvmvnc kvmvnc keyboard and mouse").output, "");
    EXPECT_EQ(run("sh ls /sys/kernel/config/usb_gadget").output, "");
}

// gpio-sim, built out of tree: a chip with 8 lines appears as a character
// device, and pulling a line up or down changes the value a consumer reads.
TEST_F(HarnessLab, GpioSimLinesFollowTheirPull) {
    LabVm::Reply up = run("gpio-up");
    ASSERT_EQ(up.rc, 0);
    EXPECT_NE(up.output.find("chip=/dev/gpiochip"), std::string::npos) << up.output;
    run("gpio-pull 3 up");
    EXPECT_EQ(run("gpio-value 3").output, "value=1\n");
    run("gpio-pull 3 down");
    EXPECT_EQ(run("gpio-value 3").output, "value=0\n");
    EXPECT_EQ(run("gpio-value 4").output, "value=0\n");
}

}  // namespace
}  // namespace kvmvnc::lab
