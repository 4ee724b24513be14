// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/stage_options.h"

#include <gtest/gtest.h>

#include <array>

namespace kvmvnc::app {

namespace {

config::Config parse(const std::string &text) {
    return config::parseConfig(text, "test.ini", "/etc/kvmvnc");
}

}  // namespace

// A stage's options struct keeps defaults of its own, for the stage's tests;
// they must be the key table's, or a stage built in a test would not be the
// one kvmvncd runs with its defaults.
TEST(StageOptionsTest, PasteChordIsTheKeysymsOrNone) {
    config::HidSection hid;
    hid.pasteChord = "ctrl_r,ctrl_r,V";
    EXPECT_EQ(pasteChordOf(hid), (std::vector<uint32_t>{0xffe4, 0xffe4, 'v'}));
    hid.pasteChord = "off";
    EXPECT_TRUE(pasteChordOf(hid).empty());
}

TEST(StageOptionsTest, StagesDefaultsAreTheKeyTables) {
    const config::Config defaults;

    const rfb::RfbServerOptions server = rfbServerOptionsOf(defaults.server);
    const rfb::RfbServerOptions serverDefaults;
    EXPECT_EQ(server.desktopName, serverDefaults.desktopName);
    EXPECT_EQ(server.maxClients, serverDefaults.maxClients);
    EXPECT_EQ(server.stallTimeout, serverDefaults.stallTimeout);
    EXPECT_EQ(pasteChordOf(defaults.hid), serverDefaults.pasteChord);
    // Not xvp: the server offers it only when asked (it needs a control
    // service); kvmvncd asks unless [server] xvp says no.

    const door::FrontDoorOptions door = frontDoorOptionsOf(defaults.server, defaults.security);
    const door::FrontDoorOptions doorDefaults;
    EXPECT_EQ(door.listen, doorDefaults.listen);
    EXPECT_EQ(door.port, doorDefaults.port);
    EXPECT_EQ(door.rfbPort, doorDefaults.rfbPort);
    EXPECT_EQ(door.handshakeTimeout, doorDefaults.handshakeTimeout);
    EXPECT_EQ(door.stallTimeout, doorDefaults.stallTimeout);
    EXPECT_EQ(door.throttle.failuresPerMinute, doorDefaults.throttle.failuresPerMinute);
    EXPECT_EQ(door.policy.allowUnencrypted, doorDefaults.policy.allowUnencrypted);
    EXPECT_EQ(door.policy.allowTlsNone, doorDefaults.policy.allowTlsNone);
    EXPECT_EQ(door.policy.anonymousTls, doorDefaults.policy.anonymousTls);
    EXPECT_EQ(door.policy.webOrigins, doorDefaults.policy.webOrigins);

    const capture::V4l2Options v4l2 = v4l2OptionsOf(defaults.capture);
    const capture::V4l2Options v4l2Defaults;
    EXPECT_EQ(v4l2.device, v4l2Defaults.device);
    EXPECT_EQ(v4l2.format, v4l2Defaults.format);
    EXPECT_EQ(v4l2.width, v4l2Defaults.width);
    EXPECT_EQ(v4l2.height, v4l2Defaults.height);
    EXPECT_EQ(v4l2.fps, v4l2Defaults.fps);
    EXPECT_EQ(v4l2.input, v4l2Defaults.input);
    EXPECT_EQ(v4l2.firstFrameTimeout, v4l2Defaults.firstFrameTimeout);

    // The size --help-config gives the virtual target.
    const target::MachineOptions machine =
        machineOptionsOf(defaults.capture, defaults.virtualTarget);
    EXPECT_EQ(machine.desktopSize, (Size{1920, 1080}));
    EXPECT_EQ(machine.biosDuration, target::MachineOptions{}.biosDuration);

    // Not the line numbers: without a configuration the library drives no
    // line, kvmvncd drives PiKVM's.
    const atx::GpioAtxOptions gpio = gpioAtxOptionsOf(defaults.atx);
    const atx::GpioAtxOptions gpioDefaults;
    EXPECT_EQ(gpio.chip, gpioDefaults.chip);
    EXPECT_EQ(gpio.buttonsActiveLow, gpioDefaults.buttonsActiveLow);
    EXPECT_EQ(gpio.ledsActiveLow, gpioDefaults.ledsActiveLow);
    const atx::AtxTimings timings = atxTimingsOf(defaults.atx);
    const atx::AtxTimings timingsDefaults;
    EXPECT_EQ(timings.click, timingsDefaults.click);
    EXPECT_EQ(timings.longPress, timingsDefaults.longPress);
    EXPECT_EQ(timings.busyAfter, timingsDefaults.busyAfter);
    EXPECT_EQ(wakeOnLanOf(defaults.atx), std::nullopt);
    const std::optional<atx::WakeOnLanTarget> wol =
        wakeOnLanOf(parse("[atx]\nwol_mac = aa:bb:cc:dd:ee:ff\n").atx);
    ASSERT_TRUE(wol.has_value());
    EXPECT_EQ(wol->address, atx::WakeOnLanTarget{}.address);
    EXPECT_EQ(wol->port, atx::WakeOnLanTarget{}.port);

    const msd::StoreLimits limits = storeLimitsOf(defaults.msd);
    const msd::StoreLimits limitsDefaults;
    EXPECT_EQ(limits.partialMaxAge, limitsDefaults.partialMaxAge);
    EXPECT_EQ(limits.freeSpaceReserve, limitsDefaults.freeSpaceReserve);

    const health::HealthOptions health = healthOptionsOf(defaults.health);
    const health::HealthOptions healthDefaults;
    EXPECT_EQ(health.interval, healthDefaults.interval);
    EXPECT_EQ(health.hotCelsius, healthDefaults.hotCelsius);
    EXPECT_EQ(health.sysfsRoot, healthDefaults.sysfsRoot);

    const encode::H264Options h264 = h264OptionsOf(defaults.h264);
    const encode::H264Options h264Defaults;
    EXPECT_EQ(h264.bitrateKbps, h264Defaults.bitrateKbps);
    EXPECT_EQ(h264.maxFps, h264Defaults.maxFps);
    EXPECT_EQ(h264.gop, h264Defaults.gop);
    EXPECT_EQ(h264.minQp, h264Defaults.minQp);
    EXPECT_EQ(h264.maxQp, h264Defaults.maxQp);
    const rfb::H264UpdateOptions updates = h264UpdateOptionsOf(defaults.h264);
    const rfb::H264UpdateOptions updatesDefaults;
    EXPECT_EQ(updates.motion.areaPercent, updatesDefaults.motion.areaPercent);
    EXPECT_EQ(updates.motion.frames, updatesDefaults.motion.frames);
    EXPECT_EQ(updates.motion.still, updatesDefaults.motion.still);
    EXPECT_EQ(updates.sharpen, updatesDefaults.sharpen);

#ifdef KVMVNC_HAVE_X11
    const capture::X11Options x11 = x11OptionsOf(defaults.capture);
    EXPECT_EQ(x11.display, capture::X11Options{}.display);
    EXPECT_EQ(x11.fps, capture::X11Options{}.fps);
#endif
}

// Each configured value reaches its stage.
TEST(StageOptionsTest, ConfiguredValuesReachTheirStage) {
    const config::Config cfg = parse(R"(
[server]
listen = ::1
port = 5901
rfb_port = 5902
desktop_name = Rack 4
max_clients = 4
xvp = false
stall_timeout_ms = 4000
[capture]
device = /dev/video2
format = UYVY
width = 1280
height = 1024
fps = 60
input = 3
first_frame_timeout_ms = 0
display = :5
[virtual]
boot_seconds = 7
[atx]
chip = gpiochip4
power_button = 5
reset_button = 6
power_led = 7
hdd_led = -1
buttons_active_low = true
leds_active_low = false
click_ms = 200
long_press_ms = 6000
busy_after_ms = 500
wol_mac = aa:bb:cc:dd:ee:0f
wol_address = 192.168.1.255
wol_port = 7
[msd]
partial_max_age_hours = 0
free_space_reserve_mib = 128
[health]
hot_celsius = 70
interval_ms = 500
sysfs_root = /srv/sys
[security]
allow_unencrypted = true
allow_tls_none = true
anonymous_tls = false
handshake_timeout_ms = 3000
login_failures_per_minute = 10
web_origins = https://kvm.example
[h264]
enabled = true
bitrate_kbps = 2000
max_fps = 25
gop = 0
qp_min = 20
qp_max = 40
motion_percent = 10
motion_frames = 2
still_ms = 1000
sharpen = false
)");
    const rfb::RfbServerOptions server = rfbServerOptionsOf(cfg.server);
    EXPECT_EQ(server.desktopName, "Rack 4");
    EXPECT_EQ(server.maxClients, 4);
    EXPECT_EQ(server.stallTimeout, std::chrono::milliseconds{4000});
    EXPECT_FALSE(server.xvp);
    EXPECT_TRUE(rfbServerOptionsOf(config::Config{}.server).xvp);

    const door::FrontDoorOptions door = frontDoorOptionsOf(cfg.server, cfg.security);
    EXPECT_EQ(door.listen, "::1");
    EXPECT_EQ(door.port, 5901);
    EXPECT_EQ(door.rfbPort, 5902);
    EXPECT_EQ(door.stallTimeout, std::chrono::milliseconds{4000});
    EXPECT_EQ(door.handshakeTimeout, std::chrono::milliseconds{3000});
    EXPECT_EQ(door.throttle.failuresPerMinute, 10);
    EXPECT_TRUE(door.policy.allowUnencrypted);
    EXPECT_TRUE(door.policy.allowTlsNone);
    EXPECT_FALSE(door.policy.anonymousTls);
    EXPECT_EQ(door.policy.webOrigins, std::vector<std::string>{"https://kvm.example"});
    EXPECT_TRUE(door.webRoot.empty()) << "the daemon's to find";

    const capture::V4l2Options v4l2 = v4l2OptionsOf(cfg.capture);
    EXPECT_EQ(v4l2.device, "/dev/video2");
    EXPECT_EQ(v4l2.format, capture::PixelFormat::Uyvy);
    EXPECT_EQ(v4l2.width, 1280);
    EXPECT_EQ(v4l2.height, 1024);
    EXPECT_EQ(v4l2.fps, 60);
    EXPECT_EQ(v4l2.input, 3);
    EXPECT_EQ(v4l2.firstFrameTimeout, std::chrono::milliseconds{0});

    const target::MachineOptions machine = machineOptionsOf(cfg.capture, cfg.virtualTarget);
    EXPECT_EQ(machine.desktopSize, (Size{1280, 1024}));
    EXPECT_EQ(machine.biosDuration, std::chrono::seconds{7});

    const atx::GpioAtxOptions gpio = gpioAtxOptionsOf(cfg.atx);
    EXPECT_EQ(gpio.chip, "gpiochip4");
    EXPECT_EQ(gpio.powerButton, 5);
    EXPECT_EQ(gpio.resetButton, 6);
    EXPECT_EQ(gpio.powerLed, 7);
    EXPECT_EQ(gpio.hddLed, -1);
    EXPECT_TRUE(gpio.buttonsActiveLow);
    EXPECT_FALSE(gpio.ledsActiveLow);
    const atx::AtxTimings timings = atxTimingsOf(cfg.atx);
    EXPECT_EQ(timings.click, std::chrono::milliseconds{200});
    EXPECT_EQ(timings.longPress, std::chrono::milliseconds{6000});
    EXPECT_EQ(timings.busyAfter, std::chrono::milliseconds{500});
    const std::optional<atx::WakeOnLanTarget> wol = wakeOnLanOf(cfg.atx);
    ASSERT_TRUE(wol.has_value());
    EXPECT_EQ(std::to_array(wol->mac),
              (std::array<uint8_t, 6>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f}));
    EXPECT_EQ(wol->address, "192.168.1.255");
    EXPECT_EQ(wol->port, 7);

    const msd::StoreLimits limits = storeLimitsOf(cfg.msd);
    EXPECT_EQ(limits.partialMaxAge, std::chrono::seconds{0});
    EXPECT_EQ(limits.freeSpaceReserve, 128u << 20);

    const health::HealthOptions health = healthOptionsOf(cfg.health);
    EXPECT_EQ(health.hotCelsius, 70);
    EXPECT_EQ(health.interval, std::chrono::milliseconds{500});
    EXPECT_EQ(health.sysfsRoot, "/srv/sys");

    const encode::H264Options h264 = h264OptionsOf(cfg.h264);
    EXPECT_EQ(h264.bitrateKbps, 2000);
    EXPECT_EQ(h264.maxFps, 25);
    EXPECT_EQ(h264.gop, 0);
    EXPECT_EQ(h264.minQp, 20);
    EXPECT_EQ(h264.maxQp, 40);
    const rfb::H264UpdateOptions updates = h264UpdateOptionsOf(cfg.h264);
    EXPECT_EQ(updates.motion.areaPercent, 10);
    EXPECT_EQ(updates.motion.frames, 2);
    EXPECT_EQ(updates.motion.still, std::chrono::milliseconds{1000});
    EXPECT_FALSE(updates.sharpen);

#ifdef KVMVNC_HAVE_X11
    const capture::X11Options x11 = x11OptionsOf(cfg.capture);
    EXPECT_EQ(x11.display, ":5");
    EXPECT_EQ(x11.fps, 60);
#endif
}

// [h264] encoder: auto and v4l2m2m fall back to OpenH264 when the M2M device
// does not do (the host kernel's answers: a missing node, a character device
// that is no V4L2 device), saying why in one line; only v4l2m2m warns. The
// device taken when it does is proven in the lab (M2mLab).
TEST(StageOptionsTest, H264EncoderFallsBackToSoftwareSayingWhy) {
    const std::string missing = ::testing::TempDir() + "/no-video11";
    config::H264Section h264 = parse("").h264;
    EXPECT_EQ(h264.encoder, config::H264EncoderKind::Auto);
    h264.encoderDevice = missing;
    H264EncoderChoice choice = chooseH264Encoder(h264);
    EXPECT_FALSE(choice.warning);
#ifdef KVMVNC_HAVE_OPENH264
    ASSERT_NE(choice.encoder, nullptr);
    EXPECT_STREQ(choice.encoder->name(), "OpenH264");
    EXPECT_EQ(choice.why, "H.264 by OpenH264 ([h264] encoder = auto: " + missing +
                              ": No such file or directory)");
#else
    EXPECT_EQ(choice.encoder, nullptr);
#endif

    h264 = parse("[h264]\nencoder = v4l2m2m\nencoder_device = /dev/null\n").h264;
    choice = chooseH264Encoder(h264);
    EXPECT_TRUE(choice.warning);
#ifdef KVMVNC_HAVE_OPENH264
    ASSERT_NE(choice.encoder, nullptr);
    EXPECT_STREQ(choice.encoder->name(), "OpenH264");
    EXPECT_EQ(choice.why.rfind("H.264 by OpenH264 instead of /dev/null ([h264] encoder = v4l2m2m): "
                               "/dev/null: not a V4L2 device",
                               0),
              0u)
        << choice.why;
#endif

    h264 = parse("[h264]\nencoder = software\n").h264;
    choice = chooseH264Encoder(h264);
    EXPECT_FALSE(choice.warning);
#ifdef KVMVNC_HAVE_OPENH264
    ASSERT_NE(choice.encoder, nullptr);
    EXPECT_STREQ(choice.encoder->name(), "OpenH264");
    EXPECT_EQ(choice.why, "H.264 by OpenH264 ([h264] encoder = software)");
#endif
}

}  // namespace kvmvnc::app
