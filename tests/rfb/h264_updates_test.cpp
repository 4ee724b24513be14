// SPDX-License-Identifier: GPL-2.0-or-later
// H.264 (RFB encoding 50) for the viewers that list it, played by hand
// against RfbServer on socketpairs, with the shared stream fed by an
// encoder thread as the daemon will feed it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_h264_encoder.h"
#include "kvmvnc/encode/annex_b.h"
#include "kvmvnc/encode/h264_encoder_thread.h"
#include "kvmvnc/encode/h264_stream.h"
#include "kvmvnc/rfb/client_message_filter.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "socket_io.h"
#include "wait_until.h"

#if defined(KVMVNC_HAVE_OPENH264) && defined(KVMVNC_TEST_LIBAV)
#include "h264_test_decoder.h"
#include "kvmvnc/capture/frame.h"
#include "kvmvnc/encode/openh264_encoder.h"
#include "kvmvnc/target/virtual_screen.h"
#endif

namespace kvmvnc::rfb {

namespace {

using namespace std::chrono_literals;
using testing::getU16;
using testing::getU32;
using testing::readExactly;
using testing::s32;
using testing::u16;

constexpr int32_t kH264 = 50;
constexpr int32_t kRaw = 0;
constexpr int32_t kDesktopSize = -223;
constexpr uint32_t kResetContext = 1 | 2;  // and ResetAllContexts: one context at a time

struct ReceivedRect {
    Rect rect;
    int32_t encoding = 0;
    uint32_t flags = 0;         // encoding 50's
    std::vector<uint8_t> data;  // encoding 50's Annex B bytes
};

// One viewer on a socketpair, through ServerInit, in the server's own pixel
// format (XRGB8888), asking for `encodings`. It keeps the Raw pixels it is
// sent in a canvas, and asks for the next update after each one.
class Viewer {
public:
    Viewer(RfbServer &server, const std::vector<int32_t> &encodings) : size_(server.size()) {
        int pair[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        testing::setReceiveTimeout(pair[1], 5);
        fd_ = UniqueFd(pair[1]);
        EXPECT_TRUE(
            server.adopt(UniqueFd(pair[0]), door::ViewerIdentity{"192.0.2.9", "", false, "None"}));
        EXPECT_EQ(readExactly(fd(), 12), "RFB 003.008\n");
        send("RFB 003.008\n");
        EXPECT_EQ(readExactly(fd(), 2), std::string("\x01\x01", 2));
        send("\x01");
        EXPECT_EQ(readExactly(fd(), 4), std::string(4, '\0'));
        send("\x01");
        const std::string init = readExactly(fd(), 24);
        EXPECT_EQ(init.size(), 24u);
        readExactly(fd(), getU32(init, 20));  // the name
        canvas_.assign(static_cast<size_t>(size_.width) * size_.height * 4, 0);
        setEncodings(encodings);
        request(false);
    }
    int fd() const { return fd_.get(); }
    void send(const std::string &bytes) { ASSERT_TRUE(testing::sendAll(fd(), bytes)); }
    // As the front door sends it: behind the between-updates marker.
    void setEncodings(const std::vector<int32_t> &encodings) {
        std::string message{static_cast<char>(kBetweenUpdatesMessage), 2, 0};
        message += u16(static_cast<int>(encodings.size()));
        for (int32_t encoding : encodings)
            message += s32(encoding);
        send(message);
    }
    void request(bool incremental) {
        send(std::string{3, static_cast<char>(incremental ? 1 : 0)} + u16(0) + u16(0) +
             u16(size_.width) + u16(size_.height));
    }
    // Reads the updates that arrive until none has for `quiet`, asking for
    // the next after each; their rectangles in order. False when the
    // connection broke or something else than an update came.
    bool readUpdates(std::chrono::milliseconds quiet, std::vector<ReceivedRect> &out) {
        for (;;) {
            pollfd p{fd(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0)
                return true;
            if (!readMessage(out))
                return false;
            if (askAfterEach)
                request(true);
        }
    }
    const std::vector<uint8_t> &canvas() const { return canvas_; }

    bool askAfterEach = true;  // false: continuous updates, no requests

private:
    // An update, whose rectangles go to `out`, or a message of continuous
    // updates (EndOfContinuousUpdates, a Fence), read and dropped.
    bool readMessage(std::vector<ReceivedRect> &out) {
        const std::string type = readExactly(fd(), 1);
        if (type.size() != 1)
            return false;
        if (type[0] == static_cast<char>(150))
            return true;
        if (type[0] == static_cast<char>(248)) {
            const std::string head = readExactly(fd(), 8);
            return head.size() == 8 && readExactly(fd(), static_cast<uint8_t>(head[7])).size() ==
                                           static_cast<uint8_t>(head[7]);
        }
        const std::string head = type + readExactly(fd(), 3);
        if (head.size() != 4 || head[0] != 0)
            return false;
        for (int i = 0, n = getU16(head, 2); i < n; ++i) {
            const std::string bytes = readExactly(fd(), 12);
            if (bytes.size() != 12)
                return false;
            ReceivedRect rect;
            rect.rect = {getU16(bytes, 0), getU16(bytes, 2), getU16(bytes, 4), getU16(bytes, 6)};
            rect.encoding = static_cast<int32_t>(getU32(bytes, 8));
            if (rect.encoding == kRaw) {
                const size_t row = static_cast<size_t>(rect.rect.width) * 4;
                for (int y = 0; y < rect.rect.height; ++y) {
                    const std::string line = readExactly(fd(), row);
                    if (line.size() != row)
                        return false;
                    std::memcpy(
                        canvas_.data() +
                            (static_cast<size_t>(rect.rect.y + y) * size_.width + rect.rect.x) * 4,
                        line.data(), row);
                }
            } else if (rect.encoding == kH264) {
                const std::string lengthAndFlags = readExactly(fd(), 8);
                if (lengthAndFlags.size() != 8)
                    return false;
                rect.flags = getU32(lengthAndFlags, 4);
                const std::string data = readExactly(fd(), getU32(lengthAndFlags, 0));
                rect.data.assign(data.begin(), data.end());
            } else if (rect.encoding == kDesktopSize) {
                size_ = {rect.rect.width, rect.rect.height};
                canvas_.assign(static_cast<size_t>(size_.width) * size_.height * 4, 0);
            } else {
                return false;  // asked for none of these
            }
            out.push_back(std::move(rect));
        }
        return true;
    }

    Size size_;
    UniqueFd fd_;
    std::vector<uint8_t> canvas_;
};

int countEncoding(const std::vector<ReceivedRect> &rects, int32_t encoding) {
    int n = 0;
    for (const ReceivedRect &rect : rects)
        n += rect.encoding == encoding ? 1 : 0;
    return n;
}

// The server, a stream and an encoder thread that wakes the server's H.264
// viewers after each unit, as the daemon wires them.
struct H264Server {
    explicit H264Server(Size size, std::unique_ptr<encode::H264Encoder> encoder,
                        const H264UpdateOptions &updates = {}) {
        RfbServerOptions options;
        options.initialSize = size;
        server = std::make_unique<RfbServer>(options);
        server->attachH264Stream(&stream, updates);
        thread = std::make_unique<encode::H264EncoderThread>(
            std::move(encoder), encode::H264Options{}, stream,
            [this](uint64_t) { server->wakeH264Viewers(); });
        thread->start();
    }
    ~H264Server() {
        thread->stop();
        server.reset();
    }
    // What the frame pump does with a changed frame: into the framebuffer,
    // marked, and to the encoder while the screen moves.
    void show(const uint8_t *pixels, int stride) {
        const Size size = server->size();
        for (int y = 0; y < size.height; ++y)
            std::memcpy(server->framebuffer() + static_cast<size_t>(y) * server->stride(),
                        pixels + static_cast<size_t>(y) * stride,
                        static_cast<size_t>(size.width) * 4);
        server->markModified({{0, 0, size.width, size.height}});
        if (server->h264Wanted())
            thread->submit(server->framebuffer(), server->stride(), size);
    }
    void showFill(uint8_t value) {
        const Size size = server->size();
        std::vector<uint8_t> pixels(static_cast<size_t>(size.width) * size.height * 4, value);
        show(pixels.data(), size.width * 4);
    }

    encode::H264Stream stream;
    std::unique_ptr<RfbServer> server;
    std::unique_ptr<encode::H264EncoderThread> thread;
};

constexpr Size kSize{64, 48};

}  // namespace

TEST(H264UpdatesTest, OnlyViewersListingFiftyGetEncoding50WhileTheScreenMoves) {
    H264Server h(kSize, std::make_unique<encode::testing::FakeH264Encoder>());
    Viewer h264(*h.server, {kH264, kRaw});
    Viewer plain(*h.server, {kRaw});
    std::vector<ReceivedRect> h264Rects;
    std::vector<ReceivedRect> plainRects;
    ASSERT_TRUE(h264.readUpdates(200ms, h264Rects));
    ASSERT_TRUE(plain.readUpdates(200ms, plainRects));
    EXPECT_EQ(countEncoding(h264Rects, kH264), 0) << "a still screen goes as pixels";

    for (int i = 1; i <= 12; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(h264.readUpdates(40ms, h264Rects));
        ASSERT_TRUE(plain.readUpdates(5ms, plainRects));
    }
    EXPECT_EQ(countEncoding(plainRects, kH264), 0) << "a viewer not listing 50 never gets it";
    EXPECT_GE(countEncoding(plainRects, kRaw), 12);

    std::vector<const ReceivedRect *> video;
    for (const ReceivedRect &rect : h264Rects) {
        if (rect.encoding == kH264)
            video.push_back(&rect);
    }
    ASSERT_GE(video.size(), 3u) << "motion from the third moving frame on";
    EXPECT_EQ(video.front()->flags, kResetContext) << "a new context starts with ResetContext";
    for (const ReceivedRect *rect : video) {
        EXPECT_EQ(rect->rect, (Rect{0, 0, kSize.width, kSize.height})) << "the whole screen";
        ASSERT_GE(rect->data.size(), 5u);
        EXPECT_EQ(rect->data[3], 1) << "Annex B";
    }
    EXPECT_EQ(video.front()->data[4], 0x65) << "the first unit is an IDR";
    for (size_t i = 1; i < video.size(); ++i)
        EXPECT_EQ(video[i]->flags, 0u) << "the context goes on";
}

TEST(H264UpdatesTest, WhenMotionEndsTheChangedAreasComeAgainAsPixels) {
    H264Server h(kSize, std::make_unique<encode::testing::FakeH264Encoder>());
    Viewer viewer(*h.server, {kH264, kRaw});
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    for (int i = 1; i <= 8; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    ASSERT_GT(countEncoding(rects, kH264), 0);
    EXPECT_NE(viewer.canvas()[0], 8 * 16) << "the last pictures went as H.264 only";

    // Still for longer than MotionPolicy::Options{}.still; the frame pump's tick.
    std::this_thread::sleep_for(MotionPolicy::Options{}.still + 100ms);
    rects.clear();
    h.server->wakeH264Viewers();
    ASSERT_TRUE(viewer.readUpdates(300ms, rects));
    EXPECT_EQ(countEncoding(rects, kH264), 0);
    EXPECT_GE(countEncoding(rects, kRaw), 1);
    const std::vector<uint8_t> expected(viewer.canvas().size(), 8 * 16);
    EXPECT_EQ(viewer.canvas(), expected) << "the sharp picture, in pixels";
}

// [h264] sharpen = false: the viewer keeps H.264's picture of what moved,
// and what changes after the motion goes as pixels as usual.
TEST(H264UpdatesTest, WithoutSharpeningTheEndOfMotionSendsNothingAgain) {
    H264UpdateOptions updates;
    updates.sharpen = false;
    H264Server h(kSize, std::make_unique<encode::testing::FakeH264Encoder>(), updates);
    Viewer viewer(*h.server, {kH264, kRaw});
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    for (int i = 1; i <= 8; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    ASSERT_GT(countEncoding(rects, kH264), 0);

    std::this_thread::sleep_for(MotionPolicy::Options{}.still + 100ms);
    rects.clear();
    h.server->wakeH264Viewers();
    ASSERT_TRUE(viewer.readUpdates(300ms, rects));
    int64_t pixelsAgain = 0;
    for (const ReceivedRect &rect : rects)
        pixelsAgain += static_cast<int64_t>(rect.rect.width) * rect.rect.height;
    // At most the one-pixel token that woke the output thread.
    EXPECT_LE(pixelsAgain, 1) << "nothing sent again";

    // A small change after the motion: pixels, just that.
    h.server->framebuffer()[h.server->stride() + 4] = 1;  // pixel (1, 1)
    h.server->markModified({{1, 1, 1, 1}});
    rects.clear();
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    EXPECT_EQ(countEncoding(rects, kH264), 0);
    ASSERT_EQ(countEncoding(rects, kRaw), 1);
    EXPECT_EQ(rects.back().rect, (Rect{1, 1, 1, 1}));
}

// After a pause longer than the still period, one large change (a window
// opening) is pixels again, however long the motion before it was.
TEST(H264UpdatesTest, APauseEndsTheRunOfMovingFrames) {
    H264Server h(kSize, std::make_unique<encode::testing::FakeH264Encoder>());
    Viewer viewer(*h.server, {kH264, kRaw});
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    for (int i = 1; i <= 6; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    ASSERT_GT(countEncoding(rects, kH264), 0);
    std::this_thread::sleep_for(MotionPolicy::Options{}.still + 100ms);
    h.server->wakeH264Viewers();
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    rects.clear();
    h.showFill(200);
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    EXPECT_EQ(countEncoding(rects, kH264), 0);
    EXPECT_GE(countEncoding(rects, kRaw), 1);
}

TEST(H264UpdatesTest, ASetEncodingsWithoutFiftyGoesBackToPixels) {
    H264Server h(kSize, std::make_unique<encode::testing::FakeH264Encoder>());
    Viewer viewer(*h.server, {kRaw, kH264});  // after the others, as TigerVNC lists it
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    int i = 1;
    for (; i <= 6; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    ASSERT_GT(countEncoding(rects, kH264), 0) << "listed anywhere, 50 is used";

    viewer.setEncodings({kRaw});
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    rects.clear();
    for (; i <= 12; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    EXPECT_EQ(countEncoding(rects, kH264), 0);
    const std::vector<uint8_t> expected(viewer.canvas().size(), 12 * 16);
    EXPECT_EQ(viewer.canvas(), expected) << "every change as pixels, the refine region too";
}

TEST(H264UpdatesTest, AResizeGoesFirstThenANewContextAtTheNewSize) {
    H264Server h(kSize, std::make_unique<encode::testing::FakeH264Encoder>());
    Viewer viewer(*h.server, {kH264, kRaw, kDesktopSize});
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    int i = 1;
    for (; i <= 6; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    ASSERT_GT(countEncoding(rects, kH264), 0);
    rects.clear();

    const Size larger{96, 64};
    h.server->resize(larger);
    // An old-size picture still on its way through the encoder when the
    // screen changed size: its unit is not for this screen.
    const std::vector<uint8_t> old(static_cast<size_t>(kSize.width) * kSize.height * 4, 0x55);
    const uint64_t encoded = h.thread->stats().encoded;
    h.thread->submit(old.data(), kSize.width * 4, kSize);
    ASSERT_TRUE(testing::waitUntil([&] { return h.thread->stats().encoded > encoded; }, 5s));
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    for (; i <= 14; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    bool resized = false;
    bool reset = false;
    for (const ReceivedRect &rect : rects) {
        if (rect.encoding == kDesktopSize) {
            EXPECT_EQ(rect.rect.width, larger.width);
            resized = true;
        } else if (rect.encoding == kH264 && resized) {
            EXPECT_EQ(rect.rect, (Rect{0, 0, larger.width, larger.height}));
            if (!reset) {
                EXPECT_EQ(rect.flags, kResetContext) << "the new size's first rectangle";
                ASSERT_GE(rect.data.size(), 5u);
                EXPECT_EQ(rect.data[4], 0x65) << "starts from an IDR";
                reset = true;
            }
        } else if (rect.encoding == kH264) {
            EXPECT_EQ(rect.rect, (Rect{0, 0, kSize.width, kSize.height}))
                << "before the DesktopSize, only the old size";
        }
    }
    EXPECT_TRUE(resized);
    EXPECT_TRUE(reset) << "H.264 goes on at the new size";
}

TEST(H264UpdatesTest, AViewerThatStopsReadingHoldsUpNoOneAndRejoinsAtAnIdr) {
    auto encoder = std::make_unique<encode::testing::FakeH264Encoder>();
    encoder->padding = 100 * 1024;  // a few units fill a socket
    encode::testing::FakeH264Encoder *fake = encoder.get();
    H264Server h(kSize, std::move(encoder));
    Viewer slow(*h.server, {kH264, kRaw});
    Viewer fast(*h.server, {kH264, kRaw});
    std::vector<ReceivedRect> slowRects;
    std::vector<ReceivedRect> fastRects;
    ASSERT_TRUE(slow.readUpdates(200ms, slowRects));
    ASSERT_TRUE(fast.readUpdates(200ms, fastRects));
    int i = 1;
    for (; i <= 4; ++i) {
        h.showFill(static_cast<uint8_t>(i));
        ASSERT_TRUE(slow.readUpdates(40ms, slowRects));
        ASSERT_TRUE(fast.readUpdates(40ms, fastRects));
    }
    ASSERT_GT(countEncoding(slowRects, kH264), 0);

    // The slow viewer stops reading for longer than the ring holds (2 MiB:
    // about 20 of these units); the other goes on.
    fastRects.clear();
    for (; i <= 44; ++i) {
        h.showFill(static_cast<uint8_t>(i));
        ASSERT_TRUE(fast.readUpdates(30ms, fastRects));
    }
    EXPECT_GE(countEncoding(fastRects, kH264), 30) << "the encoder and the fast viewer went on";
    EXPECT_EQ(fake->inspect([](auto &e) { return e.firstBytes.size(); }),
              h.thread->stats().encoded);

    // Reading again, it gets what was in its socket, then an IDR with a
    // new context, not the units that left the ring.
    slowRects.clear();
    auto rejoined = [&] {
        return std::any_of(slowRects.begin(), slowRects.end(),
                           [](const ReceivedRect &r) { return r.flags != 0; });
    };
    for (int n = 0; n < 40 && !rejoined(); ++n, ++i) {
        h.showFill(static_cast<uint8_t>(i));
        ASSERT_TRUE(slow.readUpdates(40ms, slowRects));
        ASSERT_TRUE(fast.readUpdates(5ms, fastRects));
    }
    const auto rejoin = std::find_if(slowRects.begin(), slowRects.end(),
                                     [](const ReceivedRect &r) { return r.flags != 0; });
    ASSERT_NE(rejoin, slowRects.end()) << "back within the IDR rate limit";
    EXPECT_EQ(rejoin->flags, kResetContext);
    EXPECT_EQ(rejoin->data[4], 0x65) << "from an IDR";
}

TEST(H264UpdatesTest, AViewerInContinuousModeGetsEncoding50WithoutAsking) {
    H264Server h(kSize, std::make_unique<encode::testing::FakeH264Encoder>());
    Viewer viewer(*h.server, {kH264, kRaw, -312, -313});  // as TigerVNC and noVNC
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    viewer.askAfterEach = false;
    viewer.send(std::string{static_cast<char>(150), 1} + u16(0) + u16(0) + u16(kSize.width) +
                u16(kSize.height));
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    rects.clear();
    for (int i = 1; i <= 12; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    EXPECT_GE(countEncoding(rects, kH264), 8) << "every moving frame from the third on, unasked";
    std::this_thread::sleep_for(MotionPolicy::Options{}.still + 100ms);
    rects.clear();
    h.server->wakeH264Viewers();
    ASSERT_TRUE(viewer.readUpdates(300ms, rects));
    EXPECT_EQ(countEncoding(rects, kH264), 0);
    const std::vector<uint8_t> expected(viewer.canvas().size(), 12 * 16);
    EXPECT_EQ(viewer.canvas(), expected) << "the sharp picture after the motion, unasked";
}

// A viewer that ends continuous updates while it waits for the next unit
// has no request left: the encoder's wake must not give the parked one
// back, or it would be sent updates it did not ask for.
TEST(H264UpdatesTest, EndingContinuousUpdatesDropsTheParkedRequest) {
    auto owned = std::make_unique<encode::testing::FakeH264Encoder>();
    encode::testing::FakeH264Encoder *encoder = owned.get();
    H264Server h(kSize, std::move(owned));
    Viewer viewer(*h.server, {kH264, kRaw, -312, -313});
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    viewer.askAfterEach = false;
    viewer.send(std::string{static_cast<char>(150), 1} + u16(0) + u16(0) + u16(kSize.width) +
                u16(kSize.height));
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    for (int i = 1; i <= 6; ++i) {
        h.showFill(static_cast<uint8_t>(i * 16));
        ASSERT_TRUE(viewer.readUpdates(40ms, rects));
    }
    ASSERT_GT(countEncoding(rects, kH264), 0);
    // The next picture's encode is held: the viewer's update waits parked
    // for its unit. Continuous updates end meanwhile.
    encoder->setHold(true);
    h.showFill(7 * 16);
    encoder->waitEntered();
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    viewer.send(std::string{static_cast<char>(150), 0} + u16(0) + u16(0) + u16(kSize.width) +
                u16(kSize.height));
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    rects.clear();
    encoder->setHold(false);  // the unit comes, and wakes the viewer
    ASSERT_TRUE(viewer.readUpdates(300ms, rects));
    EXPECT_TRUE(rects.empty()) << "nothing was asked for";
    viewer.askAfterEach = true;
    h.showFill(8 * 16);
    viewer.request(true);
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    EXPECT_FALSE(rects.empty()) << "a request is answered again";
}

#if defined(KVMVNC_HAVE_OPENH264) && defined(KVMVNC_TEST_LIBAV)

namespace {

// The access units in one encoding-50 rectangle: one per slice, since
// every picture is one slice (with SPS and PPS in front of an IDR).
std::vector<std::vector<uint8_t>> accessUnits(const std::vector<uint8_t> &data) {
    std::vector<std::vector<uint8_t>> units(1);
    for (const encode::NalUnit &nal : encode::splitAnnexB(data.data(), data.size())) {
        units.back().insert(units.back().end(), {0, 0, 0, 1});
        units.back().insert(units.back().end(), data.begin() + static_cast<ptrdiff_t>(nal.offset),
                            data.begin() + static_cast<ptrdiff_t>(nal.offset + nal.size));
        if (nal.type == static_cast<uint8_t>(encode::NalType::Slice) ||
            nal.type == static_cast<uint8_t>(encode::NalType::IdrSlice))
            units.emplace_back();
    }
    units.pop_back();
    return units;
}

// The virtual target's desktop, wider than the screen, so that a window
// onto it panned by a few pixels a frame changes the whole screen.
capture::Frame wideDesktop(Size size) {
    target::MachineView view;
    view.phase = target::MachinePhase::Desktop;
    view.outputSize = size;
    view.bootCount = 1;
    capture::Frame frame;
    target::renderVirtualScreen(target::stillInputs(view, 30), frame);
    return frame;
}

}  // namespace

TEST(H264UpdatesTest, ADecoderShowsTheTargetsScreenFromTheEncoding50Rectangles) {
    const Size size{320, 240};
    H264Server h(size, std::make_unique<encode::OpenH264Encoder>());
    Viewer viewer(*h.server, {kH264, kRaw});
    std::vector<ReceivedRect> rects;
    ASSERT_TRUE(viewer.readUpdates(200ms, rects));
    const capture::Frame desktop = wideDesktop({size.width + 128, size.height});
    int shown = 0;
    for (; shown < 20; ++shown) {
        h.show(desktop.pixels.data() + static_cast<size_t>(shown) * 4 * 4, desktop.stride);
        ASSERT_TRUE(viewer.readUpdates(30ms, rects));
    }
    // The last picture's unit arrives while the motion lasts.
    ASSERT_TRUE(viewer.readUpdates(100ms, rects));
    const uint8_t *last = desktop.pixels.data() + static_cast<size_t>(shown - 1) * 4 * 4;

    encode::testing::H264TestDecoder decoder;
    encode::testing::DecodedPicture picture;
    int unitsIn = 0;
    int picturesOut = 0;
    for (const ReceivedRect &rect : rects) {
        if (rect.encoding != kH264)
            continue;
        for (const std::vector<uint8_t> &unit : accessUnits(rect.data)) {
            ++unitsIn;
            std::string error;
            ASSERT_TRUE(decoder.decode(unit, picture, error)) << error;
            ++picturesOut;
        }
    }
    ASSERT_GT(unitsIn, 0);
    EXPECT_EQ(picturesOut, unitsIn) << "one picture out per unit in, at once";
    ASSERT_EQ(picture.size, size);
    const double psnr =
        encode::testing::psnr(last, desktop.stride, picture.pixels.data(), size.width * 4, size);
    std::printf("PSNR of the last decoded picture: %.1f dB (%d units)\n", psnr, unitsIn);
    EXPECT_GE(psnr, 32.0);
}

#endif

}  // namespace kvmvnc::rfb
