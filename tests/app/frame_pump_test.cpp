// SPDX-License-Identifier: GPL-2.0-or-later
// The frame pump end to end: frames through the mailbox, the scroll finder,
// the differ and the RFB server, to real viewers whose pictures must equal
// the frames exactly, whether they take scrolls as copies or as pixels.
#include "kvmvnc/app/frame_pump.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

#include "kvmvnc/door/front_door.h"
#include "loopback_door.h"
#include "test_viewer.h"
#include "wait_until.h"

namespace kvmvnc::app {

namespace {

using namespace std::chrono_literals;

constexpr Size kSize{640, 480};
constexpr Rect kWindow{96, 64, 448, 320};

// A desktop with a text window showing lines first.., 8 pixel rows a line.
void drawText(capture::Frame &frame, uint32_t first) {
    frame.allocate(kSize.width, kSize.height);
    for (int y = 0; y < kSize.height; ++y) {
        auto *row = reinterpret_cast<uint32_t *>(frame.row(y));
        for (int x = 0; x < kSize.width; ++x)
            row[x] = 0x203040u + static_cast<uint32_t>((x / 9 + y / 7) & 0x1f);
    }
    for (int y = 0; y < kWindow.height; ++y) {
        const uint32_t line = first + static_cast<uint32_t>(y / 8);
        std::mt19937 glyphs(line * 7919u + static_cast<uint32_t>(y % 8));
        auto *row = reinterpret_cast<uint32_t *>(frame.row(kWindow.y + y)) + kWindow.x;
        for (int x = 0; x < kWindow.width; ++x)
            row[x] = (glyphs() % 5 == 0) ? 0xc8d0c8u : 0x101010u;
    }
}

class FramePumpTest : public ::testing::Test {
protected:
    FramePumpTest() {
        rfb::RfbServerOptions options;
        options.initialSize = kSize;
        server = std::make_unique<rfb::RfbServer>(options);
        door = testing::loopbackDoor(*server);
        pump = std::make_unique<FramePump>(mailbox, *server);
        pump->start();
    }
    ~FramePumpTest() override {
        pump->stop();
        door.reset();
    }

    std::vector<uint8_t> show(uint32_t firstLine) {
        std::unique_ptr<capture::Frame> frame = mailbox.acquire();
        drawText(*frame, firstLine);
        std::vector<uint8_t> pixels = frame->pixels;
        mailbox.publish(std::move(frame));
        return pixels;
    }

    std::unique_ptr<testing::TestViewer> viewer(const std::string &encodings) {
        testing::ViewerOptions options;
        options.port = door->port();
        options.encodings = encodings;  // lossless: no quality level
        auto v = std::make_unique<testing::TestViewer>(options);
        EXPECT_TRUE(v->connect());
        return v;
    }

    capture::FrameMailbox mailbox;
    std::unique_ptr<rfb::RfbServer> server;
    std::unique_ptr<door::FrontDoor> door;
    std::unique_ptr<FramePump> pump;
};

}  // namespace

TEST_F(FramePumpTest, ScrollingTextReachesEveryViewerExactly) {
    std::vector<uint8_t> expected = show(0);
    auto copying = viewer("copyrect tight");
    auto lagging = viewer("copyrect tight");  // pumped only now and then
    auto noCopies = viewer("tight");          // never offered CopyRect
    for (auto *v : {copying.get(), lagging.get(), noCopies.get()})
        ASSERT_TRUE(v->waitForPicture(kSize, expected, 10s))
            << describeDifference(*v, kSize, expected);

    for (uint32_t first = 2; first <= 40; first += 2) {
        expected = show(first);
        ASSERT_TRUE(copying->waitForPicture(kSize, expected, 10s))
            << "line " << first << ": " << describeDifference(*copying, kSize, expected);
        ASSERT_TRUE(noCopies->waitForPicture(kSize, expected, 10s))
            << "line " << first << ": " << describeDifference(*noCopies, kSize, expected);
        if (first % 10 == 0)
            lagging->pump(5ms);  // takes whatever arrived, often half a scroll behind
    }
    ASSERT_TRUE(lagging->waitForPicture(kSize, expected, 10s))
        << describeDifference(*lagging, kSize, expected);
    EXPECT_GT(pump->stats().moves, 10u) << "scrolls went as copies";
    EXPECT_GT(copying->copies(), 10u);
    EXPECT_EQ(copying->badCopies() + lagging->badCopies(), 0u);
    EXPECT_EQ(noCopies->copies(), 0u);
    EXPECT_LT(copying->pixels() - copying->copiedPixels(), noCopies->pixels() / 4)
        << "the copying viewer was sent far fewer pixels; copies " << copying->copies()
        << ", copied " << copying->copiedPixels() << ", all " << copying->pixels()
        << ", without copies " << noCopies->pixels();
}

// A source that knows what changed (the X11 source) narrows the compare to
// it - but not before the framebuffer holds a whole frame: not for the first
// frame, nor after a resize.
TEST_F(FramePumpTest, KnownDamageNarrowsTheCompareOnceInStep) {
    auto publish = [&](Size size, uint32_t fill, std::vector<Rect> damage,
                       std::vector<std::pair<int, uint32_t>> rows) {
        std::unique_ptr<capture::Frame> frame = mailbox.acquire();
        frame->allocate(size.width, size.height);
        auto *pixels = reinterpret_cast<uint32_t *>(frame->pixels.data());
        std::fill(pixels, pixels + static_cast<size_t>(size.width) * size.height, fill);
        for (auto [y, value] : rows)
            std::fill(pixels + static_cast<size_t>(y) * size.width,
                      pixels + static_cast<size_t>(y + 1) * size.width, value);
        frame->damageKnown = true;
        frame->damage = std::move(damage);
        const uint64_t before = pump->stats().frames;
        mailbox.publish(std::move(frame));
        ASSERT_TRUE(testing::waitUntil([&] { return pump->stats().frames > before; }, 10s, 1ms));
    };
    auto pixelAt = [&](int x, int y) {
        uint32_t value = 0;
        std::memcpy(&value,
                    server->framebuffer() + static_cast<size_t>(y) * server->stride() + x * 4, 4);
        return value;
    };

    publish(kSize, 0x112233, {}, {});  // "nothing changed" - but it is the first frame
    EXPECT_EQ(pixelAt(5, 300), 0x112233u);
    // Rows 10 and 400 differ; the source says only rows 8-15 may.
    publish(kSize, 0x112233, {{0, 8, kSize.width, 8}}, {{10, 0xabcdef}, {400, 0x445566}});
    EXPECT_EQ(pixelAt(5, 10), 0xabcdefu);
    EXPECT_EQ(pixelAt(5, 400), 0x112233u) << "row 400 was not compared: the source vouched";

    const Size larger{kSize.width + 64, kSize.height};
    publish(larger, 0x778899, {}, {});
    EXPECT_EQ(server->size(), larger);
    EXPECT_EQ(pixelAt(5, 400), 0x778899u) << "after a resize the frame is compared whole";
}

}  // namespace kvmvnc::app
