// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/v4l2_capture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
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

// For gtest's messages.
void PrintTo(const SourceStatus &status, std::ostream *out) {
    *out << signalStateTitle(status.state) << ": " << status.detail;
}

namespace {

using std::chrono::milliseconds;
using Delivers = FakeDongle::Delivers;
using Streamed = std::vector<std::string>;

constexpr Size k1080p{1920, 1080};
constexpr Size k720p{1280, 720};
constexpr Size kVga{640, 480};

// Short enough for a test, each many frame intervals of the fake.
constexpr milliseconds kFirstFrameTimeout{150};
constexpr milliseconds kRetryWait{400};

// What the capture returned over a stretch of time.
struct Captured {
    std::vector<Size> sizes;                        // of each Frame, in order
    std::vector<SourceStatus> statuses;             // each status an Unavailable came with, once
    std::vector<std::string> streamedAtFirstFrame;  // the dongle's streams then
};

class V4l2DongleTest : public ::testing::Test {
protected:
    void makeCapture(std::vector<FakeDongle::Mode> modes, V4l2Options options = {}) {
        dongle_ = std::make_shared<FakeDongle>(std::move(modes));
        options.device = "/nonexistent/fake-dongle";
        options.firstFrameTimeout = firstFrameTimeout_;
        options.retryWait = kRetryWait;
        capture_ = std::make_unique<V4l2Capture>(std::move(options), nullptr, dongle_->opener());
    }

    // Calls capture() for `duration`, or until a picture of `until` came.
    Captured captureFor(milliseconds duration, Size until = {}) {
        Captured run;
        const auto end = std::chrono::steady_clock::now() + duration;
        while (std::chrono::steady_clock::now() < end) {
            CaptureResult result = capture_->capture(frame_, milliseconds{20});
            if (result == CaptureResult::Frame) {
                if (run.sizes.empty())
                    run.streamedAtFirstFrame = dongle_->streamed();
                run.sizes.push_back(frame_.size());
                if (!until.isEmpty() && frame_.size() == until)
                    break;
            } else if (result == CaptureResult::Unavailable) {
                SourceStatus status = capture_->status();
                if (run.statuses.empty() || run.statuses.back() != status)
                    run.statuses.push_back(std::move(status));
            }
        }
        return run;
    }

    milliseconds firstFrameTimeout_ = kFirstFrameTimeout;
    std::shared_ptr<FakeDongle> dongle_;
    std::unique_ptr<V4l2Capture> capture_;
    Frame frame_;
};

SourceStatus searchStatus(const std::string &detail) { return {SignalState::NoSignal, detail}; }

}  // namespace

// The fake stands in for the kernel: a dongle that delivers what it lists
// streams in its first mode, its pictures come out decoded, and nothing
// else is tried however long it runs.
TEST_F(V4l2DongleTest, AGoodDongleStreamsItsBestModeWithoutSearching) {
    makeCapture(
        {{PixelFormat::Mjpeg, k1080p}, {PixelFormat::Yuyv, k1080p}, {PixelFormat::Mjpeg, k720p}});
    Captured run = captureFor(kFirstFrameTimeout * 4);
    ASSERT_FALSE(run.sizes.empty());
    EXPECT_EQ(run.sizes.front(), k1080p);
    EXPECT_TRUE(run.statuses.empty());
    EXPECT_EQ(capture_->status(), SourceStatus{});
    EXPECT_EQ(dongle_->streamed(), Streamed{"1920x1080 MJPEG"});
    EXPECT_EQ(capture_->description(), "v4l2 /nonexistent/fake-dongle MJPEG 1920x1080");
    capture_.reset();
    EXPECT_FALSE(dongle_->isOpen());
}

// Without a configured size the search starts at the largest size the
// dongle lists, whatever it streamed before, in MJPEG.
TEST_F(V4l2DongleTest, StartsAtTheLargestListedSizeInMjpeg) {
    makeCapture({{PixelFormat::Yuyv, kVga},
                 {PixelFormat::Yuyv, k1080p},
                 {PixelFormat::Mjpeg, k720p},
                 {PixelFormat::Mjpeg, k1080p}});
    Captured run = captureFor(milliseconds{500}, k1080p);
    EXPECT_EQ(run.sizes, std::vector<Size>{k1080p});
    EXPECT_EQ(dongle_->streamed(), Streamed{"1920x1080 MJPEG"});
}

// 1080p MJPEG that never delivers: the status screen says so while the
// next mode, 1080p YUYV, is tried; its picture is kept and one line logs it.
TEST_F(V4l2DongleTest, NothingInTheFirstModeTriesTheNext) {
    makeCapture({{PixelFormat::Mjpeg, k1080p, Delivers::Nothing},
                 {PixelFormat::Yuyv, k1080p},
                 {PixelFormat::Mjpeg, k720p}});
    ::testing::internal::CaptureStderr();
    Captured run = captureFor(milliseconds{1000}, k1080p);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(run.sizes, std::vector<Size>{k1080p});
    EXPECT_EQ(run.streamedAtFirstFrame, (Streamed{"1920x1080 MJPEG", "1920x1080 YUYV"}));
    EXPECT_EQ(run.statuses, std::vector<SourceStatus>{searchStatus(
                                "capture device delivers no frames in 1920x1080 MJPEG, trying "
                                "1920x1080 YUYV")});
    EXPECT_EQ(capture_->status(), SourceStatus{});
    EXPECT_NE(log.find("capture: /nonexistent/fake-dongle: settled on 1920x1080 YUYV at 30 fps "
                       "after 1920x1080 MJPEG delivered nothing\n"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("receiving frames again"), std::string::npos) << log;

    // Kept: it is not left again for the next one.
    captureFor(kFirstFrameTimeout * 3);
    EXPECT_EQ(dongle_->streamed(), (Streamed{"1920x1080 MJPEG", "1920x1080 YUYV"}));
}

// Pictures of another size than negotiated (a JPEG whose header says
// 1280x720, YUYV frames a 1280x720 picture long) leave the mode; none of
// them reaches the viewers.
TEST_F(V4l2DongleTest, PicturesOfAnotherSizeTryTheNextMode) {
    makeCapture({{PixelFormat::Mjpeg, k1080p, Delivers::WrongSize, k720p},
                 {PixelFormat::Yuyv, k1080p, Delivers::WrongSize, k720p},
                 {PixelFormat::Mjpeg, k720p, Delivers::Nothing},
                 {PixelFormat::Yuyv, k720p}});
    ::testing::internal::CaptureStderr();
    Captured run = captureFor(milliseconds{1000}, k720p);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(run.sizes, std::vector<Size>{k720p});
    EXPECT_EQ(run.streamedAtFirstFrame,
              (Streamed{"1920x1080 MJPEG", "1920x1080 YUYV", "1280x720 MJPEG", "1280x720 YUYV"}));
    // The last status may give way to a picture before anyone sees it.
    ASSERT_GE(run.statuses.size(), 2u);
    EXPECT_EQ(run.statuses[0], searchStatus("capture device delivers 1280x720 frames in 1920x1080 "
                                            "MJPEG, trying 1920x1080 YUYV"));
    EXPECT_EQ(run.statuses[1], searchStatus("capture device delivers frames of 1843200 bytes in "
                                            "1920x1080 YUYV, trying 1280x720 MJPEG"));
    EXPECT_NE(log.find("settled on 1280x720 YUYV at 30 fps after 1920x1080 MJPEG delivered "
                       "1280x720 frames, 1920x1080 YUYV delivered frames of 1843200 bytes, "
                       "1280x720 MJPEG delivered nothing\n"),
              std::string::npos)
        << log;
}

// One picture of another size among good ones is a torn frame: dropped, the
// mode kept.
TEST_F(V4l2DongleTest, OnePictureOfAnotherSizeIsAGlitch) {
    makeCapture({{PixelFormat::Mjpeg, k1080p}, {PixelFormat::Mjpeg, k720p}});
    ASSERT_EQ(captureFor(milliseconds{500}, k1080p).sizes, std::vector<Size>{k1080p});
    dongle_->glitchOnce(k720p);
    Captured run = captureFor(kFirstFrameTimeout * 3);
    for (Size size : run.sizes)
        EXPECT_EQ(size, k1080p);
    EXPECT_EQ(dongle_->streamed(), Streamed{"1920x1080 MJPEG"});
    EXPECT_EQ(capture_->status(), SourceStatus{});
}

// A kept mode that goes on in another size is not left either: after a
// few pictures (a glitch is dropped) they are shown as they come.
TEST_F(V4l2DongleTest, AKeptModeThatChangesSizeIsShownAsItComes) {
    makeCapture({{PixelFormat::Mjpeg, k1080p}, {PixelFormat::Mjpeg, k720p}});
    ASSERT_EQ(captureFor(milliseconds{500}, k1080p).sizes, std::vector<Size>{k1080p});
    dongle_->setDelivers(PixelFormat::Mjpeg, k1080p, Delivers::WrongSize, k720p);
    Captured run = captureFor(milliseconds{500}, k720p);
    EXPECT_EQ(run.sizes, std::vector<Size>{k720p});
    EXPECT_EQ(dongle_->streamed(), Streamed{"1920x1080 MJPEG"});
    EXPECT_TRUE(run.statuses.empty());
}

// On the last mode left, a picture of another size beats none.
TEST_F(V4l2DongleTest, TheLastModeShowsPicturesOfAnotherSize) {
    makeCapture({{PixelFormat::Mjpeg, k1080p, Delivers::Nothing},
                 {PixelFormat::Mjpeg, k720p, Delivers::WrongSize, kVga}});
    Captured run = captureFor(milliseconds{1000}, kVga);
    EXPECT_EQ(run.sizes, std::vector<Size>{kVga});
    EXPECT_EQ(dongle_->streamed(), (Streamed{"1920x1080 MJPEG", "1280x720 MJPEG"}));
}

// uvcvideo refuses STREAMON with ENOSPC when the bus cannot carry a mode.
TEST_F(V4l2DongleTest, ARefusedModeTriesTheNext) {
    makeCapture({{PixelFormat::Yuyv, k1080p, Delivers::Refuses}, {PixelFormat::Yuyv, k720p}});
    Captured run = captureFor(milliseconds{2500}, k720p);
    EXPECT_EQ(run.sizes, std::vector<Size>{k720p});
    EXPECT_EQ(run.streamedAtFirstFrame, (Streamed{"1920x1080 YUYV", "1280x720 YUYV"}));
    EXPECT_EQ(run.statuses, std::vector<SourceStatus>{searchStatus(
                                "capture device refuses 1920x1080 YUYV (No space left on "
                                "device), trying 1280x720 YUYV")});
}

// Every mode silent: the screen says so (once, not per mode), the whole
// list is tried again, the first mode given the longer wait, and nothing
// spins meanwhile. A mode that delivers on a later round is kept.
TEST_F(V4l2DongleTest, EveryModeSilentShowsItAndTriesThemAgain) {
    makeCapture({{PixelFormat::Mjpeg, k1080p, Delivers::Nothing},
                 {PixelFormat::Yuyv, k1080p, Delivers::Nothing},
                 {PixelFormat::Mjpeg, k720p, Delivers::Nothing}});
    const SourceStatus allFailed = searchStatus(
        "capture device delivers no usable frames in any of its 3 modes; trying them again");
    const auto start = std::chrono::steady_clock::now();
    // Captures until the dongle was asked to stream `count` times.
    auto untilStreamed = [&](size_t count) {
        Captured run;
        const auto end = std::chrono::steady_clock::now() + milliseconds{3000};
        while (dongle_->streamed().size() < count && std::chrono::steady_clock::now() < end) {
            Captured slice = captureFor(milliseconds{5});
            run.sizes.insert(run.sizes.end(), slice.sizes.begin(), slice.sizes.end());
            for (const SourceStatus &status : slice.statuses) {
                if (run.statuses.empty() || run.statuses.back() != status)
                    run.statuses.push_back(status);
            }
        }
        return run;
    };

    Captured first = untilStreamed(4);
    EXPECT_TRUE(first.sizes.empty());
    ASSERT_FALSE(first.statuses.empty());
    EXPECT_EQ(first.statuses.back(), allFailed);
    EXPECT_EQ(dongle_->streamed(),
              (Streamed{"1920x1080 MJPEG", "1920x1080 YUYV", "1280x720 MJPEG", "1920x1080 MJPEG"}));

    // The second round: the first mode waits kRetryWait, then the others
    // take their turns, the screen unchanged.
    const auto retried = std::chrono::steady_clock::now();
    Captured second = untilStreamed(5);
    EXPECT_GE(std::chrono::steady_clock::now() - retried, kRetryWait - milliseconds{50});
    Captured third = untilStreamed(6);
    EXPECT_TRUE(second.sizes.empty());
    EXPECT_TRUE(third.sizes.empty());
    EXPECT_EQ(second.statuses, std::vector<SourceStatus>{allFailed});
    EXPECT_EQ(third.statuses, std::vector<SourceStatus>{allFailed});
    EXPECT_EQ(dongle_->streamed().back(), "1280x720 MJPEG");
    // No busy loop: the capture polls its device about once per call.
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(dongle_->polls(), seconds * 300)
        << dongle_->polls() << " polls in " << seconds << " s";

    // 1080p YUYV comes alive: the next round finds it.
    dongle_->setDelivers(PixelFormat::Yuyv, k1080p, Delivers::Pictures);
    ::testing::internal::CaptureStderr();
    Captured fourth = captureFor(kRetryWait * 3, k1080p);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(fourth.sizes, std::vector<Size>{k1080p});
    EXPECT_EQ(capture_->status(), SourceStatus{});
    EXPECT_NE(log.find("settled on 1920x1080 YUYV at 30 fps after 1920x1080 MJPEG delivered "
                       "nothing\n"),
              std::string::npos)
        << log;
}

// A configured format is the only one tried: the search goes to smaller
// sizes in it, never to YUYV.
TEST_F(V4l2DongleTest, AConfiguredFormatIsTheOnlyOneTried) {
    V4l2Options options;
    options.format = PixelFormat::Mjpeg;
    makeCapture({{PixelFormat::Mjpeg, k1080p, Delivers::Nothing},
                 {PixelFormat::Yuyv, k1080p},
                 {PixelFormat::Mjpeg, k720p}},
                options);
    Captured run = captureFor(milliseconds{1000}, k720p);
    EXPECT_EQ(run.sizes, std::vector<Size>{k720p});
    EXPECT_EQ(dongle_->streamed(), (Streamed{"1920x1080 MJPEG", "1280x720 MJPEG"}));
}

// A configured size is where the search starts and the largest it tries.
TEST_F(V4l2DongleTest, AConfiguredSizeIsTheLargestTried) {
    V4l2Options options;
    options.width = 1280;
    options.height = 720;
    makeCapture({{PixelFormat::Mjpeg, k1080p},
                 {PixelFormat::Mjpeg, k720p, Delivers::Nothing},
                 {PixelFormat::Mjpeg, kVga},
                 {PixelFormat::Yuyv, k1080p},
                 {PixelFormat::Yuyv, k720p}},
                options);
    Captured run = captureFor(milliseconds{1000}, k720p);
    EXPECT_EQ(run.sizes, std::vector<Size>{k720p});
    EXPECT_EQ(dongle_->streamed(), (Streamed{"1280x720 MJPEG", "1280x720 YUYV"}));
}

// first_frame_timeout_ms = 0: the first mode is kept however it behaves,
// as before there was a search.
TEST_F(V4l2DongleTest, WithoutAFirstFrameTimeoutNothingElseIsTried) {
    firstFrameTimeout_ = milliseconds{0};
    makeCapture({{PixelFormat::Mjpeg, k1080p, Delivers::Nothing}, {PixelFormat::Yuyv, k1080p}});
    Captured run = captureFor(kFirstFrameTimeout * 4);
    EXPECT_TRUE(run.sizes.empty());
    EXPECT_EQ(dongle_->streamed(), Streamed{"1920x1080 MJPEG"});
}

// A mode that gave pictures and then goes silent (the target switched off)
// has lost its signal; it is not left for another.
TEST_F(V4l2DongleTest, AKeptModeThatFallsSilentIsKept) {
    makeCapture({{PixelFormat::Mjpeg, k1080p}, {PixelFormat::Mjpeg, k720p}});
    ASSERT_EQ(captureFor(milliseconds{500}, k1080p).sizes, std::vector<Size>{k1080p});
    dongle_->setDelivers(PixelFormat::Mjpeg, k1080p, Delivers::Nothing);
    // Past the 2 s after which a silent stream is looked into.
    Captured run = captureFor(milliseconds{2600});
    EXPECT_EQ(dongle_->streamed(), Streamed{"1920x1080 MJPEG"});
    const SourceStatus lost{SignalState::NoSignal,
                            "/nonexistent/fake-dongle: no frames from the device"};
    EXPECT_EQ(run.statuses, std::vector<SourceStatus>{lost});
}

}  // namespace kvmvnc::capture
