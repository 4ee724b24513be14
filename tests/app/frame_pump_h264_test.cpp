// SPDX-License-Identifier: GPL-2.0-or-later
// The frame pump feeding the H.264 encoder: only while the RFB server sees
// motion, with the framebuffer as the differ left it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "fake_h264_encoder.h"
#include "kvmvnc/app/frame_pump.h"
#include "kvmvnc/encode/h264_encoder_thread.h"
#include "kvmvnc/encode/h264_stream.h"
#include "loopback_door.h"
#include "raw_rfb_connection.h"
#include "wait_until.h"

namespace kvmvnc::app {

namespace {

using namespace std::chrono_literals;
using kvmvnc::testing::waitUntil;

constexpr Size kSize{64, 48};

struct Pipeline {
    Pipeline() {
        rfb::RfbServerOptions options;
        options.initialSize = kSize;
        server = std::make_unique<rfb::RfbServer>(options);
        server->attachH264Stream(&stream);
        auto owned = std::make_unique<encode::testing::FakeH264Encoder>();
        encoder = owned.get();
        thread = std::make_unique<encode::H264EncoderThread>(std::move(owned),
                                                             encode::H264Options{}, stream);
        thread->start();
        pump = std::make_unique<FramePump>(mailbox, *server);
        pump->setH264Encoder(thread.get());
        pump->start();
        door = testing::loopbackDoor(*server);
    }
    // A viewer that decodes H.264: lists 50 (and Raw).
    void connectH264Viewer() {
        ASSERT_TRUE(viewer.connect(door->port()));
        ASSERT_TRUE(viewer.handshake());
        const std::vector<uint8_t> setEncodings{2, 0, 0, 2, 0, 0, 0, 50, 0, 0, 0, 0};
        ASSERT_TRUE(viewer.send(setEncodings));
        ASSERT_TRUE(waitUntil([&] { return server->h264ListingViewers() == 1; }, 5s));
    }
    ~Pipeline() {
        viewer.shutdown();
        door.reset();
        mailbox.close();
        pump->stop();
        thread->stop();
    }
    // A frame whose rows [0, rows) hold `value` and the rest `rest`.
    void publish(uint8_t value, int rows, uint8_t rest = 0) {
        std::unique_ptr<capture::Frame> frame = mailbox.acquire();
        frame->allocate(kSize.width, kSize.height);
        std::memset(frame->pixels.data(), rest, frame->pixels.size());
        std::memset(frame->pixels.data(), value, static_cast<size_t>(frame->stride) * rows);
        mailbox.publish(std::move(frame));
        const uint64_t before = framesBefore++;
        ASSERT_TRUE(waitUntil([&] { return pump->stats().frames > before; }, 5s));
    }

    capture::FrameMailbox mailbox;
    encode::H264Stream stream;
    std::unique_ptr<rfb::RfbServer> server;
    encode::testing::FakeH264Encoder *encoder = nullptr;
    std::unique_ptr<encode::H264EncoderThread> thread;
    std::unique_ptr<FramePump> pump;
    std::unique_ptr<door::FrontDoor> door;
    testing::RawRfbConnection viewer;
    uint64_t framesBefore = 0;
};

}  // namespace

TEST(FramePumpH264Test, FramesGoToTheEncoderOnlyWhileTheScreenMoves) {
    Pipeline p;
    p.connectH264Viewer();
    p.publish(1, kSize.height);  // the first frame: all changed
    p.publish(2, kSize.height);
    EXPECT_EQ(p.thread->stats().submitted, 0u) << "two large changes are not motion yet";
    p.publish(3, kSize.height);
    p.publish(4, kSize.height);
    ASSERT_TRUE(waitUntil([&] { return p.thread->stats().encoded == 2; }, 5s));
    p.encoder->inspect([](encode::testing::FakeH264Encoder &e) {
        EXPECT_EQ(e.firstBytes, (std::vector<uint8_t>{3, 4})) << "the framebuffer as diffed";
    });

    std::this_thread::sleep_for(rfb::MotionPolicy::Options{}.still + 50ms);
    p.publish(5, 2, 4);  // a small change after the motion
    p.publish(6, 2, 4);
    EXPECT_EQ(p.thread->stats().submitted, 2u) << "small changes stay tiles";
}

// No viewer decodes H.264: the motion is not encoded for no one.
TEST(FramePumpH264Test, NothingIsEncodedWithoutAViewerThatListsFifty) {
    Pipeline p;
    for (uint8_t i = 1; i <= 6; ++i)
        p.publish(i, kSize.height);
    EXPECT_EQ(p.thread->stats().submitted, 0u);
    p.connectH264Viewer();  // longer than the still period: motion starts anew
    for (uint8_t i = 7; i <= 9; ++i)
        p.publish(i, kSize.height);
    ASSERT_TRUE(waitUntil([&] { return p.thread->stats().encoded == 1; }, 5s));
}

}  // namespace kvmvnc::app
