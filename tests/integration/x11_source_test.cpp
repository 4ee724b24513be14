// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncd serving an X display ([capture] source = x11), as the benchmark
// against x11vnc and x0vncserver runs it: Xvfb, no USB gadget, no GPIO, a
// libvncclient viewer that compares pixels with what was drawn.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "daemon_process.h"
#include "subprocess.h"
#include "test_timing.h"
#include "test_viewer.h"
#include "xvfb.h"

// Xlib last: its macros (None, Status, Bool...) would reach into the rest.
#include <X11/Xlib.h>
#include <X11/Xutil.h>

namespace kvmvnc::testing {

namespace {

using namespace std::chrono_literals;
constexpr auto kTimeout = 15s * kSlowdown;
constexpr Size kScreen{640, 480};

// A full-screen picture, XRGB8888 with the padding byte zero (as
// TestViewer::picture() gives it).
std::vector<uint8_t> pattern(uint32_t seed) {
    std::vector<uint8_t> bytes(static_cast<size_t>(kScreen.width) * kScreen.height * 4);
    for (int y = 0; y < kScreen.height; ++y) {
        for (int x = 0; x < kScreen.width; ++x) {
            const uint32_t pixel = ((static_cast<uint32_t>(x) + seed) & 0xff) << 16 |
                                   (static_cast<uint32_t>(y) & 0xff) << 8 |
                                   (static_cast<uint32_t>(x * y) & 0xff);
            std::memcpy(&bytes[(static_cast<size_t>(y) * kScreen.width + x) * 4], &pixel, 4);
        }
    }
    return bytes;
}

// Puts `picture` on the root window of `display`.
bool draw(const std::string &display, std::vector<uint8_t> picture) {
    Display *x = XOpenDisplay(display.c_str());
    if (x == nullptr)
        return false;
    const Window root = DefaultRootWindow(x);
    GC gc = XCreateGC(x, root, 0, nullptr);
    XImage *image = XCreateImage(x, DefaultVisual(x, DefaultScreen(x)), 24, ZPixmap, 0,
                                 reinterpret_cast<char *>(picture.data()), kScreen.width,
                                 kScreen.height, 32, kScreen.width * 4);
    XPutImage(x, root, gc, image, 0, 0, 0, 0, kScreen.width, kScreen.height);
    image->data = nullptr;  // the vector's
    XDestroyImage(image);
    XSync(x, False);
    XFreeGC(x, gc);
    XCloseDisplay(x);
    return true;
}

// The configuration a view-only benchmark needs: the X display, and nothing
// that wants hardware (HID report paths that do not exist are retried
// quietly; ATX and media are off).
std::string x11Config(const std::string &display) {
    return "[capture]\nsource = x11\ndisplay = " + display +
           "\nfps = 30\n"
           "[hid]\nkeyboard = no-hidg0\nmouse = no-hidg1\nrelative_mouse = no-hidg2\n"
           "[atx]\ntarget = none\n[msd]\ntarget = none\n";
}

class X11SourceTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(haveProgram("Xvfb")) << "Xvfb is missing: packaging/dev.sh installs it";
    }
    void TearDown() override {
        if (daemon_) {
            EXPECT_TRUE(daemon_->isRunning()) << "kvmvncd died:\n" << daemon_->log();
            EXPECT_EQ(daemon_->stop(), 0) << "kvmvncd did not exit cleanly:\n" << daemon_->log();
        }
    }

    std::unique_ptr<DaemonProcess> daemon_;
};

}  // namespace

TEST_F(X11SourceTest, ServesTheDisplayAndOutlivesItsServer) {
    Xvfb x(kScreen);
    ASSERT_TRUE(x.start());
    const std::vector<uint8_t> first = pattern(0);
    ASSERT_TRUE(draw(x.display(), first));

    daemon_ = std::make_unique<DaemonProcess>(x11Config(x.display()));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    ViewerOptions options;
    options.port = daemon_->port();
    options.encodings = "raw";
    TestViewer viewer(options);
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    EXPECT_TRUE(viewer.waitForPicture(kScreen, first, kTimeout))
        << describeDifference(viewer, kScreen, first) << "\n"
        << daemon_->log();

    // The X server goes: the viewer gets the status screen instead, and the
    // daemon goes on.
    x.stop();
    EXPECT_TRUE(daemon_->waitForLog("connection lost", kTimeout)) << daemon_->log();
    EXPECT_TRUE(viewer.pumpUntil([&] { return viewer.picture() != first; }, kTimeout));
    ASSERT_TRUE(daemon_->isRunning()) << daemon_->log();

    // Back on the same display, with another picture.
    ASSERT_TRUE(x.start()) << "Xvfb did not start again on " << x.display();
    const std::vector<uint8_t> second = pattern(99);
    ASSERT_TRUE(draw(x.display(), second));
    EXPECT_TRUE(viewer.waitForPicture(kScreen, second, kTimeout))
        << describeDifference(viewer, kScreen, second) << "\n"
        << daemon_->log();
}

}  // namespace kvmvnc::testing
