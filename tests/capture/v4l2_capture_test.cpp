// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/v4l2_capture.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fake_dongle.h"

namespace kvmvnc::capture {

TEST(V4l2FrameRateTest, InvertsTheFrameInterval) {
    EXPECT_DOUBLE_EQ(framesPerSecond(1, 30), 30.0);
    EXPECT_DOUBLE_EQ(framesPerSecond(1001, 60000), 60000.0 / 1001);
}

// A driver that does not fill the interval in leaves 0/0; one that fills it
// half leaves n/0 or 0/n. None of them is a rate, and none is divided by.
TEST(V4l2FrameRateTest, AnEmptyFrameIntervalIsNoRate) {
    EXPECT_EQ(framesPerSecond(0, 0), 0.0);
    EXPECT_EQ(framesPerSecond(1, 0), 0.0);
    EXPECT_EQ(framesPerSecond(0, 30), 0.0);
}

namespace {

using std::chrono::milliseconds;
using Delivers = FakeDongle::Delivers;

constexpr Size k1080p{1920, 1080};
constexpr Size k720p{1280, 720};
constexpr Size kVga{640, 480};

// What the capture returned over a stretch of time.
struct Captured {
    int frames = 0;           // CaptureResult::Frame
    std::vector<Size> sizes;  // of each Frame, in order
    SourceStatus lastStatus;  // status() after the last Unavailable
    bool sawUnavailable = false;
};

// Calls capture() for `duration`, or until a picture of `until` arrived.
Captured captureFor(V4l2Capture &capture, milliseconds duration, Size until = {}) {
    Captured run;
    Frame frame;
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
        CaptureResult result = capture.capture(frame, milliseconds{20});
        if (result == CaptureResult::Frame) {
            ++run.frames;
            run.sizes.push_back(frame.size());
            if (!until.isEmpty() && frame.size() == until)
                break;
        } else if (result == CaptureResult::Unavailable) {
            run.sawUnavailable = true;
            run.lastStatus = capture.status();
        }
    }
    return run;
}

class V4l2DongleTest : public ::testing::Test {
protected:
    std::unique_ptr<V4l2Capture> makeCapture(std::vector<FakeDongle::Mode> modes,
                                             V4l2Options options = {}) {
        dongle_ = std::make_shared<FakeDongle>(std::move(modes));
        options.device = "/nonexistent/fake-dongle";
        return std::make_unique<V4l2Capture>(std::move(options), nullptr, dongle_->opener());
    }

    std::shared_ptr<FakeDongle> dongle_;
};

}  // namespace

// The fake stands in for the kernel: a dongle that delivers what it lists
// streams in its first mode and its pictures come out decoded.
TEST_F(V4l2DongleTest, AGoodDongleStreamsItsPictures) {
    auto capture = makeCapture(
        {{PixelFormat::Mjpeg, k1080p}, {PixelFormat::Yuyv, k1080p}, {PixelFormat::Mjpeg, k720p}});
    Captured run = captureFor(*capture, milliseconds{300}, k1080p);
    ASSERT_EQ(run.sizes, std::vector<Size>{k1080p});
    EXPECT_EQ(capture->status(), SourceStatus{});
    EXPECT_EQ(dongle_->streamed(), std::vector<std::string>{"1920x1080 MJPEG"});
    EXPECT_EQ(capture->description(), "v4l2 /nonexistent/fake-dongle MJPEG 1920x1080");
    capture.reset();
    EXPECT_FALSE(dongle_->isOpen());
}

}  // namespace kvmvnc::capture
