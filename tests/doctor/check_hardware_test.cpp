// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/doctor/check_hardware.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "recorded_machine.h"

namespace kvmvnc::doctor {

void PrintTo(const HardwareCheck &check, std::ostream *out) {
    *out << "{" << check.name << ", " << statusWord(check.status) << ", \"" << check.finding
         << "\", \"" << check.fix << "\"}";
}

namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

fs::path tree(const char *name) { return fs::path(KVMVNC_DOCTOR_TREES) / name; }

// The example configuration for a TC358743 on a Pi (config/tc358743.ini):
// the gadget's keyboard, mouse and drive, GPIO on gpiochip0, a password.
config::Config tc358743Config() {
    return config::loadConfig(std::string(KVMVNC_CONFIG_EXAMPLES) + "/tc358743.ini");
}

// A day when the recorded certificate (made 2026-12-07, for ten years) is good.
system_clock::time_point aGoodDay() {
    return system_clock::from_time_t(1798761600);  // 2027-01-01
}

CheckOptions onAGoodDay() {
    CheckOptions options;
    options.now = aGoodDay();
    return options;
}

const HardwareCheck &find(const std::vector<HardwareCheck> &checks, const std::string &name) {
    auto it = std::find_if(checks.begin(), checks.end(),
                           [&](const HardwareCheck &check) { return check.name == name; });
    if (it == checks.end())
        throw std::runtime_error("no check named " + name);
    return *it;
}

std::string statusOf(const std::vector<HardwareCheck> &checks, const std::string &name) {
    return statusWord(find(checks, name).status);
}

TEST(CheckHardwareTest, APi4WiredAsConfiguredPassesEveryCheck) {
    RecordedMachine machine(tree("pi4"));
    const std::vector<HardwareCheck> checks =
        checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(
        formatChecks(checks),
        "OK    usb controller   fe980000.usb (Raspberry Pi 4 Model B Rev 1.4)\n"
        "OK    usb gadget       kvmvnc bound to fe980000.usb: hid.usb0, hid.usb1, hid.usb2, "
        "mass_storage.usb0\n"
        "OK    usb host         the target's USB host has configured the gadget\n"
        "OK    keyboard         /dev/hidg0 root:kvmvnc 0660, writable by kvmvnc\n"
        "OK    mouse            /dev/hidg1 root:kvmvnc 0660, writable by kvmvnc\n"
        "OK    usb drive        mass_storage.usb0/lun.0/file kvmvnc:root 0644, writable by "
        "kvmvnc\n"
        "OK    capture device   /dev/video0 root:video 0660, driver unicam at "
        "platform:fe801000.csi, input 0 (Camera 0)\n"
        "OK    capture formats  offers RGB3, UYVY; kvmvncd takes UYVY in the mode the signal "
        "has\n"
        "OK    capture signal   1920x1080p at 60 Hz (DV timings)\n"
        "OK    edid             /dev/video0 holds kvmvnc's default EDID: monitor kvmvnc, "
        "1920x1080 at 60 Hz preferred\n"
        "OK    gpio chip        /dev/gpiochip0 (pinctrl-bcm2711, 58 lines), root:gpio 0660\n"
        "OK    gpio lines       power button 23 (GPIO23), reset button 27 (GPIO27), power LED "
        "24 (GPIO24), HDD LED 22 (GPIO22) on gpiochip0\n"
        "OK    power            no under-voltage or throttling since boot\n"
        "OK    temperature      48.3 C\n"
        "OK    certificate      /var/lib/kvmvnc/tls/cert.pem (self-signed), "
        "SHA256:22:8F:41:29:C0:34:20:5D:5B:18:02:7C:B6:F7:EB:9A:74:36:3A:DB:C4:3A:9E:5E:02:BD:"
        "26:5B:61:88:32:C4, valid until 2036-12-04\n"
        "WARN  listen address   nothing listens on 0.0.0.0:5900: kvmvncd is not running; fix: "
        "sudo systemctl start kvmvncd (journalctl -u kvmvncd says why it stopped)\n");
    EXPECT_FALSE(anyFailed(checks));
    EXPECT_EQ(summaryLine(checks), "everything the configuration needs is there (1 warning)");
    EXPECT_EQ(machine.probedDevice, "/dev/video0");
    EXPECT_EQ(machine.probedInput, -1);
    EXPECT_EQ(machine.probedFormat, capture::PixelFormat::Uyvy);
}

// Nothing of the hardware is needed for the virtual target: every part is
// skipped, whatever the machine has, and the check passes.
TEST(CheckHardwareTest, TheVirtualTargetNeedsNoHardware) {
    RecordedMachine machine(tree("pi3"));
    const std::vector<HardwareCheck> checks =
        checkHardware(config::Config{}, machine, onAGoodDay());
    for (const char *name : {"usb controller", "usb gadget", "usb host", "keyboard", "mouse",
                             "usb drive", "capture device", "capture formats", "capture signal",
                             "edid", "gpio chip", "gpio lines", "power", "temperature"})
        EXPECT_EQ(statusOf(checks, name), "SKIP") << name;
    EXPECT_FALSE(anyFailed(checks));
    EXPECT_TRUE(machine.probedDevice.empty()) << "no capture device is opened";
}

TEST(CheckHardwareTest, WithoutTheDwc2OverlayAPi4HasNoUsbDeviceController) {
    RecordedMachine machine(tree("pi4-no-dwc2"));
    // No controller, so the gadget stayed unbound and f_hid made no nodes.
    machine.nodes.erase("/dev/hidg0");
    machine.nodes.erase("/dev/hidg1");
    const std::vector<HardwareCheck> checks =
        checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "usb controller"),
              (HardwareCheck{"usb controller", Status::Fail,
                             "no USB device controller: the dwc2 overlay is off (Raspberry Pi 4 "
                             "Model B Rev 1.5)",
                             "add dtoverlay=dwc2,dr_mode=peripheral under [all] in "
                             "/boot/firmware/config.txt and reboot"}));
    EXPECT_EQ(statusOf(checks, "usb gadget"), "FAIL");
    EXPECT_EQ(find(checks, "usb gadget").finding,
              "gadget kvmvnc is not bound to a USB device controller");
    EXPECT_EQ(statusOf(checks, "usb host"), "SKIP");
    EXPECT_EQ(find(checks, "keyboard").finding, "no /dev/hidg0");
    EXPECT_TRUE(anyFailed(checks));
    // Controller, gadget, keyboard, mouse; and nothing listens yet.
    EXPECT_EQ(summaryLine(checks),
              "4 parts the configuration needs are missing or wrong, 1 warning");
}

TEST(CheckHardwareTest, TheOverlayInConfigTxtWithoutAControllerWantsAReboot) {
    TreeCopy copy(tree("pi4-no-dwc2"), "reboot");
    copy.write("/boot/firmware/config.txt", "[all]\n  dtoverlay=dwc2\n");
    RecordedMachine machine(copy.root());
    const HardwareCheck check =
        find(checkHardware(tc358743Config(), machine, onAGoodDay()), "usb controller");
    EXPECT_EQ(check.status, Status::Fail);
    EXPECT_EQ(check.finding,
              "no USB device controller, although /boot/firmware/config.txt has "
              "\"dtoverlay=dwc2\"");
    EXPECT_EQ(check.fix,
              "reboot: the overlay takes effect at boot (the dwc2 driver is not loaded)");

    copy.write("/boot/firmware/config.txt", "dtoverlay=dwc2,dr_mode=host\n");
    EXPECT_EQ(find(checkHardware(tc358743Config(), machine, onAGoodDay()), "usb controller").fix,
              "write dtoverlay=dwc2,dr_mode=peripheral there and reboot");
}

TEST(CheckHardwareTest, APi3BPlusHasNoOtgPortWhateverConfigTxtSays) {
    RecordedMachine machine(tree("pi3"));
    const std::vector<HardwareCheck> checks =
        checkHardware(tc358743Config(), machine, onAGoodDay());
    const HardwareCheck &controller = find(checks, "usb controller");
    EXPECT_EQ(controller.status, Status::Fail);
    EXPECT_EQ(controller.finding,
              "this board has no OTG port (Raspberry Pi 3 Model B Plus Rev 1.3): nothing can be "
              "the target's USB keyboard");
    EXPECT_NE(controller.fix.find("Raspberry Pi 4, 5, Zero 2 W"), std::string::npos);
    EXPECT_EQ(find(checks, "usb gadget").finding, "no USB gadget in /sys/kernel/config/usb_gadget");
}

TEST(CheckHardwareTest, AnUnboundGadgetFailsAndSaysHowToBindIt) {
    TreeCopy copy(tree("pi4"), "unbound");
    copy.write("/sys/kernel/config/usb_gadget/kvmvnc/UDC", "\n");
    copy.write("/sys/devices/platform/soc/fe980000.usb/udc/fe980000.usb/state", "not attached\n");
    RecordedMachine machine(copy.root());
    machine.nodes.erase("/dev/hidg0");
    machine.nodes.erase("/dev/hidg1");
    machine.nodes.erase("/dev/hidg2");
    const std::vector<HardwareCheck> checks =
        checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(statusOf(checks, "usb controller"), "OK");
    EXPECT_EQ(find(checks, "usb gadget"),
              (HardwareCheck{"usb gadget", Status::Fail,
                             "gadget kvmvnc is not bound to a USB device controller",
                             "sudo kvmvnc-gadget up (or sudo systemctl restart kvmvnc-gadget)"}));
    EXPECT_EQ(find(checks, "keyboard"),
              (HardwareCheck{"keyboard", Status::Fail, "no /dev/hidg0",
                             "bind the gadget (usb gadget above): the node exists while it is"}));
    EXPECT_TRUE(anyFailed(checks));
}

// The target's USB host is the target's business: off or asleep warns.
TEST(CheckHardwareTest, ATargetThatIsOffOnlyWarns) {
    TreeCopy copy(tree("pi4"), "off");
    copy.write("/sys/devices/platform/soc/fe980000.usb/udc/fe980000.usb/state", "not attached\n");
    RecordedMachine machine(copy.root());
    const std::vector<HardwareCheck> checks =
        checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "usb host").status, Status::Warning);
    EXPECT_EQ(find(checks, "usb host").finding,
              "the target's USB host does not use the gadget (not attached)");
    EXPECT_FALSE(anyFailed(checks));
}

TEST(CheckHardwareTest, HidNodesTheServiceUserCannotWriteFail) {
    RecordedMachine machine(tree("pi4"));
    machine.nodes["/dev/hidg0"] = {0, true, false, "root", "root", 0600};
    std::vector<HardwareCheck> checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    const HardwareCheck &keyboard = find(checks, "keyboard");
    EXPECT_EQ(keyboard.status, Status::Fail);
    EXPECT_EQ(keyboard.finding, "/dev/hidg0 root:root 0600: user kvmvnc cannot write it");
    EXPECT_NE(keyboard.fix.find("70-kvmvnc.rules"), std::string::npos);
    EXPECT_EQ(statusOf(checks, "mouse"), "OK");

    // The relative mouse is /dev/hidg2.
    config::Config relative = tc358743Config();
    relative.hid.mouseMode = config::MouseMode::Relative;
    machine.nodes["/dev/hidg2"] = {0, false, false, "root", "kvmvnc", 0660};
    checks = checkHardware(relative, machine, onAGoodDay());
    EXPECT_EQ(find(checks, "mouse").finding, "/dev/hidg2 is not a device node");

    // Root may write anything.
    machine.account = {"root", true, {"root"}, "no user kvmvnc here: the user running this check"};
    EXPECT_EQ(find(checkHardware(tc358743Config(), machine, onAGoodDay()), "keyboard").finding,
              "/dev/hidg0 root:root 0600, writable by root");
}

TEST(CheckHardwareTest, TheDriveNeedsTheLunHandedToTheServiceUser) {
    RecordedMachine machine(tree("pi4"));
    machine.nodes["/sys/kernel/config/usb_gadget/kvmvnc/functions/mass_storage.usb0/lun.0/file"] = {
        0, false, false, "root", "root", 0644};
    const HardwareCheck drive =
        find(checkHardware(tc358743Config(), machine, onAGoodDay()), "usb drive");
    EXPECT_EQ(drive.status, Status::Fail);
    EXPECT_EQ(drive.finding,
              "mass_storage.usb0/lun.0/file root:root 0644: user kvmvnc cannot write it");

    config::Config otherLun = tc358743Config();
    otherLun.msd.lun = "/sys/kernel/config/usb_gadget/kvmvnc/functions/mass_storage.usb9/lun.0";
    EXPECT_EQ(find(checkHardware(otherLun, machine, onAGoodDay()), "usb drive").finding,
              "no LUN " + otherLun.msd.lun);
    config::Config noDrive = tc358743Config();
    noDrive.msd.target = config::DeviceTarget::None;
    EXPECT_EQ(statusOf(checkHardware(noDrive, machine, onAGoodDay()), "usb drive"), "SKIP");
}

// --- capture ---------------------------------------------------------------------------------

TEST(CheckHardwareTest, AMissingCaptureDeviceFails) {
    RecordedMachine machine(tree("pi4"));
    machine.nodes.erase("/dev/video0");
    const std::vector<HardwareCheck> checks =
        checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "capture device").status, Status::Fail);
    EXPECT_EQ(find(checks, "capture device").finding, "no /dev/video0");
    EXPECT_NE(find(checks, "capture device").fix.find("dtoverlay=tc358743"), std::string::npos);
    for (const char *name : {"capture formats", "capture signal", "edid"})
        EXPECT_EQ(find(checks, name).finding, "no capture device (above)") << name;
    EXPECT_TRUE(machine.probedDevice.empty());
    EXPECT_TRUE(anyFailed(checks));
}

TEST(CheckHardwareTest, ACaptureNodeTheServiceUserCannotOpenFails) {
    RecordedMachine machine(tree("pi4"));
    machine.nodes["/dev/video0"] = {0, true, false, "root", "root", 0600};
    const HardwareCheck check =
        find(checkHardware(tc358743Config(), machine, onAGoodDay()), "capture device");
    EXPECT_EQ(check.status, Status::Fail);
    EXPECT_EQ(check.finding, "/dev/video0 root:root 0600: user kvmvnc cannot open it");
}

TEST(CheckHardwareTest, ANodeThatIsNoCaptureDeviceFails) {
    RecordedMachine machine(tree("pi4"));
    machine.v4l2.videoCapture = false;
    machine.v4l2.card = "unicam-embedded";
    HardwareCheck check =
        find(checkHardware(tc358743Config(), machine, onAGoodDay()), "capture device");
    EXPECT_EQ(check.status, Status::Fail);
    EXPECT_EQ(check.finding,
              "/dev/video0 (unicam \"unicam-embedded\") is not a video capture node");
    machine.v4l2 = RecordedMachine::tc358743();
    machine.v4l2.openError = ENODEV;
    check = find(checkHardware(tc358743Config(), machine, onAGoodDay()), "capture device");
    EXPECT_EQ(check.finding, "cannot open /dev/video0: No such device");
    machine.v4l2 = RecordedMachine::tc358743();
    machine.v4l2.input = 3;
    machine.v4l2.inputError = EINVAL;
    check = find(checkHardware(tc358743Config(), machine, onAGoodDay()), "capture device");
    EXPECT_EQ(check.finding, "/dev/video0 (unicam) has no input 3");
}

TEST(CheckHardwareTest, NoSignalWarnsWithWhatToLookAt) {
    RecordedMachine machine(tree("pi4"));
    machine.v4l2.dvError = -ENOLINK;
    std::vector<HardwareCheck> checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "capture signal"),
              (HardwareCheck{"capture signal", Status::Warning, "no signal (DV timings: no link)",
                             "is the target on? is the EDID loaded (edid below)?"}));
    EXPECT_FALSE(anyFailed(checks));
    machine.v4l2.dvError = -ENOLCK;
    checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "capture signal").finding,
              "a signal that does not lock (DV timings: no lock)");
    machine.v4l2.dvError = -ERANGE;
    checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "capture signal").status, Status::Warning);
    EXPECT_EQ(find(checks, "capture signal").finding,
              "the target sends a mode out of the device's range");
}

TEST(CheckHardwareTest, AnEmptyEdidWarnsBeforeKvmvncdLoadsItAndFailsAfter) {
    RecordedMachine machine(tree("pi4"));
    machine.v4l2.edid.clear();
    machine.v4l2.dvError = -ENOLINK;
    HardwareCheck edid = find(checkHardware(tc358743Config(), machine, onAGoodDay()), "edid");
    EXPECT_EQ(edid.status, Status::Warning);
    EXPECT_EQ(edid.finding,
              "/dev/video0 holds no EDID: the target sees no monitor until kvmvncd loads "
              "kvmvnc's default EDID when it starts");
    // Asked inside a running kvmvncd, which has loaded it by then.
    CheckOptions inside = onAGoodDay();
    inside.daemonPort = 5900;
    edid = find(checkHardware(tc358743Config(), machine, inside), "edid");
    EXPECT_EQ(edid.status, Status::Fail);
    EXPECT_EQ(edid.fix, "kvmvncctl edid show says why loading kvmvnc's default EDID failed");
    // With keep nothing ever loads one.
    config::Config keep = tc358743Config();
    keep.capture.edid = "keep";
    edid = find(checkHardware(keep, machine, onAGoodDay()), "edid");
    EXPECT_EQ(edid, (HardwareCheck{"edid", Status::Fail,
                                   "/dev/video0 holds no EDID: the target sees no monitor",
                                   "set [capture] edid = default"}));
}

TEST(CheckHardwareTest, TheEdidHeldIsComparedWithTheConfiguredOne) {
    TreeCopy copy(tree("pi4"), "edid");
    // Another monitor's EDID: kvmvnc's with another name and checksum.
    std::vector<uint8_t> other = capture::Edid::kvmvncDefault().bytes();
    const std::string monitor = "other";
    for (size_t at = 54; at + 18 <= 126; at += 18) {
        if (other[at] == 0 && other[at + 1] == 0 && other[at + 3] == 0xfc) {
            for (size_t i = 0; i < 13; ++i)
                other[at + 5 + i] =
                    i < monitor.size() ? monitor[i] : (i == monitor.size() ? 0x0a : 0x20);
        }
    }
    uint8_t sum = 0;
    for (size_t i = 0; i < 127; ++i)
        sum = static_cast<uint8_t>(sum + other[i]);
    other[127] = static_cast<uint8_t>(0x100 - sum);
    std::string hex;
    for (uint8_t byte : other) {
        char pair[4];
        std::snprintf(pair, sizeof(pair), "%02x ", byte);
        hex += pair;
    }
    copy.write("/etc/kvmvnc/monitor.hex", hex);

    RecordedMachine machine(copy.root());
    config::Config fromFile = tc358743Config();
    fromFile.capture.edid = "/etc/kvmvnc/monitor.hex";
    HardwareCheck edid = find(checkHardware(fromFile, machine, onAGoodDay()), "edid");
    EXPECT_EQ(edid.status, Status::Warning);
    EXPECT_EQ(edid.finding,
              "/dev/video0 holds another EDID (monitor kvmvnc, 1920x1080 at 60 Hz preferred) "
              "than [capture] edid = /etc/kvmvnc/monitor.hex");
    machine.v4l2.edid = other;
    edid = find(checkHardware(fromFile, machine, onAGoodDay()), "edid");
    EXPECT_EQ(edid.status, Status::Ok);
    EXPECT_EQ(edid.finding,
              "/dev/video0 holds the EDID from /etc/kvmvnc/monitor.hex: monitor other, 1920x1080 "
              "at 60 Hz preferred");
    config::Config keep = tc358743Config();
    keep.capture.edid = "keep";
    EXPECT_EQ(find(checkHardware(keep, machine, onAGoodDay()), "edid").finding,
              "/dev/video0 holds monitor other, 1920x1080 at 60 Hz preferred ([capture] edid = "
              "keep)");
    config::Config missing = tc358743Config();
    missing.capture.edid = "/etc/kvmvnc/none.hex";
    edid = find(checkHardware(missing, machine, onAGoodDay()), "edid");
    EXPECT_EQ(edid.status, Status::Fail);
    EXPECT_EQ(edid.finding, "[capture] edid = /etc/kvmvnc/none.hex: cannot read it");
    machine.v4l2.edid.assign(128, 0xff);
    edid = find(checkHardware(tc358743Config(), machine, onAGoodDay()), "edid");
    EXPECT_EQ(edid.status, Status::Fail);
    EXPECT_TRUE(edid.finding.starts_with("/dev/video0 holds an invalid EDID: ")) << edid.finding;
}

TEST(CheckHardwareTest, AUsbDongleListsItsModesAndTakesNoEdid) {
    RecordedMachine machine(tree("pi4"));
    machine.v4l2 = RecordedMachine::usbDongle();
    const config::Config dongle =
        config::loadConfig(std::string(KVMVNC_CONFIG_EXAMPLES) + "/usb-dongle.ini");
    std::vector<HardwareCheck> checks = checkHardware(dongle, machine, onAGoodDay());
    EXPECT_EQ(find(checks, "capture formats"),
              (HardwareCheck{"capture formats", Status::Ok,
                             "offers MJPG, YUYV; kvmvncd tries MJPG first at 1920x1080, 1600x1200, "
                             "1360x768, 1280x1024, 1280x960, 1280x720, 4 more",
                             ""}));
    EXPECT_EQ(find(checks, "capture signal").status, Status::Ok);
    EXPECT_EQ(find(checks, "edid"),
              (HardwareCheck{"edid", Status::Skipped,
                             "/dev/video0 takes no EDID (USB capture dongles show the target "
                             "their own)",
                             ""}));
    EXPECT_FALSE(anyFailed(checks));

    config::Config odd = dongle;
    odd.capture.width = 1366;
    odd.capture.height = 768;
    const HardwareCheck formats =
        find(checkHardware(odd, machine, onAGoodDay()), "capture formats");
    EXPECT_EQ(formats.status, Status::Warning);
    EXPECT_NE(formats.finding.find("not 1366x768 ([capture] width, height)"), std::string::npos);

    // Formats kvmvncd does not read are counted, and named when it reads none.
    machine.v4l2.formats = {V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_GREY};
    EXPECT_TRUE(find(checkHardware(dongle, machine, onAGoodDay()), "capture formats")
                    .finding.starts_with("offers MJPG and 2 more; kvmvncd tries MJPG first at "));
    machine.v4l2.formats = {V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_GREY};
    EXPECT_EQ(find(checkHardware(dongle, machine, onAGoodDay()), "capture formats"),
              (HardwareCheck{"capture formats", Status::Fail,
                             "offers NV12, GREY: none that kvmvncd reads (YUYV, UYVY, RGB3, BGR3, "
                             "MJPG)",
                             "this device cannot be used; a TC358743 or an MJPEG dongle can"}));
    machine.v4l2 = RecordedMachine::usbDongle();

    config::Config uyvy = dongle;
    uyvy.capture.format = capture::PixelFormat::Uyvy;
    checks = checkHardware(uyvy, machine, onAGoodDay());
    EXPECT_EQ(find(checks, "capture formats"),
              (HardwareCheck{"capture formats", Status::Fail,
                             "offers MJPG, YUYV, not UYVY ([capture] format)",
                             "set [capture] format = auto, or to one it offers"}));
    EXPECT_TRUE(anyFailed(checks));
}

// --- GPIO ------------------------------------------------------------------------------------

TEST(CheckHardwareTest, ALineTheChipDoesNotHaveFails) {
    RecordedMachine machine(tree("pi4"));
    config::Config wrong = tc358743Config();
    wrong.atx.powerButton = 99;
    const std::vector<HardwareCheck> checks = checkHardware(wrong, machine, onAGoodDay());
    EXPECT_EQ(find(checks, "gpio chip").status, Status::Ok);
    EXPECT_EQ(find(checks, "gpio lines"),
              (HardwareCheck{"gpio lines", Status::Fail,
                             "power button line 99: gpiochip0 has 58 lines (0 to 57)",
                             "set [atx] power_button to a line of gpiochip0 (gpioinfo "
                             "gpiochip0), or -1 when it is not wired"}));
    EXPECT_TRUE(anyFailed(checks));
}

TEST(CheckHardwareTest, LinesHeldByAnotherProgramFailAndKvmvncdsOwnDoNot) {
    RecordedMachine machine(tree("pi4"));
    machine.chip.consumers = {{23, "kvmvnc"}, {27, "kvmvnc"}, {24, "kvmvnc"}, {22, "kvmvnc"}};
    std::vector<HardwareCheck> checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "gpio lines").status, Status::Ok);
    EXPECT_EQ(find(checks, "gpio lines").finding,
              "power button 23 (GPIO23), reset button 27 (GPIO27), power LED 24 (GPIO24), HDD "
              "LED 22 (GPIO22) on gpiochip0, held by kvmvncd");
    machine.chip.consumers[27] = "reset-gpio";
    checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "gpio lines").status, Status::Fail);
    EXPECT_EQ(find(checks, "gpio lines").finding,
              "reset button line 27 (GPIO27) is held by \"reset-gpio\"");
    machine.chip.consumers[27] = "";
    checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "gpio lines").finding,
              "reset button line 27 (GPIO27) is held by the kernel");
}

TEST(CheckHardwareTest, OneLineForTwoPartsFails) {
    RecordedMachine machine(tree("pi4"));
    config::Config twice = tc358743Config();
    twice.atx.hddLed = 24;
    const HardwareCheck lines = find(checkHardware(twice, machine, onAGoodDay()), "gpio lines");
    EXPECT_EQ(lines.status, Status::Fail);
    EXPECT_EQ(lines.finding, "HDD LED line 24 is the power LED's too");
}

TEST(CheckHardwareTest, AMissingOrForbiddenGpioChipFails) {
    RecordedMachine machine(tree("pi4"));
    config::Config other = tc358743Config();
    other.atx.chip = "gpiochip4";
    std::vector<HardwareCheck> checks = checkHardware(other, machine, onAGoodDay());
    EXPECT_EQ(find(checks, "gpio chip"),
              (HardwareCheck{"gpio chip", Status::Fail,
                             "cannot open GPIO chip gpiochip4: No such file or directory",
                             "set [atx] chip to one gpiodetect lists"}));
    EXPECT_EQ(find(checks, "gpio lines").status, Status::Skipped);
    machine.nodes["/dev/gpiochip0"] = {0, true, false, "root", "root", 0600};
    checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "gpio chip").status, Status::Fail);
    EXPECT_EQ(find(checks, "gpio chip").finding,
              "/dev/gpiochip0 (pinctrl-bcm2711, 58 lines) root:root 0600: user kvmvnc cannot use "
              "it");
    config::Config none = tc358743Config();
    none.atx.target = config::DeviceTarget::None;
    checks = checkHardware(none, machine, onAGoodDay());
    EXPECT_EQ(find(checks, "gpio chip").finding, "not needed: [atx] target = none");
    EXPECT_EQ(find(checks, "gpio chip").status, Status::Skipped);
    EXPECT_EQ(find(checks, "gpio lines").status, Status::Skipped);
}

// --- the board -------------------------------------------------------------------------------

TEST(CheckHardwareTest, UnderVoltageAndHeatWarnButNeverFail) {
    TreeCopy copy(tree("pi4"), "health");
    copy.write("/sys/devices/platform/soc/soc:firmware/get_throttled", "0x50005\n");
    copy.write("/sys/devices/virtual/thermal/thermal_zone0/temp", "83250\n");
    RecordedMachine machine(copy.root());
    std::vector<HardwareCheck> checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "power"),
              (HardwareCheck{"power", Status::Warning,
                             "under-voltage, throttled now; under-voltage, throttled since boot",
                             "use a 5.1 V supply of 3 A (5 A for a Pi 5) and a short cable; do "
                             "not power the Pi from the target"}));
    EXPECT_EQ(find(checks, "temperature"),
              (HardwareCheck{"temperature", Status::Warning,
                             "83.2 C, at or over 80 C ([health] hot_celsius)",
                             "cool the board (heatsink, fan, airflow)"}));
    EXPECT_FALSE(anyFailed(checks));
    copy.write("/sys/devices/platform/soc/soc:firmware/get_throttled", "0x10000\n");
    checks = checkHardware(tc358743Config(), machine, onAGoodDay());
    EXPECT_EQ(find(checks, "power").finding, "under-voltage since boot");
}

// --- the network side ------------------------------------------------------------------------

TEST(CheckHardwareTest, AnExpiredCertificateFailsOnlyWhenSomeoneLogsIn) {
    RecordedMachine machine(tree("pi4"));
    CheckOptions later;
    later.now = system_clock::from_time_t(2145916800);  // 2038-01-01
    HardwareCheck certificate =
        find(checkHardware(tc358743Config(), machine, later), "certificate");
    EXPECT_EQ(certificate.status, Status::Fail);
    EXPECT_NE(certificate.finding.find(", expired on 2036-12-04"), std::string::npos);
    EXPECT_EQ(certificate.fix,
              "delete cert.pem and key.pem in /var/lib/kvmvnc/tls: kvmvncd makes new ones at "
              "start (viewers then see a new fingerprint)");
    config::Config open = tc358743Config();
    open.server.passwdFile.clear();
    certificate = find(checkHardware(open, machine, later), "certificate");
    EXPECT_EQ(certificate.status, Status::Warning);
    EXPECT_TRUE(certificate.finding.ends_with("(no one logs in: no password or users file)"));

    CheckOptions soon;
    soon.now = system_clock::from_time_t(2110752000);  // 2036-11-20
    certificate = find(checkHardware(tc358743Config(), machine, soon), "certificate");
    EXPECT_EQ(certificate.status, Status::Warning);
    EXPECT_NE(certificate.finding.find("expires on 2036-12-04"), std::string::npos);
}

TEST(CheckHardwareTest, ACertificateNotMadeYetIsMadeAtStart) {
    RecordedMachine machine(tree("pi4"));
    config::Config fresh = tc358743Config();
    fresh.security.tlsDir = "/var/lib/kvmvnc/new";
    EXPECT_EQ(find(checkHardware(fresh, machine, onAGoodDay()), "certificate"),
              (HardwareCheck{"certificate", Status::Ok,
                             "none yet: kvmvncd makes a self-signed one in /var/lib/kvmvnc/new "
                             "when it starts",
                             ""}));
    config::Config own = tc358743Config();
    own.security.tlsCert = "/etc/kvmvnc/cert.pem";
    own.security.tlsKey = "/etc/kvmvnc/key.pem";
    const HardwareCheck missing = find(checkHardware(own, machine, onAGoodDay()), "certificate");
    EXPECT_EQ(missing.status, Status::Fail);
    EXPECT_EQ(missing.finding, "cannot read /etc/kvmvnc/cert.pem: No such file or directory");
}

TEST(CheckHardwareTest, TheListenAddressMustBeThisMachinesAndThePortFree) {
    RecordedMachine machine(tree("pi4"));
    machine.listen = {ListenFacts::State::Rfb, "RFB 003.008", {}};
    EXPECT_EQ(find(checkHardware(tc358743Config(), machine, onAGoodDay()), "listen address"),
              (HardwareCheck{"listen address", Status::Ok,
                             "an RFB server answers on 0.0.0.0:5900 (RFB 003.008)", ""}));
    machine.listen = {
        ListenFacts::State::NotLocal, {}, "192.0.2.7 is not an address of this machine"};
    config::Config elsewhere = tc358743Config();
    elsewhere.server.listen = "192.0.2.7";
    HardwareCheck listen = find(checkHardware(elsewhere, machine, onAGoodDay()), "listen address");
    EXPECT_EQ(listen.status, Status::Fail);
    EXPECT_EQ(listen.finding, "192.0.2.7 is not an address of this machine ([server] listen)");
    machine.listen = {ListenFacts::State::Other, {}, "127.0.0.1:5900 answered \"SSH-2.0-OpenSSH\""};
    listen = find(checkHardware(tc358743Config(), machine, onAGoodDay()), "listen address");
    EXPECT_EQ(listen.status, Status::Fail);
    EXPECT_EQ(listen.finding,
              "port 5900 is taken by another program: 127.0.0.1:5900 answered "
              "\"SSH-2.0-OpenSSH\"");
    // kvmvncd answering for itself knows where it listens.
    const int probes = machine.listenProbes;
    CheckOptions inside = onAGoodDay();
    inside.daemonPort = 5901;
    EXPECT_EQ(find(checkHardware(tc358743Config(), machine, inside), "listen address").finding,
              "kvmvncd listens on 0.0.0.0:5901");
    EXPECT_EQ(machine.listenProbes, probes);
}

// --- the report ------------------------------------------------------------------------------

TEST(HardwareCheckTest, LinesAlignAndOnlyProblemsCarryTheirFix) {
    const std::vector<HardwareCheck> checks = {
        {"a", Status::Ok, "fine", "never shown"},
        {"a much longer name", Status::Fail, "broken", "mend it"},
        {"b", Status::Skipped, "not needed", ""},
    };
    EXPECT_EQ(formatChecks(checks),
              "OK    a                  fine\n"
              "FAIL  a much longer name broken; fix: mend it\n"
              "SKIP  b                  not needed\n");
    EXPECT_TRUE(anyFailed(checks));
    EXPECT_EQ(summaryLine(checks), "1 part the configuration needs is missing or wrong");
    EXPECT_EQ(summaryLine({{"a", Status::Warning, "", ""}, {"b", Status::Warning, "", ""}}),
              "everything the configuration needs is there (2 warnings)");
}

TEST(HardwareCheckTest, ReadAndWriteFollowTheOwnersGroupsAndOthersBits) {
    const Account kvmvnc{"kvmvnc", false, {"kvmvnc", "video"}, ""};
    EXPECT_TRUE(mayReadWrite({0, true, false, "root", "video", 0660}, kvmvnc));
    EXPECT_FALSE(mayReadWrite({0, true, false, "root", "video", 0640}, kvmvnc));
    EXPECT_TRUE(mayReadWrite({0, true, false, "kvmvnc", "root", 0600}, kvmvnc));
    // The owner's bits alone count for the owner, as in the kernel.
    EXPECT_FALSE(mayReadWrite({0, true, false, "kvmvnc", "video", 0066}, kvmvnc));
    EXPECT_TRUE(mayReadWrite({0, true, false, "root", "root", 0666}, kvmvnc));
    EXPECT_FALSE(mayReadWrite({0, true, false, "root", "gpio", 0660}, kvmvnc));
    EXPECT_FALSE(mayReadWrite({ENOENT, false, false, "", "", 0}, kvmvnc));
    EXPECT_TRUE(mayReadWrite({0, true, false, "root", "root", 0600}, {"root", true, {}, ""}));
}

}  // namespace
}  // namespace kvmvnc::doctor
