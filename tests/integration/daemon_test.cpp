// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncd as a user runs it: the real binary on loopback, real libvncclient
// viewers, pictures compared with what the virtual target renders.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <thread>

#include "daemon_process.h"
#include "kvmvnc/capture/status_screen.h"
#include "kvmvnc/target/virtual_screen.h"
#include "raw_rfb_connection.h"
#include "test_timing.h"
#include "test_viewer.h"
#include "virtual_target_picture.h"

namespace kvmvnc::testing {

namespace {

using namespace std::chrono_literals;
constexpr auto kTimeout = 15s * kSlowdown;

std::string stillConfig(Size size, int bootSeconds = 0, const std::string &extra = "") {
    return "[capture]\nwidth = " + std::to_string(size.width) +
           "\nheight = " + std::to_string(size.height) +
           "\n[virtual]\nboot_seconds = " + std::to_string(bootSeconds) + "\nanimate = false\n" +
           extra;
}

ViewerOptions viewerFor(const DaemonProcess &daemon, const std::string &encodings,
                        int quality = -1) {
    ViewerOptions options;
    options.port = daemon.port();
    options.encodings = encodings;
    options.qualityLevel = quality;
    // VeNCrypt's X509 subtypes check the daemon's self-signed certificate.
    options.caFile = daemon.path("tls/cert.pem");
    return options;
}

class DaemonTest : public ::testing::Test {
protected:
    // Starts kvmvncd; the test fails (with the daemon's log) if it cannot.
    DaemonProcess &startDaemon(const std::string &config) {
        daemon_ = std::make_unique<DaemonProcess>(config);
        EXPECT_TRUE(daemon_->start()) << daemon_->log();
        return *daemon_;
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

class LosslessEncodingTest : public DaemonTest,
                             public ::testing::WithParamInterface<const char *> {};

TEST_P(LosslessEncodingTest, ViewerSeesTheExactPictureOfTheTarget) {
    const Size size{1280, 720};
    DaemonProcess &daemon = startDaemon(stillConfig(size));
    TestViewer viewer(viewerFor(daemon, GetParam()));
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    const auto expected = stillPicture(target::MachinePhase::Desktop, size);
    EXPECT_TRUE(viewer.waitForPicture(size, expected, kTimeout))
        << describeDifference(viewer, size, expected);
}

// ZRLE and Hextile are checked with TigerVNC (external_viewer_test), which
// shows our pictures exactly in both. libvncclient 0.9.14 cannot judge them:
// its ZRLE decoder leaves the first 8 pixels of the screen undefined and its
// Hextile decoder drops foreground subrectangles (white BIOS text on black).
INSTANTIATE_TEST_SUITE_P(Encodings, LosslessEncodingTest,
                         ::testing::Values("raw", "tight", "zlib", "rre", "corre"));

class JpegQualityTest : public DaemonTest, public ::testing::WithParamInterface<int> {};

TEST_P(JpegQualityTest, TightJpegIsCloseToTheTargetAtEveryQuality) {
    const Size size{1280, 720};
    DaemonProcess &daemon = startDaemon(stillConfig(size));
    TestViewer viewer(viewerFor(daemon, "tight", GetParam()));
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    const auto expected = stillPicture(target::MachinePhase::Desktop, size);
    const double minimum = GetParam() >= 8 ? 34.0 : GetParam() >= 4 ? 28.0 : 22.0;
    double quality = 0.0;
    EXPECT_TRUE(viewer.pumpUntil(
        [&] {
            if (viewer.size() != size)
                return false;
            quality = psnr(viewer.picture(), expected);
            return quality >= minimum;
        },
        kTimeout))
        << "PSNR " << quality << " dB";
    // JPEG was really used: the picture is close, not identical.
    EXPECT_TRUE(std::isfinite(psnr(viewer.picture(), expected)));
}

INSTANTIATE_TEST_SUITE_P(Qualities, JpegQualityTest, ::testing::Values(0, 5, 9));

constexpr uint32_t kEscapeKeysym = 0xff1b;

TEST_F(DaemonTest, ResolutionChangeReachesAConnectedViewerLive) {
    const Size desktop{1024, 768};
    // The BIOS lasts until Esc skips it: the viewer is sure to see it.
    DaemonProcess &daemon = startDaemon(stillConfig(desktop, 60));
    TestViewer viewer(viewerFor(daemon, "zlib"));
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    // First the BIOS in VGA text mode, then, on the same connection, the
    // desktop at its own resolution.
    const auto bios = stillPicture(target::MachinePhase::Bios, target::kBiosTextModeSize);
    ASSERT_TRUE(viewer.waitForPicture(target::kBiosTextModeSize, bios, kTimeout))
        << describeDifference(viewer, target::kBiosTextModeSize, bios);
    ASSERT_TRUE(viewer.sendKey(kEscapeKeysym, true));
    ASSERT_TRUE(viewer.sendKey(kEscapeKeysym, false));
    const auto expected = stillPicture(target::MachinePhase::Desktop, desktop);
    EXPECT_TRUE(viewer.waitForPicture(desktop, expected, kTimeout))
        << describeDifference(viewer, desktop, expected);
    EXPECT_TRUE(viewer.isConnected());
}

TEST_F(DaemonTest, JpegViewerFollowsTheResolutionChangeToo) {
    const Size desktop{1280, 1024};
    DaemonProcess &daemon = startDaemon(stillConfig(desktop, 60));
    TestViewer viewer(viewerFor(daemon, "tight", 8));
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    // The first picture, not just ServerInit: libvncclient can stall a
    // viewer whose input goes out before its first update has arrived.
    ASSERT_TRUE(viewer.pumpUntil(
        [&] { return viewer.size() == target::kBiosTextModeSize && viewer.rects() > 0; },
        kTimeout));
    ASSERT_TRUE(viewer.sendKey(kEscapeKeysym, true));
    ASSERT_TRUE(viewer.sendKey(kEscapeKeysym, false));
    const auto expected = stillPicture(target::MachinePhase::Desktop, desktop);
    EXPECT_TRUE(viewer.waitForSimilarPicture(desktop, expected, 30.0, kTimeout));
}

// A resize while a viewer is past ServerInit but has not sent SetEncodings:
// whether it can follow is unknown until it does. One that then announces
// DesktopSize gets the new size; one that does not is closed rather than
// sent a picture of the wrong size.
class UndecidedViewerTest : public DaemonTest, public ::testing::WithParamInterface<bool> {};

TEST_P(UndecidedViewerTest, ResizeBeforeSetEncodings) {
    const bool announcesDesktopSize = GetParam();
    const Size desktop{1024, 768};
    DaemonProcess &daemon = startDaemon(stillConfig(desktop, 60));
    RawRfbConnection raw;
    ASSERT_TRUE(raw.connect(daemon.port()));
    ASSERT_TRUE(raw.handshake());
    ASSERT_EQ(raw.serverInitSize(), target::kBiosTextModeSize);
    // Esc (KeyEvent down and up) skips the BIOS: the desktop's resolution.
    ASSERT_TRUE(raw.send({4, 1, 0, 0, 0, 0, 0xff, 0x1b, 4, 0, 0, 0, 0, 0, 0xff, 0x1b}));
    ASSERT_TRUE(daemon.waitForLog("resolution now 1024x768", kTimeout)) << daemon.log();

    // SetEncodings: Raw, and DesktopSize (-223) or nothing else.
    const std::vector<uint8_t> setEncodings =
        announcesDesktopSize ? std::vector<uint8_t>{2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21}
                             : std::vector<uint8_t>{2, 0, 0, 1, 0, 0, 0, 0};
    ASSERT_TRUE(raw.send(setEncodings));
    ASSERT_TRUE(raw.send({3, 0, 0, 0, 0, 0, 0x02, 0xd0, 0x01, 0x90}));  // 720x400 request
    if (announcesDesktopSize) {
        EXPECT_EQ(raw.readDesktopSize(kTimeout), desktop);
    } else {
        EXPECT_TRUE(raw.closedByServer(5000)) << "a viewer of the old size was kept";
        EXPECT_NE(daemon.log().find("cannot follow the resolution change"), std::string::npos)
            << daemon.log();
    }
}

INSTANTIATE_TEST_SUITE_P(DesktopSize, UndecidedViewerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool> &param) {
                             return param.param ? "Announced" : "NotAnnounced";
                         });

TEST_F(DaemonTest, FourKTightRectanglesAreAtMost2048Wide) {
    const Size size{3840, 2160};
    DaemonProcess &daemon = startDaemon(stillConfig(size));
    TestViewer viewer(viewerFor(daemon, "tight", 8));
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    const auto expected = stillPicture(target::MachinePhase::Desktop, size);
    EXPECT_TRUE(viewer.waitForSimilarPicture(size, expected, 30.0, kTimeout));
    EXPECT_GT(viewer.rects(), 0u);
    EXPECT_LE(viewer.widestRect(), 2048);
}

TEST_F(DaemonTest, StaticScreenSendsNothing) {
    const Size size{1920, 1080};
    DaemonProcess &daemon = startDaemon(stillConfig(size));
    TestViewer viewer(viewerFor(daemon, "tight", 8));
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    const auto expected = stillPicture(target::MachinePhase::Desktop, size);
    ASSERT_TRUE(viewer.waitForSimilarPicture(size, expected, 30.0, kTimeout));
    viewer.pump(300ms);  // let any in-flight update land
    viewer.resetCounters();
    viewer.pump(1500ms);
    EXPECT_EQ(viewer.rects(), 0u);
    EXPECT_EQ(viewer.updates(), 0u);
}

TEST_F(DaemonTest, MovingElementSendsOnlyWhatChanged) {
    DaemonProcess &daemon = startDaemon(
        "[capture]\nwidth = 1920\nheight = 1080\nfps = 30\n[virtual]\nboot_seconds = 0\n");
    TestViewer viewer(viewerFor(daemon, "tight", 8));
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    ASSERT_TRUE(viewer.pumpUntil([&] { return viewer.size() == Size{1920, 1080}; }, kTimeout));
    viewer.pump(500ms);
    viewer.resetCounters();
    viewer.pump(1500ms);
    EXPECT_GE(viewer.updates(), 10u) << "the ball and clock move, so updates keep coming";
    const double perUpdate = static_cast<double>(viewer.pixels()) / viewer.updates();
    EXPECT_LT(perUpdate, 0.1 * 1920 * 1080) << "each update is a small part of the screen";
}

TEST_F(DaemonTest, ManyViewersAtOnceEachWithTheirOwnEncoding) {
    const Size size{800, 600};
    DaemonProcess &daemon = startDaemon(stillConfig(size));
    const auto expected = stillPicture(target::MachinePhase::Desktop, size);
    const char *encodings[] = {"raw", "corre", "tight", "zlib", "raw", "rre", "tight", "zlib"};
    std::vector<std::unique_ptr<TestViewer>> viewers;
    for (const char *encoding : encodings) {
        viewers.push_back(std::make_unique<TestViewer>(viewerFor(daemon, encoding)));
        ASSERT_TRUE(viewers.back()->connect()) << encoding;
    }
    for (auto &viewer : viewers)
        EXPECT_TRUE(viewer->waitForPicture(size, expected, kTimeout));
    // A JPEG viewer joining does not change what the lossless ones get.
    TestViewer jpeg(viewerFor(daemon, "tight", 2));
    ASSERT_TRUE(jpeg.connect());
    EXPECT_TRUE(
        jpeg.pumpUntil([&] { return jpeg.size() == size && jpeg.updates() > 0; }, kTimeout));
    for (auto &viewer : viewers) {
        viewer->pump(100ms);
        EXPECT_EQ(viewer->picture(), expected);
        EXPECT_TRUE(viewer->isConnected());
    }
}

TEST_F(DaemonTest, PasswordsFromAVncpasswdFile) {
    const Size size{640, 480};
    std::string config = "passwd_file = " + std::string(KVMVNC_TEST_DATA) +
                         "/full_and_viewonly.passwd\n" + stillConfig(size);
    DaemonProcess &daemon = startDaemon(config);
    const auto expected = stillPicture(target::MachinePhase::Desktop, size);

    for (const char *password : {"fullpass", "viewpass"}) {
        ViewerOptions options = viewerFor(daemon, "zlib");
        options.password = password;
        TestViewer viewer(options);
        ASSERT_TRUE(viewer.connect()) << password;
        EXPECT_TRUE(viewer.waitForPicture(size, expected, kTimeout)) << password;
    }
    for (const char *password : {"wrong", "", "fullpas"}) {
        ViewerOptions options = viewerFor(daemon, "zlib");
        options.password = password;
        TestViewer viewer(options);
        EXPECT_FALSE(viewer.connect()) << "'" << password << "' was accepted";
    }
    // Refusals do not stop the daemon serving the right password.
    ViewerOptions options = viewerFor(daemon, "raw");
    options.password = "fullpass";
    TestViewer viewer(options);
    ASSERT_TRUE(viewer.connect());
    EXPECT_TRUE(viewer.waitForPicture(size, expected, kTimeout));
}

TEST_F(DaemonTest, GarbageFromOneClientLeavesTheOthersServed) {
    const Size size{640, 480};
    DaemonProcess &daemon = startDaemon(stillConfig(size));
    const auto expected = stillPicture(target::MachinePhase::Desktop, size);
    TestViewer bystander(viewerFor(daemon, "zlib"));
    ASSERT_TRUE(bystander.connect());
    ASSERT_TRUE(bystander.waitForPicture(size, expected, kTimeout));

    struct Abuse {
        const char *what;
        bool handshake;
        std::vector<uint8_t> bytes;
    };
    const Abuse abuses[] = {
        {"not RFB at all", false, std::vector<uint8_t>(64, 'x')},
        {"an impossible pixel format (13 bpp)", true, {0, 0,   0, 0,   13, 13, 0, 1, 0, 255,
                                                       0, 255, 0, 255, 16, 8,  0, 0, 0, 0}},
        {"an unknown message type", true, {0x77, 1, 2, 3, 4, 5, 6, 7}},
        {"SetEncodings with 60000 encodings", true, {2, 0, 0xea, 0x60}},
    };
    for (const Abuse &abuse : abuses) {
        RawRfbConnection raw;
        ASSERT_TRUE(raw.connect(daemon.port())) << abuse.what;
        if (abuse.handshake) {
            ASSERT_TRUE(raw.handshake()) << abuse.what;
        }
        ASSERT_TRUE(raw.send(abuse.bytes)) << abuse.what;
        EXPECT_TRUE(raw.closedByServer(5000)) << abuse.what << " was not disconnected";
        EXPECT_TRUE(bystander.pump(50ms)) << "bystander lost after " << abuse.what;
    }
    // A huge clipboard (viewers send theirs unasked) is skipped, not a
    // reason to close.
    {
        RawRfbConnection raw;
        ASSERT_TRUE(raw.connect(daemon.port()));
        ASSERT_TRUE(raw.handshake());
        std::vector<uint8_t> cut = {6, 0, 0, 0, 0, 0x20, 0, 0};  // 2 MiB
        cut.resize(cut.size() + (2u << 20), 'a');
        ASSERT_TRUE(raw.send(cut));
        EXPECT_FALSE(raw.closedByServer(1000)) << "a 2 MiB clipboard closed the viewer";
        EXPECT_TRUE(bystander.pump(50ms));
    }
    // A truncated message followed by a hang-up.
    {
        RawRfbConnection raw;
        ASSERT_TRUE(raw.connect(daemon.port()));
        ASSERT_TRUE(raw.handshake());
        ASSERT_TRUE(raw.send({2, 0, 0, 200, 0, 0}));  // SetEncodings cut short
    }
    TestViewer newcomer(viewerFor(daemon, "raw"));
    ASSERT_TRUE(newcomer.connect());
    EXPECT_TRUE(newcomer.waitForPicture(size, expected, kTimeout));
    EXPECT_TRUE(bystander.pump(100ms));
    EXPECT_EQ(bystander.picture(), expected);
}

TEST_F(DaemonTest, MissingCaptureDeviceShowsANoDeviceScreen) {
    const Size size{1280, 720};
    DaemonProcess &daemon = startDaemon(
        "[capture]\nsource = v4l2\ndevice = /nonexistent/video7\nwidth = 1280\nheight = 720\n");
    capture::Frame expected;
    capture::renderStatusScreen(
        {capture::SignalState::NoDevice, "/nonexistent/video7: No such file or directory"}, size,
        expected);
    TestViewer viewer(viewerFor(daemon, "zlib"));
    ASSERT_TRUE(viewer.connect());
    EXPECT_TRUE(viewer.waitForPicture(size, expected.pixels, kTimeout));
}

TEST(DaemonStartupTest, StartupErrorsExitNonZeroWithAClearMessage) {
    struct Case {
        const char *config;
        const char *message;
        int exitStatus;
    };
    const Case cases[] = {
        {"[capture]\nfps = 999\n", "[capture] fps: 999 is out of range", 2},
        {"passwd_file = /nonexistent/vncpasswd\n",
         "/nonexistent/vncpasswd: cannot open password file", 1},
    };
    for (const Case &c : cases) {
        DaemonProcess daemon(c.config);
        EXPECT_FALSE(daemon.start(3s));
        EXPECT_EQ(daemon.waitForExit(3s), c.exitStatus);
        EXPECT_NE(daemon.log().find(c.message), std::string::npos) << daemon.log();
    }
}

TEST(DaemonStartupTest, PortInUseIsAStartupError) {
    DaemonProcess first(stillConfig({640, 480}));
    ASSERT_TRUE(first.start());
    DaemonProcess second(stillConfig({640, 480}), first.port());
    second.start(1s);  // the port answers, but it is the first daemon's
    EXPECT_EQ(second.waitForExit(5s), 1);
    EXPECT_NE(second.log().find("cannot listen on 127.0.0.1 port " + std::to_string(first.port())),
              std::string::npos)
        << second.log();
    EXPECT_TRUE(first.isRunning());
    EXPECT_EQ(first.stop(), 0);
}

}  // namespace kvmvnc::testing
