// SPDX-License-Identifier: GPL-2.0-or-later
// X11Capture against a real X server: Xvfb, on a display number of its own
// choosing, drawn on by the test through a connection of its own.
#include "kvmvnc/capture/x11_capture.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "subprocess.h"
#include "xvfb.h"

// Xlib last: its macros (None, Status, Bool...) would reach into the rest.
#include <X11/Xlib.h>
#include <X11/Xutil.h>

namespace kvmvnc::capture {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using kvmvnc::testing::Xvfb;

constexpr int kWidth = 640;
constexpr int kHeight = 480;

// A pattern in which every pixel differs from its neighbours.
uint32_t patternPixel(int x, int y, uint32_t seed) {
    return ((static_cast<uint32_t>(x) * 4 + seed) & 0xff) << 16 |
           ((static_cast<uint32_t>(y) * 5) & 0xff) << 8 | (static_cast<uint32_t>(x + y) & 0xff);
}

struct Drawing {
    int patternX = 10;
    int patternY = 20;
    int patternWidth = 64;
    int patternHeight = 48;
    uint32_t seed = 0;
    int boxX = 300;
    int boxY = 200;
    int boxWidth = 30;
    int boxHeight = 40;
    uint32_t boxColor = 0x123456;

    // Draws onto the root window of `display` through a connection of its own.
    bool drawOn(const std::string &display) const {
        Display *x = XOpenDisplay(display.c_str());
        if (x == nullptr)
            return false;
        const Window root = DefaultRootWindow(x);
        GC gc = XCreateGC(x, root, 0, nullptr);
        std::vector<uint32_t> pixels(static_cast<size_t>(patternWidth) * patternHeight);
        for (int y = 0; y < patternHeight; ++y)
            for (int x0 = 0; x0 < patternWidth; ++x0)
                pixels[static_cast<size_t>(y) * patternWidth + x0] = patternPixel(x0, y, seed);
        XImage *image = XCreateImage(x, DefaultVisual(x, DefaultScreen(x)), 24, ZPixmap, 0,
                                     reinterpret_cast<char *>(pixels.data()), patternWidth,
                                     patternHeight, 32, patternWidth * 4);
        XPutImage(x, root, gc, image, 0, 0, patternX, patternY, patternWidth, patternHeight);
        image->data = nullptr;  // the vector's
        XDestroyImage(image);
        XSetForeground(x, gc, boxColor);
        XFillRectangle(x, root, gc, boxX, boxY, boxWidth, boxHeight);
        XSync(x, False);
        XFreeGC(x, gc);
        XCloseDisplay(x);
        return true;
    }

    // Where `frame` differs from the drawing, or "".
    std::string differences(const Frame &frame) const {
        auto at = [&](int x, int y) {
            const uint8_t *p = frame.row(y) + static_cast<size_t>(x) * Frame::kBytesPerPixel;
            return (uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0]);
        };
        auto describe = [](int x, int y, uint32_t got, uint32_t want) {
            char text[96];
            std::snprintf(text, sizeof(text), "(%d,%d) is %06x, not %06x", x, y, got, want);
            return std::string(text);
        };
        for (int y = 0; y < patternHeight; ++y)
            for (int x = 0; x < patternWidth; ++x)
                if (uint32_t got = at(patternX + x, patternY + y); got != patternPixel(x, y, seed))
                    return describe(patternX + x, patternY + y, got, patternPixel(x, y, seed));
        for (int y = boxY; y < boxY + boxHeight; ++y)
            for (int x = boxX; x < boxX + boxWidth; ++x)
                if (uint32_t got = at(x, y); got != boxColor)
                    return describe(x, y, got, boxColor);
        return {};
    }
};

// Captures until a picture arrives; false after `timeout`.
bool captureWithin(X11Capture &source, Frame &frame, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (source.capture(frame, 100ms) == CaptureResult::Frame)
            return true;
    }
    return false;
}

class X11CaptureTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // A write to a server that has gone away raises SIGPIPE, as in
        // kvmvncd, which ignores it.
        ::signal(SIGPIPE, SIG_IGN);
    }
    void SetUp() override {
        if (!kvmvnc::testing::haveProgram("Xvfb"))
            GTEST_SKIP() << "Xvfb is missing: packaging/dev.sh installs the test tools";
    }
};

}  // namespace

// MIT-SHM, and XGetImage as on a display without it; each with DAMAGE
// (fetching only what was drawn) and without (fetching every picture whole).
struct Grabs {
    bool sharedMemory;
    bool damage;
};

class X11CaptureGrabTest : public X11CaptureTest, public ::testing::WithParamInterface<Grabs> {
protected:
    X11Options options(const std::string &display, int fps) const {
        return {display, fps, GetParam().sharedMemory, GetParam().damage};
    }
};

INSTANTIATE_TEST_SUITE_P(Grabs, X11CaptureGrabTest,
                         ::testing::Values(Grabs{true, true}, Grabs{true, false},
                                           Grabs{false, true}, Grabs{false, false}),
                         [](const auto &param) {
                             return std::string(param.param.sharedMemory ? "MitShm" : "XGetImage") +
                                    (param.param.damage ? "Damage" : "Whole");
                         });

TEST_P(X11CaptureGrabTest, CapturesTheRootWindowExactly) {
    Xvfb x({kWidth, kHeight});
    ASSERT_TRUE(x.start());
    const Drawing drawing;
    ASSERT_TRUE(drawing.drawOn(x.display()));

    X11Capture source(options(x.display(), 30));
    Frame frame;
    ASSERT_TRUE(captureWithin(source, frame, 5s)) << source.status().detail;
    EXPECT_EQ(source.status().state, SignalState::Ok);
    ASSERT_EQ(frame.width, kWidth);
    ASSERT_EQ(frame.height, kHeight);
    EXPECT_EQ(frame.stride, kWidth * Frame::kBytesPerPixel);
    EXPECT_EQ(drawing.differences(frame), "");
    const std::string description = source.description();
    EXPECT_NE(description.find(GetParam().sharedMemory ? "640x480 MIT-SHM" : "640x480 XGetImage"),
              std::string::npos)
        << description;
    EXPECT_EQ(description.find("DAMAGE") != std::string::npos, GetParam().damage) << description;

    // What is drawn later shows in a later picture.
    Drawing moved;
    moved.patternX = 500;
    moved.patternY = 400;
    moved.seed = 77;
    moved.boxColor = 0xfedcba;
    moved.boxX = 0;
    moved.boxY = 0;
    ASSERT_TRUE(moved.drawOn(x.display()));
    ASSERT_TRUE(captureWithin(source, frame, 5s));
    EXPECT_EQ(moved.differences(frame), "");
}

// A resized screen (RandR) is followed without reopening: the next picture
// has the new size.
TEST_P(X11CaptureGrabTest, FollowsTheScreensSize) {
    if (!kvmvnc::testing::haveProgram("xrandr"))
        GTEST_SKIP() << "xrandr is missing: packaging/dev.sh installs the test tools";
    Xvfb x({kWidth, kHeight});
    ASSERT_TRUE(x.start());
    X11Capture source(options(x.display(), 60));
    Frame frame;
    ASSERT_TRUE(captureWithin(source, frame, 5s));
    ASSERT_EQ(frame.size(), (Size{kWidth, kHeight}));

    // Xvfb sizes its screen down to 320x240 but has no output mode of that
    // size, so xrandr fails after the resize: its status says nothing here.
    const std::vector<std::string> display = {"DISPLAY=" + x.display()};
    for (Size size : {Size{320, 240}, Size{kWidth, kHeight}, Size{400, 300}}) {
        kvmvnc::testing::runCommand(
            {"xrandr", "--fb", std::to_string(size.width) + "x" + std::to_string(size.height)},
            display);
        Drawing drawing;
        drawing.boxX = size.width - drawing.boxWidth;
        drawing.boxY = size.height - drawing.boxHeight;
        drawing.seed = static_cast<uint32_t>(size.width);
        ASSERT_TRUE(drawing.drawOn(x.display()));
        const auto deadline = Clock::now() + 5s;
        while (Clock::now() < deadline &&
               (frame.size() != size || !drawing.differences(frame).empty()))
            source.capture(frame, 100ms);
        EXPECT_EQ(frame.size(), size);
        EXPECT_EQ(frame.stride, size.width * Frame::kBytesPerPixel);
        EXPECT_EQ(drawing.differences(frame), "");
        EXPECT_EQ(source.status().state, SignalState::Ok);
    }
}

// With DAMAGE a still screen is Unchanged, and what is drawn - on the root
// window or inside a child window - comes in the next picture, which matches
// byte for byte a picture fetched whole. Without DAMAGE every picture is a
// Frame, equally exact.
TEST_P(X11CaptureGrabTest, ReportsAStillScreenAndEveryDrawing) {
    const CaptureResult still = GetParam().damage ? CaptureResult::Unchanged : CaptureResult::Frame;
    Xvfb x({kWidth, kHeight});
    ASSERT_TRUE(x.start());
    X11Capture source(options(x.display(), 240));
    X11Capture whole({x.display(), 240, false, false});
    Frame frame;
    Frame reference;
    ASSERT_TRUE(captureWithin(source, frame, 5s)) << source.status().detail;
    EXPECT_FALSE(frame.damageKnown) << "the first picture: everything is new";
    int stillPictures = 0;
    for (int i = 0; i < 5; ++i)
        stillPictures += source.capture(frame, 100ms) == still;
    EXPECT_EQ(stillPictures, 5) << "a still screen";

    // A client of its own, whose window lives as long as the connection.
    Display *client = XOpenDisplay(x.display().c_str());
    ASSERT_NE(client, nullptr);
    const Window root = DefaultRootWindow(client);
    const Window window = XCreateSimpleWindow(client, root, 100, 150, 200, 90, 0, 0, 0x336699);
    XMapWindow(client, window);
    XSync(client, False);
    auto nextPicture = [&]() {
        const auto deadline = Clock::now() + 5s;
        CaptureResult result = CaptureResult::Timeout;
        while (Clock::now() < deadline &&
               (result = source.capture(frame, 100ms)) == CaptureResult::Timeout) {
        }
        return result;
    };
    ASSERT_EQ(nextPicture(), CaptureResult::Frame) << "a window mapped";
    ASSERT_TRUE(captureWithin(whole, reference, 5s));
    EXPECT_TRUE(frame.pixels == reference.pixels) << "the mapped window";

    GC gc = XCreateGC(client, window, 0, nullptr);
    XSetForeground(client, gc, 0xff8800);
    XFillRectangle(client, window, gc, 10, 10, 20, 5);  // screen rows 160-164
    XSync(client, False);
    ASSERT_EQ(nextPicture(), CaptureResult::Frame) << "drawn in the window";
    // With DAMAGE the picture says which rows it fetched: the drawn ones.
    EXPECT_EQ(frame.damageKnown, GetParam().damage);
    if (frame.damageKnown) {
        int top = kHeight;
        int bottom = 0;
        for (const Rect &rect : frame.damage) {
            EXPECT_EQ(rect.x, 0);
            EXPECT_EQ(rect.width, kWidth);
            top = std::min(top, rect.y);
            bottom = std::max(bottom, rect.bottom());
        }
        EXPECT_LE(top, 160);
        EXPECT_GE(bottom, 165);
        EXPECT_LE(bottom - top, 32) << "a band around the drawing, not the screen";
    }
    ASSERT_TRUE(captureWithin(whole, reference, 5s));
    EXPECT_TRUE(frame.pixels == reference.pixels) << "drawn in the window";
    EXPECT_EQ(nextPicture(), still);

    Drawing drawing;  // on the root window, far from the window and each other
    drawing.patternY = 400;
    drawing.boxY = 10;
    ASSERT_TRUE(drawing.drawOn(x.display()));
    ASSERT_EQ(nextPicture(), CaptureResult::Frame) << "drawn on the root window";
    EXPECT_EQ(drawing.differences(frame), "");
    ASSERT_TRUE(captureWithin(whole, reference, 5s));
    EXPECT_TRUE(frame.pixels == reference.pixels) << "drawn on the root window";

    XUnmapWindow(client, window);
    XSync(client, False);
    ASSERT_EQ(nextPicture(), CaptureResult::Frame) << "a window unmapped";
    ASSERT_TRUE(captureWithin(whole, reference, 5s));
    EXPECT_TRUE(frame.pixels == reference.pixels) << "the unmapped window's place";
    XFreeGC(client, gc);
    XCloseDisplay(client);
}

// Frames come back from the pipeline holding older pictures: each is brought
// up to date exactly, whether it missed one drawing or many, or holds
// something else entirely.
TEST_P(X11CaptureGrabTest, RecycledFramesAreBroughtUpToDateExactly) {
    Xvfb x({kWidth, kHeight});
    ASSERT_TRUE(x.start());
    X11Capture source(options(x.display(), 240));
    X11Capture whole({x.display(), 240, false, false});
    std::vector<Frame> frames(3);
    Frame stale;  // left out for longer than the capture remembers
    Frame reference;
    ASSERT_TRUE(captureWithin(source, stale, 5s)) << source.status().detail;
    for (int round = 0; round < 12; ++round) {
        Drawing drawing;
        drawing.patternX = (round * 37) % (kWidth - drawing.patternWidth);
        drawing.patternY = (round * 53) % (kHeight - drawing.patternHeight);
        drawing.seed = static_cast<uint32_t>(round);
        drawing.boxY = (round * 29) % (kHeight - drawing.boxHeight);
        drawing.boxColor = 0x010203u * static_cast<uint32_t>(round + 1);
        ASSERT_TRUE(drawing.drawOn(x.display()));
        Frame &frame = frames[static_cast<size_t>(round) % frames.size()];
        ASSERT_TRUE(captureWithin(source, frame, 5s)) << "round " << round;
        ASSERT_TRUE(captureWithin(whole, reference, 5s));
        ASSERT_TRUE(frame.pixels == reference.pixels) << "round " << round;
    }
    Drawing last;
    last.seed = 99;
    ASSERT_TRUE(last.drawOn(x.display()));
    ASSERT_TRUE(captureWithin(source, stale, 5s));
    ASSERT_TRUE(captureWithin(whole, reference, 5s));
    EXPECT_TRUE(stale.pixels == reference.pixels) << "a frame twelve pictures behind";

    // A frame someone else wrote (allocate() forgets whose picture it held).
    Frame &other = frames[0];
    other.allocate(kWidth, kHeight);
    std::fill(other.pixels.begin(), other.pixels.end(), uint8_t{0x5a});
    last.seed = 100;
    ASSERT_TRUE(last.drawOn(x.display()));
    ASSERT_TRUE(captureWithin(source, other, 5s));
    ASSERT_TRUE(captureWithin(whole, reference, 5s));
    EXPECT_TRUE(other.pixels == reference.pixels) << "a frame written by someone else";
}

TEST_F(X11CaptureTest, PacesItselfToTheFrameRate) {
    Xvfb x({kWidth, kHeight});
    ASSERT_TRUE(x.start());
    X11Capture source({x.display(), 10});
    Frame frame;
    ASSERT_TRUE(captureWithin(source, frame, 5s));
    // At 10 fps the next picture is due in 100 ms: a shorter wait ends
    // without one, then it comes.
    EXPECT_EQ(source.capture(frame, 20ms), CaptureResult::Timeout);
    // A still screen: with DAMAGE each is Unchanged, but taken all the same.
    const auto start = Clock::now();
    int pictures = 0;
    while (Clock::now() - start < 1s)
        pictures += source.capture(frame, 200ms) != CaptureResult::Timeout;
    EXPECT_GE(pictures, 8);
    EXPECT_LE(pictures, 11);
}

TEST_F(X11CaptureTest, AMissingDisplayIsNoDeviceAfterTheTimeout) {
    // A display number nobody serves.
    int number = 4000 + static_cast<int>(::getpid() % 1000);
    while (std::filesystem::exists("/tmp/.X11-unix/X" + std::to_string(number)))
        ++number;
    const std::string name = ":" + std::to_string(number);
    X11Capture source({name, 30});
    Frame frame;
    const auto start = Clock::now();
    EXPECT_EQ(source.capture(frame, 300ms), CaptureResult::Unavailable);
    const auto waited = Clock::now() - start;
    EXPECT_GE(waited, 290ms);
    EXPECT_LT(waited, 2s);
    EXPECT_EQ(source.status().state, SignalState::NoDevice);
    EXPECT_EQ(source.status().detail, "X display " + name + ": cannot open");
    // Later calls keep trying, and keep waiting.
    EXPECT_EQ(source.capture(frame, 50ms), CaptureResult::Unavailable);
    EXPECT_EQ(source.status().state, SignalState::NoDevice);
}

TEST_F(X11CaptureTest, NoDisplayAtAllIsNoDevice) {
    X11Capture source({"", 30});
    if (!source.displayName().empty())
        GTEST_SKIP() << "DISPLAY is set";
    Frame frame;
    EXPECT_EQ(source.capture(frame, 10ms), CaptureResult::Unavailable);
    EXPECT_EQ(source.status().state, SignalState::NoDevice);
}

// The server going away mid-run is a status, not the end of the process, and
// a server started again on the same display is captured again.
TEST_F(X11CaptureTest, SurvivesTheServerDyingAndFollowsItsReturn) {
    Xvfb x({kWidth, kHeight});
    ASSERT_TRUE(x.start());
    X11Capture source({x.display(), 240});
    Frame frame;
    ASSERT_TRUE(captureWithin(source, frame, 5s));

    // Killed while pictures are taken as fast as they are due, so the end
    // may come between two grabs or in the middle of one.
    std::thread killer([&] {
        std::this_thread::sleep_for(150ms);
        x.stop();
    });
    CaptureResult result = CaptureResult::Frame;
    const auto deadline = Clock::now() + 10s;
    while (result != CaptureResult::Unavailable && Clock::now() < deadline)
        result = source.capture(frame, 100ms);
    killer.join();
    ASSERT_EQ(result, CaptureResult::Unavailable);
    EXPECT_EQ(source.status().state, SignalState::NoDevice) << source.status().detail;
    EXPECT_EQ(source.status().detail, "X display " + x.display() +
                                          ": connection lost (the X "
                                          "server ended?)");
    EXPECT_EQ(source.capture(frame, 100ms), CaptureResult::Unavailable);
    EXPECT_EQ(source.status().detail, "X display " + x.display() + ": cannot open");

    ASSERT_TRUE(x.start()) << "Xvfb did not start again on " << x.display();
    Drawing drawing;
    drawing.seed = 9;
    ASSERT_TRUE(drawing.drawOn(x.display()));
    ASSERT_TRUE(captureWithin(source, frame, 5s)) << source.status().detail;
    EXPECT_EQ(source.status().state, SignalState::Ok);
    EXPECT_EQ(drawing.differences(frame), "");
}

}  // namespace kvmvnc::capture
