// SPDX-License-Identifier: GPL-2.0-or-later
// Keyboard and mouse through the real daemon: what viewers send becomes the
// exact bytes a USB host would receive from the gadget devices (here files),
// or what the virtual target shows.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#include "daemon_process.h"
#include "kvmvnc/input/hid_reports.h"
#include "raw_rfb_connection.h"
#include "test_timing.h"
#include "test_viewer.h"
#include "virtual_target_picture.h"

namespace kvmvnc::testing {

namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;
constexpr auto kTimeout = 10s * kSlowdown;

Bytes readFile(const std::string &path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

Bytes keyReport(uint8_t modifiers, uint8_t key = 0) { return {modifiers, 0, key, 0, 0, 0, 0, 0}; }

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes &part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

// A daemon whose keyboard and mouse are files next to its configuration.
class GadgetInputTest : public ::testing::Test {
protected:
    void start(const std::string &layout, const std::string &extra = "") {
        daemon_ = std::make_unique<DaemonProcess>(
            extra +
            "[capture]\nwidth = 1280\nheight = 720\n[virtual]\nboot_seconds = 0\n"
            "animate = false\n[hid]\ntarget = gadget\nkeyboard = kbd\nmouse = mouse\n"
            "layout = " +
            layout + "\n");
        std::ofstream(daemon_->path("kbd")).flush();
        std::ofstream(daemon_->path("mouse")).flush();
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
    }
    std::unique_ptr<TestViewer> connect(const std::optional<std::string> &password = {}) {
        ViewerOptions options;
        options.port = daemon_->port();
        options.encodings = "raw";
        options.password = password;
        options.caFile = daemon_->path("tls/cert.pem");
        auto viewer = std::make_unique<TestViewer>(options);
        EXPECT_TRUE(viewer->connect());
        EXPECT_TRUE(viewer->pumpUntil([&] { return viewer->updates() > 0; }, kTimeout));
        viewer->pump(200ms);  // messages that follow the first update (the -258 offer)
        return viewer;
    }
    // Waits until the file holds at least `size` bytes.
    Bytes waitForBytes(const std::string &name, size_t size, TestViewer &viewer) {
        viewer.pumpUntil([&] { return readFile(daemon_->path(name)).size() >= size; }, kTimeout);
        return readFile(daemon_->path(name));
    }
    void TearDown() override {
        if (daemon_) {
            EXPECT_TRUE(daemon_->isRunning()) << daemon_->log();
            EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
        }
    }
    std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace

TEST_F(GadgetInputTest, KeysymsAreTypedInTheTargetsLayout) {
    start("de");
    auto viewer = connect();
    // '@' from a US viewer: AltGr+Q on a German target, AltGr reported first.
    ASSERT_TRUE(viewer->sendKey('@', true));
    ASSERT_TRUE(viewer->sendKey('@', false));
    const Bytes expected =
        concat({keyReport(0x40), keyReport(0x40, 0x14), keyReport(0x40), keyReport(0)});
    EXPECT_EQ(waitForBytes("kbd", expected.size(), *viewer), expected);
}

TEST_F(GadgetInputTest, ExtendedKeyEventsCarryThePhysicalKey) {
    start("fr");
    auto viewer = connect();
    // The key labelled Q on a US keyboard (XT 0x10) is HID 0x14 whatever the
    // layouts; AltGr (XT 0xE0 0x38) is Right Alt.
    ASSERT_TRUE(viewer->sendExtendedKey('a', 0x10, true)) << "server did not offer -258";
    ASSERT_TRUE(viewer->sendExtendedKey('a', 0x10, false));
    ASSERT_TRUE(viewer->sendExtendedKey(0xfe03, 0xb8, true));
    ASSERT_TRUE(viewer->sendExtendedKey(0xfe03, 0xb8, false));
    const Bytes expected =
        concat({keyReport(0, 0x14), keyReport(0), keyReport(0x40), keyReport(0)});
    EXPECT_EQ(waitForBytes("kbd", expected.size(), *viewer), expected);
}

TEST_F(GadgetInputTest, PointerLandsWhereTheViewerClicked) {
    start("us");
    auto viewer = connect();
    ASSERT_TRUE(viewer->sendPointer(1279, 0, 0x01));  // left button at the top right
    ASSERT_TRUE(viewer->sendPointer(1279, 0, 0x00));
    ASSERT_TRUE(viewer->sendPointer(640, 360, 0x08));  // wheel up at the centre
    const uint16_t x = input::MouseState::scale(640, 1280);
    const uint16_t y = input::MouseState::scale(360, 720);
    const uint8_t xl = x & 0xff, xh = x >> 8, yl = y & 0xff, yh = y >> 8;
    const Bytes expected = {0x01, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x00,   // pressed
                            0x00, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x00,   // released
                            0x00, xl,   xh,   yl,   yh,   0x00, 0x00,   // moved
                            0x00, xl,   xh,   yl,   yh,   0x01, 0x00};  // one notch up
    EXPECT_EQ(waitForBytes("mouse", expected.size(), *viewer), expected);
}

// [hid] mouse_mode = relative: the movement between pointer events, in steps
// of at most 127, then the button.
TEST_F(GadgetInputTest, RelativeMouseGetsTheMovement) {
    start("us", "[hid]\nmouse_mode = relative\nrelative_mouse = mouse\n");
    auto viewer = connect();
    ASSERT_TRUE(viewer->sendPointer(100, 100, 0x00));
    ASSERT_TRUE(viewer->sendPointer(300, 90, 0x00));
    ASSERT_TRUE(viewer->sendPointer(300, 90, 0x04));       // right button
    ASSERT_TRUE(viewer->sendPointer(300, 90, 0x10));       // wheel down
    const Bytes expected = {0x00, 127, 0xf6, 0x00, 0x00,   // 127 right, 10 up
                            0x00, 73,  0x00, 0x00, 0x00,   // the rest of the 200
                            0x02, 0,   0x00, 0x00, 0x00,   // right button down
                            0x00, 0,   0x00, 0xff, 0x00};  // up, one notch down
    EXPECT_EQ(waitForBytes("mouse", expected.size(), *viewer), expected);
}

TEST_F(GadgetInputTest, NothingStaysPressedWhenTheViewerGoes) {
    start("us");
    {
        auto viewer = connect();
        ASSERT_TRUE(viewer->sendKey(0xffe3, true));  // Control_L
        ASSERT_TRUE(viewer->sendKey('c', true));
        waitForBytes("kbd", 16, *viewer);
        ASSERT_TRUE(viewer->sendPointer(10, 10, 0x04));  // right button held
        waitForBytes("mouse", 7, *viewer);
    }  // disconnects with Ctrl, C and the right button down
    auto observer = connect();
    observer->pumpUntil(
        [&] {
            Bytes keyboard = readFile(daemon_->path("kbd"));
            return keyboard.size() >= 24 &&
                   Bytes(keyboard.end() - 8, keyboard.end()) == keyReport(0);
        },
        kTimeout);
    Bytes keyboard = readFile(daemon_->path("kbd"));
    Bytes mouse = readFile(daemon_->path("mouse"));
    ASSERT_GE(keyboard.size(), 24u);
    EXPECT_EQ(Bytes(keyboard.end() - 8, keyboard.end()), keyReport(0));
    ASSERT_GE(mouse.size(), 14u);
    EXPECT_EQ(mouse[mouse.size() - 7], 0) << "mouse buttons released";
}

TEST_F(GadgetInputTest, ViewOnlyViewersCannotType) {
    start("us", "passwd_file = " + std::string(KVMVNC_TEST_DATA) + "/full_and_viewonly.passwd\n");
    auto watcher = connect("viewpass");
    ASSERT_TRUE(watcher->sendKey('x', true));
    ASSERT_TRUE(watcher->sendKey('x', false));
    ASSERT_TRUE(watcher->sendPointer(5, 5, 0x01));
    watcher->pump(500ms);
    // A full viewer's key and pointer, sent afterwards, arrive: the watcher's
    // would have been in the files before them.
    auto typist = connect("fullpass");
    ASSERT_TRUE(typist->sendKey('y', true));
    ASSERT_TRUE(typist->sendPointer(7, 9, 0x00));
    EXPECT_EQ(waitForBytes("kbd", 8, *typist), keyReport(0, 0x1c));
    const uint16_t x = input::MouseState::scale(7, 1280);
    const uint16_t y = input::MouseState::scale(9, 720);
    EXPECT_EQ(waitForBytes("mouse", 7, *typist),
              (Bytes{0, static_cast<uint8_t>(x & 0xff), static_cast<uint8_t>(x >> 8),
                     static_cast<uint8_t>(y & 0xff), static_cast<uint8_t>(y >> 8), 0, 0}));
}

TEST(VirtualTargetInputTest, TypedTextAndThePointerAppearOnItsScreen) {
    const Size size{1024, 768};
    DaemonProcess daemon(
        "[capture]\nwidth = 1024\nheight = 768\n[virtual]\nboot_seconds = 0\n"
        "animate = false\n[hid]\nlayout = us\n");
    ASSERT_TRUE(daemon.start()) << daemon.log();
    ViewerOptions options;
    options.port = daemon.port();
    options.encodings = "zlib";
    TestViewer viewer(options);
    ASSERT_TRUE(viewer.connect());
    // A person types once the screen is there. (libvncclient 0.9.14 that
    // sends input before handling its first update can stop getting updates,
    // though the server sends them: a raw client shows it, and a second
    // viewer sees the input.)
    ASSERT_TRUE(
        viewer.pumpUntil([&] { return viewer.size() == size && viewer.updates() > 0; }, kTimeout));
    viewer.pump(200ms);
    for (uint32_t keysym :
         std::initializer_list<uint32_t>{'h', 'e', 'l', 'l', 'o', 0xff0d, 'K', 'V', 'M'}) {
        ASSERT_TRUE(viewer.sendKey(keysym, true));
        ASSERT_TRUE(viewer.sendKey(keysym, false));
    }
    ASSERT_TRUE(viewer.sendPointer(512, 384, 0x01));
    ASSERT_TRUE(viewer.sendPointer(512, 384, 0x00));

    target::InputView input;
    input.terminal = {"hello"};
    input.commandLine = "KVM";
    input.pointerX = input::MouseState::scale(512, size.width);
    input.pointerY = input::MouseState::scale(384, size.height);
    input.pointerSeen = true;
    input.clicks = 1;
    const auto expected = stillPicture(target::MachinePhase::Desktop, size, input);
    if (!viewer.waitForPicture(size, expected, kTimeout)) {
        ADD_FAILURE() << describeDifference(viewer, size, expected);
        if (const char *keep = std::getenv("KVMVNC_KEEP_SHOT"))
            viewer.savePicture(keep);
    }
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

// The virtual target as a host with a relative mouse: its pointer starts in
// the middle of the screen and moves as far as the viewer's did.
TEST(VirtualTargetInputTest, RelativeMouseMovesItsPointerFromTheMiddle) {
    const Size size{1024, 768};
    DaemonProcess daemon(
        "[capture]\nwidth = 1024\nheight = 768\n[virtual]\nboot_seconds = 0\n"
        "animate = false\n[hid]\nmouse_mode = relative\n");
    ASSERT_TRUE(daemon.start()) << daemon.log();
    ViewerOptions options;
    options.port = daemon.port();
    options.encodings = "zlib";
    TestViewer viewer(options);
    ASSERT_TRUE(viewer.connect());
    ASSERT_TRUE(
        viewer.pumpUntil([&] { return viewer.size() == size && viewer.updates() > 0; }, kTimeout));
    viewer.pump(200ms);
    ASSERT_TRUE(viewer.sendPointer(100, 100, 0x00));
    ASSERT_TRUE(viewer.sendPointer(600, 400, 0x01));  // 500 right, 300 down, then a click
    ASSERT_TRUE(viewer.sendPointer(600, 400, 0x00));

    target::InputView input;
    // Where the machine puts a pointer shown at pixel (512 + 500, 384 + 300).
    input.pointerX = static_cast<uint16_t>((1012 * 32768 + size.width - 1) / size.width);
    input.pointerY = static_cast<uint16_t>((684 * 32768 + size.height - 1) / size.height);
    input.pointerSeen = true;
    input.clicks = 1;
    const auto expected = stillPicture(target::MachinePhase::Desktop, size, input);
    if (!viewer.waitForPicture(size, expected, kTimeout))
        ADD_FAILURE() << describeDifference(viewer, size, expected);
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

TEST(VirtualTargetInputTest, CapsLockLedReachesViewersAsQemuLedState) {
    DaemonProcess daemon(
        "[capture]\nwidth = 640\nheight = 480\n[virtual]\nboot_seconds = 0\n"
        "animate = false\n");
    ASSERT_TRUE(daemon.start()) << daemon.log();
    RawRfbConnection watcher;
    ASSERT_TRUE(watcher.connect(daemon.port()));
    ASSERT_TRUE(watcher.handshake());
    // SetEncodings: Raw and QEMU LED state (-261).
    ASSERT_TRUE(watcher.send({2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb}));
    auto readLeds = [&](uint8_t &leds) {
        uint8_t header[16 + 1];
        if (!watcher.readExactly(header, sizeof(header)))
            return false;
        const uint8_t expectedHeader[16] = {0, 0, 0, 1, 0,    0,    0,    0,
                                            0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb};
        if (std::memcmp(header, expectedHeader, 16) != 0)
            return false;
        leds = header[16];
        return true;
    };
    uint8_t leds = 0xff;
    ASSERT_TRUE(readLeds(leds));
    EXPECT_EQ(leds, 0) << "current state on agreeing to -261";

    ViewerOptions options;
    options.port = daemon.port();
    options.encodings = "raw";
    TestViewer typist(options);
    ASSERT_TRUE(typist.connect());
    ASSERT_TRUE(typist.sendKey(0xffe5, true));  // Caps_Lock
    ASSERT_TRUE(typist.sendKey(0xffe5, false));
    ASSERT_TRUE(readLeds(leds));
    EXPECT_EQ(leds, 4) << "QEMU LED bits: 4 is Caps Lock";
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace kvmvnc::testing
