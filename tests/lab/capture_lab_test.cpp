// SPDX-License-Identifier: GPL-2.0-or-later
// The capture scenarios of the virtual appliance lab: kvmvncd with
// source = v4l2 on vivid's HDMI input inside a QEMU guest, a libvncclient
// viewer on the host through a loopback port forward.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/capture/edid.h"
#include "kvmvnc/capture/frame.h"
#include "kvmvnc/capture/frame_source.h"
#include "kvmvnc/capture/status_screen.h"
#include "lab_test.h"
#include "raw_rfb_connection.h"
#include "subprocess.h"
#include "test_viewer.h"

namespace kvmvnc::lab {
namespace {

using namespace std::chrono_literals;
using testing::TestViewer;
using testing::ViewerOptions;

struct Rgb {
    int r, g, b;
};

// vivid's default test pattern, "75% Colorbar": eight vertical bars of equal
// width (v4l2-tpg-core.c, tpg_get_color). Most scenarios use 640x480, not a
// CE video mode, which vivid sends as sRGB: R'G'B' full range, Y'CbCr
// BT.601 limited range. CE modes are Rec. 709 (CaptureCeTimingsLab).
constexpr Rgb kBars[8] = {
    {191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0},
    {191, 0, 191},   {191, 0, 0},   {0, 0, 191},   {0, 0, 0},
};
// YUV 4:2:2 round trips through 8-bit Y'CbCr and libyuv's fixed point cost a
// few levels; a wrong matrix or swapped chroma costs 15 and more.
constexpr int kTolerance = 10;

Rgb pixelAt(const std::vector<uint8_t> &picture, Size size, int x, int y) {
    const uint8_t *p = picture.data() + (static_cast<size_t>(y) * size.width + x) * 4;
    return {p[2], p[1], p[0]};  // XRGB8888: bytes B, G, R, X
}

std::string rgbText(Rgb c) {
    char text[16];
    std::snprintf(text, sizeof(text), "#%02x%02x%02x", c.r, c.g, c.b);
    return text;
}

// Empty when the viewer shows the colour bars at `size`, else what differs.
// Every pixel counts except those within 2 pixels of a bar's edge, where
// 4:2:2 chroma blends neighbouring bars.
std::string barsDifference(const TestViewer &viewer, Size size) {
    if (viewer.size() != size) {
        return "viewer is " + std::to_string(viewer.size().width) + "x" +
               std::to_string(viewer.size().height) + ", expected " + std::to_string(size.width) +
               "x" + std::to_string(size.height);
    }
    std::vector<uint8_t> picture = viewer.picture();
    int badInBar[8] = {};
    std::string firstInBar[8];
    int bad = 0;
    for (int x = 0; x < size.width; ++x) {
        int bar = x * 8 / size.width;
        if ((x + 2) * 8 / size.width != bar || (x - 2) * 8 / size.width != bar || x < 2)
            continue;  // near an edge
        const Rgb &want = kBars[bar];
        for (int y = 0; y < size.height; ++y) {
            Rgb got = pixelAt(picture, size, x, y);
            if (std::abs(got.r - want.r) > kTolerance || std::abs(got.g - want.g) > kTolerance ||
                std::abs(got.b - want.b) > kTolerance) {
                if (badInBar[bar]++ == 0) {
                    firstInBar[bar] = " first at (" + std::to_string(x) + "," + std::to_string(y) +
                                      ") " + rgbText(got);
                }
                ++bad;
            }
        }
    }
    if (bad == 0)
        return {};
    std::string problems = std::to_string(bad) + " pixels off by more than " +
                           std::to_string(kTolerance) + " in a channel:";
    for (int bar = 0; bar < 8; ++bar) {
        if (badInBar[bar] > 0) {
            problems += "\n  bar " + std::to_string(bar) + " " + rgbText(kBars[bar]) + ": " +
                        std::to_string(badInBar[bar]) + " pixels," + firstInBar[bar];
        }
    }
    return problems;
}

// What kvmvncd shows while the source is unavailable, rendered by the
// same code the daemon uses.
std::vector<uint8_t> statusScreen(capture::SignalState state, const std::string &detail,
                                  Size size) {
    capture::Frame frame;
    capture::renderStatusScreen({state, detail}, size, frame);
    return frame.pixels;  // stride is width * 4
}

class CaptureLab : public LabTest {
protected:
    CaptureLab() : LabTest("capture") {}

    void SetUp() override {
        LabTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        std::string device;
        for (const Report &report : vm_->reports()) {
            if (report.count("device"))
                device = report.at("device");
        }
        ASSERT_FALSE(device.empty()) << "the guest did not report vivid's device node";
        device_ = device;
    }

    void beforePowerOff() override {
        viewer_.reset();
        // kvmvncd must survive every scenario and exit cleanly.
        if (!HasFailure() && vm_->command("kvmvncd-running").rc == 0) {
            LabVm::Reply stop = vm_->command("kvmvncd-stop", 30s);
            EXPECT_EQ(stop.rc, 0) << "kvmvncd did not exit cleanly:\n" << stop.output;
        }
    }

    // vivid's HDMI input switches to the DV timings named `name`.
    void setTimings(const std::string &name) {
        LabVm::Reply reply = vm_->command("timings " + name);
        ASSERT_EQ(reply.rc, 0) << reply.output;
    }

    void startDaemon(const std::string &format) {
        LabVm::Reply reply = vm_->command("kvmvncd-start " + format);
        ASSERT_EQ(reply.rc, 0) << reply.output;
    }

    void connectViewer() {
        ViewerOptions options;
        options.port = vm_->vncPort();
        options.encodings = "tight";  // lossless: no quality level, so no JPEG
        viewer_ = std::make_unique<TestViewer>(options);
        ASSERT_TRUE(viewer_->connect()) << viewer_->lastError();
    }

    // Pumps the viewer until it shows the bars at `size`.
    void expectBars(Size size, std::chrono::milliseconds timeout = 30s) {
        bool shown =
            viewer_->pumpUntil([&] { return barsDifference(*viewer_, size).empty(); }, timeout);
        ASSERT_TRUE(shown) << "the viewer does not show vivid's colour bars at " << size.width
                           << "x" << size.height << ": " << barsDifference(*viewer_, size);
        ASSERT_TRUE(viewer_->isConnected()) << viewer_->lastError();
    }

    // Pumps the viewer until it shows kvmvncd's status screen for `state`.
    void expectStatusScreen(capture::SignalState state, const std::string &detail, Size size,
                            std::chrono::milliseconds timeout = 30s) {
        std::vector<uint8_t> expected = statusScreen(state, detail, size);
        bool shown = viewer_->waitForPicture(size, expected, timeout);
        ASSERT_TRUE(shown) << "the viewer does not show the status screen \""
                           << capture::signalStateTitle(state) << "\" / \"" << detail
                           << "\": " << testing::describeDifference(*viewer_, size, expected)
                           << (barsDifference(*viewer_, size).empty() ? " (it shows the bars)"
                                                                      : "");
        ASSERT_TRUE(viewer_->isConnected()) << viewer_->lastError();
    }

    std::string daemonLog() { return vm_->command("kvmvncd-log").output; }

    std::unique_ptr<TestViewer> viewer_;
    std::string device_;
};

// 640x480p59.94 is the CTA-861/DMT mode 640x480 (not flagged CE video).
constexpr Size kVga{640, 480};

class CaptureFormatLab : public CaptureLab, public ::testing::WithParamInterface<const char *> {};

// kvmvncd captures vivid's HDMI input in each raw format it converts, and the
// host viewer receives the test pattern's colours.
TEST_P(CaptureFormatLab, ViewerSeesVividColourBars) {
    const std::string format = GetParam();
    ASSERT_NO_FATAL_FAILURE(setTimings("640x480p59"));
    ASSERT_NO_FATAL_FAILURE(startDaemon(format));
    ASSERT_NO_FATAL_FAILURE(connectViewer());
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));
    // The daemon streams in the format asked for, not a fallback.
    std::string log = daemonLog();
    EXPECT_NE(log.find("streaming v4l2 " + device_ + " " + format + " 640x480"), std::string::npos)
        << log;
}

INSTANTIATE_TEST_SUITE_P(Formats, CaptureFormatLab, ::testing::Values("YUYV", "UYVY", "RGB24"),
                         [](const ::testing::TestParamInfo<const char *> &param) {
                             return std::string(param.param);
                         });

// CE video timings (CTA-861 modes like 720p and 1080p, what a PC sends to a
// TV-like sink): vivid sends Y'CbCr as BT.709 limited range there, as HDMI
// sources do, and R'G'B' full range. The viewer must still see the bars'
// colours.
class CaptureCeTimingsLab : public CaptureLab,
                            public ::testing::WithParamInterface<const char *> {};

TEST_P(CaptureCeTimingsLab, ViewerSeesVividColourBars) {
    const std::string format = GetParam();
    ASSERT_NO_FATAL_FAILURE(setTimings("1280x720p60"));
    ASSERT_NO_FATAL_FAILURE(startDaemon(format));
    ASSERT_NO_FATAL_FAILURE(connectViewer());
    ASSERT_NO_FATAL_FAILURE(expectBars({1280, 720}));
}

INSTANTIATE_TEST_SUITE_P(Formats, CaptureCeTimingsLab, ::testing::Values("YUYV", "UYVY", "RGB24"),
                         [](const ::testing::TestParamInfo<const char *> &param) {
                             return std::string(param.param);
                         });

// A new resolution on the HDMI input (new DV timings, SOURCE_CHANGE) reaches
// the connected viewer as a live resize: same connection, new size, the
// picture right again. Grows, then shrinks.
TEST_F(CaptureLab, TimingsChangeResizesTheViewerLive) {
    ASSERT_NO_FATAL_FAILURE(setTimings("640x480p59"));
    ASSERT_NO_FATAL_FAILURE(startDaemon("auto"));
    ASSERT_NO_FATAL_FAILURE(connectViewer());
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));

    ASSERT_NO_FATAL_FAILURE(setTimings("1024x768p60"));
    ASSERT_NO_FATAL_FAILURE(expectBars({1024, 768}));

    ASSERT_NO_FATAL_FAILURE(setTimings("800x600p60"));
    ASSERT_NO_FATAL_FAILURE(expectBars({800, 600}));

    // format = auto on a DV timings bridge prefers UYVY.
    std::string log = daemonLog();
    EXPECT_NE(log.find("streaming v4l2 " + device_ + " UYVY 1024x768"), std::string::npos) << log;
    EXPECT_NE(log.find("streaming v4l2 " + device_ + " UYVY 800x600"), std::string::npos) << log;
}

// A viewer that has had ServerInit but not yet sent SetEncodings when the
// resolution changes (a viewer connecting as the first picture arrives, or
// as the source changes mode) cannot have told the server that it
// understands DesktopSize yet. It must not be closed for that: once its
// SetEncodings announces DesktopSize it follows like any other.
TEST_F(CaptureLab, ViewerInItsHandshakeFollowsAResize) {
    ASSERT_NO_FATAL_FAILURE(setTimings("640x480p59"));
    ASSERT_NO_FATAL_FAILURE(startDaemon("YUYV"));
    testing::RawRfbConnection raw;
    ASSERT_TRUE(raw.connect(vm_->vncPort()));
    ASSERT_TRUE(raw.handshake());  // up to ServerInit

    ASSERT_NO_FATAL_FAILURE(setTimings("800x600p60"));
    bool resized = false;
    for (int i = 0; i < 100 && !resized; ++i) {
        resized = daemonLog().find("resolution now 800x600") != std::string::npos;
        if (!resized)
            std::this_thread::sleep_for(200ms);
    }
    ASSERT_TRUE(resized) << daemonLog();

    // SetEncodings: Raw, DesktopSize (-223); then a full update request.
    ASSERT_TRUE(raw.send({2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21}));
    ASSERT_TRUE(raw.send({3, 0, 0, 0, 0, 0, 0x03, 0x20, 0x02, 0x58}));
    EXPECT_FALSE(raw.closedByServer(3000)) << "kvmvncd closed the viewer:\n" << daemonLog();
}

// vivid's signal modes on the HDMI input: no signal, no lock, out of range.
// Each gives kvmvncd's status screen with the reason (at the last picture's
// size), and the bars return when the signal does.
TEST_F(CaptureLab, SignalLossShowsTheStatusScreenUntilTheSignalReturns) {
    using capture::SignalState;
    ASSERT_NO_FATAL_FAILURE(setTimings("640x480p59"));
    ASSERT_NO_FATAL_FAILURE(startDaemon("YUYV"));
    ASSERT_NO_FATAL_FAILURE(connectViewer());
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));

    ASSERT_EQ(vm_->command("signal none").rc, 0);
    ASSERT_NO_FATAL_FAILURE(
        expectStatusScreen(SignalState::NoSignal, device_ + ": no video on the input", kVga));
    ASSERT_EQ(vm_->command("signal nolock").rc, 0);
    ASSERT_NO_FATAL_FAILURE(expectStatusScreen(
        SignalState::NoSync, device_ + ": cannot lock to the video signal", kVga));
    ASSERT_EQ(vm_->command("signal range").rc, 0);
    ASSERT_NO_FATAL_FAILURE(expectStatusScreen(SignalState::OutOfRange,
                                               device_ + ": video timings out of range", kVga));

    // "Current DV Timings": the timings last applied, 640x480 again.
    ASSERT_EQ(vm_->command("signal ok").rc, 0);
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));
}

// vivid's disconnect control unregisters the device node under kvmvncd
// (every ioctl answers ENODEV) like an unplugged USB dongle: the viewer
// sees the NO DEVICE screen, and when kvmvncd has closed the node (vivid
// re-registers it once its last user is gone) it reopens it and the bars
// come back by themselves.
TEST_F(CaptureLab, DisconnectShowsNoDeviceUntilTheDeviceReturns) {
    ASSERT_NO_FATAL_FAILURE(setTimings("640x480p59"));
    ASSERT_NO_FATAL_FAILURE(startDaemon("YUYV"));
    ASSERT_NO_FATAL_FAILURE(connectViewer());
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));

    ASSERT_EQ(vm_->command("disconnect").rc, 0);
    ASSERT_NO_FATAL_FAILURE(expectStatusScreen(capture::SignalState::NoDevice,
                                               device_ + ": " + std::strerror(ENODEV), kVga));
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));
}

// [capture] edid. vivid's HDMI input behaves as a TC358743 after boot once
// its EDID is cleared: no EDID, no link (QUERY_DV_TIMINGS: ENOLINK).
class EdidLab : public CaptureLab {
protected:
    // The HDMI input at 640x480, its EDID empty.
    void clearEdid() {
        ASSERT_NO_FATAL_FAILURE(setTimings("640x480p59"));
        run("edid-clear");
        LabVm::Reply query = vm_->command("v4l2 --query-dv-timings");
        ASSERT_NE(query.rc, 0) << "vivid has a link without an EDID:\n" << query.output;
    }

    // kvmvncctl on the host, through the port forward: its exit status,
    // with stdout and stderr in ctlOutput_.
    int kvmvncctl(const std::vector<std::string> &args) {
        const std::filesystem::path dir = std::filesystem::temp_directory_path();
        const std::string stem = "kvmvnc-edid-lab-" + std::to_string(::getpid());
        const std::string output = (dir / (stem + ".out")).string();
        std::vector<std::string> argv = {KVMVNC_CTL_PATH, "--host",
                                         "127.0.0.1:" + std::to_string(vm_->vncPort()),
                                         "--known-hosts", (dir / (stem + ".hosts")).string()};
        argv.insert(argv.end(), args.begin(), args.end());
        const int status = testing::runCommand(argv, {}, 60s, output);
        std::ifstream file(output);
        ctlOutput_.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
        std::filesystem::remove(output);
        std::filesystem::remove(dir / (stem + ".hosts"));
        return status;
    }

    std::string ctlOutput_;
};

// With edid = default, kvmvncd loads its EDID into the empty input before it
// asks for DV timings: the input locks and the viewer sees vivid's bars. The
// device holds exactly kvmvnc's EDID, and kvmvncctl lists its modes.
TEST_F(EdidLab, DefaultEdidLetsTheInputLock) {
    ASSERT_NO_FATAL_FAILURE(clearEdid());
    ASSERT_NO_FATAL_FAILURE(startDaemon("YUYV edid=default"));
    ASSERT_NO_FATAL_FAILURE(connectViewer());
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));

    const std::string log = daemonLog();
    EXPECT_NE(log.find("loaded kvmvnc's default EDID into " + device_ +
                       " input 3 (monitor kvmvnc, 1920x1080 at 60 Hz preferred)"),
              std::string::npos)
        << log;
    LabVm::Reply held = run("edid-get");
    std::string error;
    std::optional<capture::Edid> edid = capture::Edid::parseFile(held.output, error);
    ASSERT_TRUE(edid) << error << "\n" << held.output;
    // vivid hands it out with its input's CEC physical address (0.0.0.0).
    EXPECT_TRUE(capture::Edid::kvmvncDefault().matchesReadBack(edid->bytes())) << held.output;

    // What the device holds, as kvmvncctl lists it.
    ASSERT_EQ(kvmvncctl({"edid", "show"}), 0) << ctlOutput_;
    EXPECT_EQ(ctlOutput_,
              "edid: on " + device_ + " ([capture] edid = default)\n" + edid->describe());
}

// With edid = keep, the empty EDID stays: the viewer sees NO SIGNAL with the
// reason, and kvmvncctl says the device holds none. A reload to edid =
// default loads it, and the picture comes.
TEST_F(EdidLab, KeepLeavesTheEmptyEdidAndShowsNoSignalUntilAReloadLoadsOne) {
    ASSERT_NO_FATAL_FAILURE(clearEdid());
    ASSERT_EQ(vm_->command("kvmvncd-launch YUYV edid=keep").rc, 0);
    ASSERT_NO_FATAL_FAILURE(connectViewer());
    // No picture ever came: the status screen has the start-up size.
    ASSERT_NO_FATAL_FAILURE(expectStatusScreen(
        capture::SignalState::NoSignal,
        device_ + " holds no EDID: the target sees no monitor ([capture] edid)", {1280, 720}));
    EXPECT_NE(vm_->command("edid-get").rc, 0) << "kvmvncd loaded an EDID with edid = keep";
    ASSERT_EQ(kvmvncctl({"edid", "show"}), 0) << ctlOutput_;
    EXPECT_EQ(ctlOutput_, "edid: " + device_ +
                              " holds none: the target sees no monitor and sends no picture "
                              "([capture] edid = keep)\n");

    run("kvmvncd-reload YUYV edid=default");
    ASSERT_NO_FATAL_FAILURE(expectBars(kVga));
    EXPECT_EQ(run("edid-get").rc, 0);
}

}  // namespace
}  // namespace kvmvnc::lab
