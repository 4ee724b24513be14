// SPDX-License-Identifier: GPL-2.0-or-later
// Keyboard and mouse on a real kernel: kvmvncd in the lab guest writes the
// HID gadget's /dev/hidg0 and /dev/hidg1 or /dev/hidg2 (packaging/kvmvnc-gadget on
// dummy_udc); the guest's own USB host plays the target, and its evdev
// devices say what a target would have received. Viewers connect from the
// host through the port forward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/ctl/control_client.h"
#include "kvmvnc/input/hid_reports.h"
#include "lab_test.h"
#include "raw_rfb_connection.h"
#include "test_viewer.h"

namespace kvmvnc::lab {
namespace {

using namespace std::chrono_literals;
using testing::TestViewer;
using testing::ViewerOptions;

// Linux input codes (linux/input-event-codes.h).
constexpr int kEvKey = 1, kEvRel = 2, kEvAbs = 3;
constexpr int kKeyLeftShift = 42, kKeyH = 35, kKeyI = 23, kKeyA = 30, kKeyB = 48;
constexpr int kBtnLeft = 272, kAbsX = 0, kAbsY = 1, kRelX = 0, kRelY = 1;

std::vector<std::string> linesStartingWith(const std::string &output, const std::string &prefix) {
    std::vector<std::string> found;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind(prefix, 0) == 0)
            found.push_back(line.substr(prefix.size()));
    return found;
}

std::string event(int type, int code, int value) {
    return "type=" + std::to_string(type) + " code=" + std::to_string(code) +
           " value=" + std::to_string(value);
}

class HidLab : public LabTest {
protected:
    HidLab() : LabTest("hid") {}
    void beforePowerOff() override { vm_->command("kvmvncd-stop"); }

    ViewerOptions viewerOptions() const {
        ViewerOptions options;
        options.port = vm_->vncPort();
        options.encodings = "raw";
        return options;
    }
    void tap(TestViewer &viewer, uint32_t keysym) {
        EXPECT_TRUE(viewer.sendKey(keysym, true));
        EXPECT_TRUE(viewer.sendKey(keysym, false));
    }
    // Whether the target listens, as kvmvncd tells control clients; waits up
    // to `timeout` for `wanted`.
    bool waitForHostListening(bool wanted, std::chrono::seconds timeout) {
        ctl::ControlClient client;
        ctl::ConnectOptions connect;
        connect.port = vm_->vncPort();
        connect.timeoutSeconds = 30;
        if (!client.connect(connect))
            return false;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto reply = client.request(control::Request::InputGetState);
            if (!reply || reply->status != control::Status::Ok)
                return false;
            auto state = control::decodeInputState(reply->result);
            if (state && state->hostListening == wanted)
                return true;
            std::this_thread::sleep_for(200ms);
        }
        return false;
    }
};

// What a viewer types and clicks comes out of the target's evdev devices:
// keysyms with the Shift the layout needs added, a QEMU extended key as the
// physical key, the pointer at the scaled absolute position with the left
// button pressed and released.
TEST_F(HidLab, TypingAndClickingReachTheTargetThroughTheGadget) {
    run("kvmvncd-start");
    run("events-start");
    TestViewer viewer(viewerOptions());
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    // The first picture: by then the server's -258 offer is in, and the
    // viewer may send extended key events.
    ASSERT_TRUE(viewer.pumpUntil([&] { return viewer.updates() > 0; }, 30s));
    viewer.pump(500ms);
    tap(viewer, 'H');  // no Shift from the viewer: kvmvncd adds it
    tap(viewer, 'i');
    EXPECT_TRUE(viewer.sendExtendedKey('a', 0x1e, true));
    EXPECT_TRUE(viewer.sendExtendedKey('a', 0x1e, false));
    EXPECT_TRUE(viewer.sendPointer(480, 120, 1));
    EXPECT_TRUE(viewer.sendPointer(480, 120, 0));
    std::this_thread::sleep_for(1s);
    const std::string events = run("events-stop").output;

    EXPECT_EQ(linesStartingWith(events, "kbd "),
              (std::vector<std::string>{event(kEvKey, kKeyLeftShift, 1), event(kEvKey, kKeyH, 1),
                                        event(kEvKey, kKeyH, 0), event(kEvKey, kKeyLeftShift, 0),
                                        event(kEvKey, kKeyI, 1), event(kEvKey, kKeyI, 0),
                                        event(kEvKey, kKeyA, 1), event(kEvKey, kKeyA, 0)}))
        << events;
    const std::vector<std::string> mouse = linesStartingWith(events, "mouse ");
    auto at = [&](const std::string &line) {
        return std::find(mouse.begin(), mouse.end(), line) - mouse.begin();
    };
    const int x = input::MouseState::scale(480, 640);
    const int y = input::MouseState::scale(120, 480);
    EXPECT_LT(at(event(kEvAbs, kAbsX, x)), static_cast<long>(mouse.size())) << events;
    EXPECT_LT(at(event(kEvAbs, kAbsY, y)), static_cast<long>(mouse.size())) << events;
    EXPECT_LT(at(event(kEvKey, kBtnLeft, 1)), at(event(kEvKey, kBtnLeft, 0))) << events;
    EXPECT_LT(at(event(kEvKey, kBtnLeft, 0)), static_cast<long>(mouse.size())) << events;
}

// [hid] mouse_mode = relative: kvmvncd drives the gadget's boot mouse
// (/dev/hidg2), and the target's pointer moves exactly as far as the viewer's
// did, then clicks; the absolute mouse stays silent.
TEST_F(HidLab, ARelativeMouseMovesTheTargetsPointerAsFarAsTheViewers) {
    run("kvmvncd-start us relative");
    run("events-start");
    TestViewer viewer(viewerOptions());
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    ASSERT_TRUE(viewer.pumpUntil([&] { return viewer.updates() > 0; }, 30s));
    viewer.pump(500ms);
    EXPECT_TRUE(viewer.sendPointer(100, 100, 0));
    EXPECT_TRUE(viewer.sendPointer(400, 150, 0));  // 300 right (three reports), 50 down
    EXPECT_TRUE(viewer.sendPointer(400, 150, 1));
    EXPECT_TRUE(viewer.sendPointer(400, 150, 0));
    std::this_thread::sleep_for(1s);
    const std::string events = run("events-stop").output;

    EXPECT_TRUE(linesStartingWith(events, "mouse ").empty()) << events;
    int dx = 0, dy = 0;
    std::vector<std::string> buttons;
    for (const std::string &line : linesStartingWith(events, "rel ")) {
        int type = 0, code = 0, value = 0;
        ASSERT_EQ(std::sscanf(line.c_str(), "type=%d code=%d value=%d", &type, &code, &value), 3);
        if (type == kEvRel && code == kRelX)
            dx += value;
        else if (type == kEvRel && code == kRelY)
            dy += value;
        else if (type == kEvKey)
            buttons.push_back(line);
    }
    EXPECT_EQ(dx, 300) << events;
    EXPECT_EQ(dy, 50) << events;
    EXPECT_EQ(buttons,
              (std::vector<std::string>{event(kEvKey, kBtnLeft, 1), event(kEvKey, kBtnLeft, 0)}))
        << events;
}

// Caps Lock set by the target's OS goes out as the keyboard's LED output
// report; kvmvncd reads it from /dev/hidg0 and tells viewers (QEMU LED
// state, -261).
TEST_F(HidLab, TheTargetsCapsLockLightReachesViewers) {
    run("kvmvncd-start");
    testing::RawRfbConnection watcher;
    ASSERT_TRUE(watcher.connect(vm_->vncPort()));
    ASSERT_TRUE(watcher.handshake());
    ASSERT_TRUE(watcher.send({2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb}));  // Raw, -261
    auto readLeds = [&](uint8_t &leds) {
        uint8_t message[16 + 1];
        if (!watcher.readExactly(message, sizeof(message)))
            return false;
        const uint8_t header[16] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfb};
        leds = message[16];
        return std::memcmp(message, header, sizeof(header)) == 0;
    };
    uint8_t leds = 0xff;
    ASSERT_TRUE(readLeds(leds));
    run("set-led caps");
    ASSERT_TRUE(readLeds(leds));
    EXPECT_EQ(leds, 4) << "QEMU LED bits: 4 is Caps Lock";
    run("set-led none");
    ASSERT_TRUE(readLeds(leds));
    EXPECT_EQ(leds, 0);
}

// The target goes away (the UDC unbound) while a viewer types: kvmvncd keeps
// running and says the target is not listening; once plugged in again, what
// the viewer types arrives.
TEST_F(HidLab, AnUnpluggedTargetIsNotListeningAndTypingWorksWhenItReturns) {
    run("kvmvncd-start");
    TestViewer viewer(viewerOptions());
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    ASSERT_TRUE(waitForHostListening(true, 10s));

    run("gadget-unbind");
    EXPECT_EQ(run("target-sees-gadget 0").output, "present=0\n");
    tap(viewer, 'x');
    EXPECT_TRUE(waitForHostListening(false, 20s)) << run("kvmvncd-log").output;
    EXPECT_EQ(run("kvmvncd-running").rc, 0);

    run("gadget-bind");
    EXPECT_EQ(run("target-sees-gadget 1").output, "present=1\n");
    EXPECT_TRUE(waitForHostListening(true, 20s)) << run("kvmvncd-log").output;
    run("events-start");
    tap(viewer, 'b');
    std::this_thread::sleep_for(1s);
    const std::string events = run("events-stop").output;
    EXPECT_EQ(linesStartingWith(events, "kbd "),
              (std::vector<std::string>{event(kEvKey, kKeyB, 1), event(kEvKey, kKeyB, 0)}))
        << events;
    EXPECT_TRUE(viewer.pump(100ms)) << "the viewer was dropped";
}

}  // namespace
}  // namespace kvmvnc::lab
