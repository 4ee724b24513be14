// SPDX-License-Identifier: GPL-2.0-or-later
// A real viewer that decodes H.264 (RFB encoding 50): TigerVNC 1.16.2,
// built with FFmpeg from the source in the third-party folder
// (tigervnc_h264.sh), on an Xvfb display, with its default options. While
// the virtual target plays its video, the viewer must get the picture as
// H.264 and show it. Debian's TigerVNC 1.12, which cannot decode H.264,
// must see the same video as tiles.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#include "daemon_process.h"
#include "kvmvnc/door/user_table.h"
#include "kvmvnc/target/virtual_screen.h"
#include "ppm_image.h"
#include "subprocess.h"
#include "test_viewer.h"
#include "virtual_target_picture.h"
#include "wait_until.h"
#include "xvfb.h"

namespace kvmvnc::testing {

namespace {

using namespace std::chrono_literals;

constexpr Size kScreen{1024, 768};
// The daemon's debug lines about a viewer's H.264 (rfb/h264_updates.cpp:
// where its stream starts, how many rectangles it had when pixels resume).
int h264Lines(const std::string &log) {
    int count = 0;
    size_t at = 0;
    while ((at = log.find("D rfb: viewer ", at)) != std::string::npos) {
        const size_t end = log.find('\n', at);
        if (log.substr(at, end - at).find("H.264") != std::string::npos)
            ++count;
        at = end;
    }
    return count;
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

// The viewer with H.264, built into the cache if it is not there yet: its
// path, or empty with `why` (`skip` when the source is not on this machine).
std::string h264Viewer(const std::string &dir, std::string &why, bool &skip) {
    const std::string output = dir + "/tigervnc_h264.log";
    // Uncached, it configures and builds for about half a minute on 2 cores.
    const int status =
        runCommand({KVMVNC_TIGERVNC_H264_SCRIPT, KVMVNC_THIRD_PARTY_DIR, KVMVNC_TIGERVNC_CACHE_DIR},
                   {}, 600s, output);
    const std::string text = readFile(output);
    skip = status == 77;
    if (status != 0) {
        why = text;
        return {};
    }
    // The path is the last line; build messages come before it.
    const size_t end = text.find_last_not_of('\n');
    const size_t start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - start);
}

// The accounts file: alice logs in over VeNCrypt X509Plain, as TigerVNC
// does by default.
std::string usersFor(const std::string &dir) {
    door::UserTable users;
    users.set("alice", "alice-password", door::Access::Full);
    users.save(dir + "/users");
    return "[security]\nusers_file = " + dir + "/users\n";
}

// PSNR of `expected` against the area of `shot` where it fits best, the
// offsets judged on every 8th row (a smooth picture fits several at once).
double bestPsnr(const Image &shot, const Image &expected, int maxOffset) {
    auto squaredError = [&](int ox, int oy) {
        double sum = 0.0;
        for (int y = 0; y < expected.size.height; y += 8) {
            const uint8_t *want =
                &expected.pixels[static_cast<size_t>(y) * expected.size.width * 4];
            const uint8_t *got =
                &shot.pixels[(static_cast<size_t>(y + oy) * shot.size.width + ox) * 4];
            for (int i = 0; i < expected.size.width * 4; ++i) {
                if (i % 4 == 3)
                    continue;
                const double d = double(want[i]) - double(got[i]);
                sum += d * d;
            }
        }
        return sum;
    };
    double best = -1.0;
    Rect bestArea{};
    for (int y = 0; y <= maxOffset && y + expected.size.height <= shot.size.height; ++y) {
        for (int x = 0; x <= maxOffset && x + expected.size.width <= shot.size.width; ++x) {
            const double error = squaredError(x, y);
            if (best < 0.0 || error < best) {
                best = error;
                bestArea = {x, y, expected.size.width, expected.size.height};
            }
        }
    }
    Image area = shot.crop(bestArea);
    return area.pixels.empty() ? 0.0 : psnr(area.pixels, expected.pixels);
}

class TigerVncH264Test : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char *program : {"Xvfb", "vncviewer", "import", "xdotool"})
            ASSERT_TRUE(haveProgram(program))
                << program << " is missing: packaging/dev.sh installs the test tools";
        char templ[] = "/tmp/kvmvnc-h264-viewer-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir_ = templ;
    }
    void TearDown() override {
        viewer_.stop();
        if (daemon_) {
            EXPECT_TRUE(daemon_->isRunning()) << daemon_->log();
            EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
        }
        runCommand({"rm", "-rf", dir_});
    }

    // The daemon with H.264 on and no sharpening: what the viewer shows
    // after the video stops is the last H.264 picture, not tiles sent again.
    void startDaemon() {
        daemon_ = std::make_unique<DaemonProcess>(
            "[capture]\nwidth = " + std::to_string(kScreen.width) +
            "\nheight = " + std::to_string(kScreen.height) +
            "\n[virtual]\nanimate = false\nboot_seconds = 0\n[log]\nlevel = debug\n"
            "[h264]\nenabled = true\nsharpen = false\n" +
            usersFor(dir_));
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
    }

    // `program` with TigerVNC's defaults (AutoSelect among them), but for
    // the login, the window's place and the menu's key (`noMenuKey`: none,
    // so no hint drawn over the picture); it exits when the connection
    // closes.
    void startViewer(const std::string &program, const std::string &noMenuKey) {
        ASSERT_TRUE(x_->start());
        const std::vector<std::string> argv = {program,
                                               "-SecurityTypes=X509Plain",
                                               "-X509CA",
                                               daemon_->path("tls/cert.pem"),
                                               "-geometry",
                                               "+0+0",
                                               noMenuKey,
                                               "-ReconnectOnError=0",
                                               "-AlertOnFatalError=0",
                                               "127.0.0.1::" + std::to_string(daemon_->port())};
        ASSERT_TRUE(viewer_.start(
            argv, {"DISPLAY=" + x_->display(), "VNC_USERNAME=alice", "VNC_PASSWORD=alice-password"},
            dir_ + "/vncviewer.log"));
    }

    std::optional<Image> screenshot() const {
        const std::string path = dir_ + "/shot.ppm";
        if (runCommand({"import", "-display", x_->display(), "-window", "root", "-depth", "8",
                        "ppm:" + path},
                       {}, 20s) != 0)
            return std::nullopt;
        return readPpm(path);
    }

    // Waits until the viewer shows `expected` within `minPsnr` dB.
    bool waitForPicture(const Image &expected, double minPsnr, std::chrono::seconds timeout,
                        double &quality) {
        quality = 0.0;
        return waitUntil(
            [&] {
                if (auto shot = screenshot())
                    quality = bestPsnr(*shot, expected, 40);
                return quality >= minPsnr;
            },
            timeout, 500ms);
    }

    bool xdotool(std::vector<std::string> arguments) {
        arguments.insert(arguments.begin(), "xdotool");
        return runCommand(arguments, {"DISPLAY=" + x_->display()}) == 0;
    }

    // Gives vncviewer's window the keyboard focus.
    bool focusViewer() {
        const std::string listing = dir_ + "/window";
        if (runCommand({"xdotool", "search", "--name", "TigerVNC"}, {"DISPLAY=" + x_->display()},
                       10s, listing) != 0)
            return false;
        std::string id;
        std::ifstream(listing) >> id;
        return !id.empty() && xdotool({"windowfocus", "--sync", id});
    }

    // The daemon's framebuffer, lossless: a second viewer asking for Raw.
    std::optional<Image> referencePicture() {
        ViewerOptions options;
        options.port = daemon_->port();
        options.encodings = "raw";
        options.user = "alice";
        options.password = "alice-password";
        options.caFile = daemon_->path("tls/cert.pem");
        TestViewer reference(options);
        if (!reference.connect() ||
            !reference.pumpUntil([&] { return reference.updates() > 0; }, 10s))
            return std::nullopt;
        return Image{reference.size(), reference.picture()};
    }

    // Plays the video, checks that the viewer's picture moves with it,
    // pauses it and returns the viewer's settled picture's PSNR against the
    // daemon's framebuffer.
    void playAndPause(double &quality) {
        double desktop = 0.0;
        ASSERT_TRUE(waitForPicture({kScreen, stillPicture(target::MachinePhase::Desktop, kScreen)},
                                   30.0, 30s, desktop))
            << "the desktop did not appear: PSNR " << desktop << " dB\n"
            << readFile(dir_ + "/vncviewer.log");
        ASSERT_TRUE(focusViewer());
        ASSERT_TRUE(xdotool({"type", "--delay", "80", "video"}));
        ASSERT_TRUE(xdotool({"key", "Return"}));
        // The video moves the viewer's picture: two screenshots a second
        // apart differ.
        std::this_thread::sleep_for(2s);
        const auto playing = screenshot();
        std::this_thread::sleep_for(1s);
        const auto later = screenshot();
        ASSERT_TRUE(playing && later);
        EXPECT_NE(playing->pixels, later->pixels) << "the viewer's picture stood still";

        ASSERT_TRUE(xdotool({"key", "space"}));
        // Motion ends 300 ms after the last moving frame; the viewer then
        // has nothing more to show. Settled: two screenshots alike.
        std::this_thread::sleep_for(2s);
        std::optional<Image> shot;
        waitUntil(
            [&] {
                auto previous = std::move(shot);
                shot = screenshot();
                return shot && previous && shot->pixels == previous->pixels;
            },
            20s, 500ms);
        ASSERT_TRUE(shot);
        const auto reference = referencePicture();
        ASSERT_TRUE(reference);
        ASSERT_EQ(reference->size, kScreen);
        // The video is on the screen, not the desktop.
        EXPECT_LT(psnr(reference->pixels, stillPicture(target::MachinePhase::Desktop, kScreen)),
                  20.0);
        quality = bestPsnr(*shot, *reference, 40);
        if (const char *keep = std::getenv("KVMVNC_KEEP_SHOT")) {
            runCommand({"cp", dir_ + "/shot.ppm", keep});
        }
    }

    // Ends the session from the daemon's side, so that the viewer exits on
    // its own and logs what it decoded per encoding; the viewer's log.
    std::string endSession() {
        EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
        log_ = daemon_->log();
        daemon_.reset();
        EXPECT_NE(viewer_.wait(10s), -1) << "vncviewer did not exit";
        return readFile(dir_ + "/vncviewer.log");
    }

    std::unique_ptr<Xvfb> x_ = std::make_unique<Xvfb>(Size{1280, 1024});
    Subprocess viewer_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::string log_;  // the daemon's, once stopped
    std::string dir_;
};

// TigerVNC 1.16.2 lists encoding 50 after Tight; the daemon picks H.264 by
// motion among what a viewer lists, so the default options get the video
// as H.264. Without sharpening, the paused picture on the viewer is the
// decoded H.264 picture, and it is close to the daemon's framebuffer.
TEST_F(TigerVncH264Test, TigerVnc116ShowsTheVideoAsH264) {
    std::string why;
    bool skip = false;
    const std::string program = h264Viewer(dir_, why, skip);
    if (skip)
        GTEST_SKIP() << why;
    ASSERT_FALSE(program.empty()) << why;
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    ASSERT_NO_FATAL_FAILURE(startViewer(program, "-ShortcutModifiers="));
    double quality = 0.0;
    ASSERT_NO_FATAL_FAILURE(playAndPause(quality));
    EXPECT_GE(quality, 30.0) << "PSNR of the viewer's picture against the daemon's, in dB";

    const std::string viewerLog = endSession();
    EXPECT_GT(h264Lines(log_), 0) << log_;
    // DecodeManager's statistics at the end of the connection, one line per
    // encoding it decoded: "H.264: N rects, ...".
    EXPECT_NE(viewerLog.find("H.264: "), std::string::npos) << viewerLog;
}

// Debian's TigerVNC 1.12 lists no encoding 50: the same video reaches it
// as tiles, and what it shows after the pause is the daemon's picture.
TEST_F(TigerVncH264Test, TigerVnc112GetsTheVideoAsTiles) {
    ASSERT_NO_FATAL_FAILURE(startDaemon());
    ASSERT_NO_FATAL_FAILURE(startViewer("vncviewer", "-MenuKey="));
    double quality = 0.0;
    ASSERT_NO_FATAL_FAILURE(playAndPause(quality));
    EXPECT_GE(quality, 30.0) << "PSNR of the viewer's picture against the daemon's, in dB";

    const std::string viewerLog = endSession();
    EXPECT_EQ(h264Lines(log_), 0) << log_;
    EXPECT_NE(viewerLog.find("TigerVNC Viewer 64-bit v1.12"), std::string::npos) << viewerLog;
}

}  // namespace

}  // namespace kvmvnc::testing
