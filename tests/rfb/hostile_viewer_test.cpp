// SPDX-License-Identifier: GPL-2.0-or-later
// What one viewer can do to the daemon and to the other viewers, played by
// hand against RfbServer behind the real front door (which runs every
// viewer's bytes through its ClientMessageFilter, as in kvmvncd): format
// and encoding churn under resolution changes, server-side scaling, a
// view-only viewer holding a button, and a viewer that stopped reading.
// Run under AddressSanitizer in CI, where a race that does not crash here
// still fails.
#include <gtest/gtest.h>
#include <poll.h>
#include <rfb/rfb.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/door/front_door.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "socket_io.h"
#include "wait_until.h"

namespace kvmvnc::rfb {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::getU16;
using testing::getU32;
using testing::readExactly;
using testing::s32;
using testing::u16;

const std::string kFullPassword = "fullpass";
const std::string kViewOnlyPassword = "viewpass";
constexpr auto kStallLimit = 1500ms;

std::string setEncodings(std::initializer_list<int32_t> encodings) {
    std::string message = std::string{2, 0} + u16(static_cast<int>(encodings.size()));
    for (int32_t encoding : encodings)
        message += s32(encoding);
    return message;
}

std::string updateRequest(bool incremental, Size size) {
    return std::string{3, static_cast<char>(incremental ? 1 : 0)} + u16(0) + u16(0) +
           u16(size.width) + u16(size.height);
}

std::string pointer(int buttons, int x, int y) {
    return std::string{5, static_cast<char>(buttons)} + u16(x) + u16(y);
}

// 32-bit XRGB like the server's, or 8-bit BGR233.
std::string pixelFormat(bool eightBit) {
    std::string message{0, 0, 0, 0};
    if (eightBit)
        message += std::string{8, 8, 0, 1} + u16(7) + u16(7) + u16(3) + std::string{0, 3, 6};
    else
        message +=
            std::string{32, 24, 0, 1} + u16(255) + u16(255) + u16(255) + std::string{16, 8, 0};
    return message + std::string(3, '\0');
}

constexpr int32_t kRaw = 0, kCopyRect = 1, kRre = 2, kCoRre = 4, kHextile = 5, kZlib = 6,
                  kTight = 7, kUltra = 9, kZrle = 16;
constexpr int32_t kDesktopSize = -223, kExtendedDesktopSize = -308, kLedState = -261,
                  kDesktopName = -307, kFence = -312, kContinuousUpdates = -313;
constexpr int32_t kQualityLevel5 = -27;

// One client of the front door, played by hand.
class Client {
public:
    // Logs in with `password` (VNC authentication) through ServerInit.
    bool login(int port, const std::string &password) {
        fd_ = testing::connectLoopback(port);
        if (!fd_.isValid() || readExactly(fd(), 12) != "RFB 003.008\n" || !send("RFB 003.008\n"))
            return false;
        const std::string count = readExactly(fd(), 1);
        if (count.size() != 1 || readExactly(fd(), static_cast<uint8_t>(count[0])).empty() ||
            !send("\x02"))
            return false;
        std::string challenge = readExactly(fd(), 16);
        if (challenge.size() != 16)
            return false;
        std::string key = password;
        rfbEncryptBytes(reinterpret_cast<unsigned char *>(challenge.data()), key.data());
        if (!send(challenge) || readExactly(fd(), 4) != std::string(4, '\0') || !send("\x01"))
            return false;
        const std::string init = readExactly(fd(), 24);
        if (init.size() != 24)
            return false;
        size_ = {getU16(init, 0), getU16(init, 2)};
        return readExactly(fd(), getU32(init, 20)).size() == getU32(init, 20);
    }
    int fd() const { return fd_.get(); }
    Size size() const { return size_; }
    bool send(const std::string &bytes) { return testing::sendAll(fd(), bytes); }

    // Reads and drops everything on a thread of its own until stopped.
    void drain() {
        draining_ = true;
        drainer_ = std::thread([this] {
            char buffer[65536];
            while (draining_.load()) {
                pollfd p{fd(), POLLIN, 0};
                if (::poll(&p, 1, 50) > 0 && ::recv(fd(), buffer, sizeof(buffer), 0) <= 0)
                    return;
            }
        });
    }
    ~Client() {
        draining_ = false;
        if (drainer_.joinable())
            drainer_.join();
    }

    // Whether the server closed the connection within `timeout` (what it
    // sends meanwhile is read and dropped).
    bool closedWithin(std::chrono::milliseconds timeout) {
        const auto until = Clock::now() + timeout;
        char buffer[65536];
        while (Clock::now() < until) {
            pollfd p{fd(), POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                const ssize_t n = ::recv(fd(), buffer, sizeof(buffer), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN))
                    return true;
            }
        }
        return false;
    }

    // The next FramebufferUpdate's rectangles (Raw ones are read into
    // `pixels`, 32-bit); false on anything else or a timeout.
    struct Rect {
        int x, y, width, height;
        int32_t encoding;
    };
    bool readUpdate(std::vector<Rect> &rects, std::string *pixels = nullptr) {
        testing::setReceiveTimeout(fd(), 5);
        const std::string head = readExactly(fd(), 4);
        if (head.size() != 4 || head[0] != 0)
            return false;
        rects.clear();
        for (int i = 0, n = getU16(head, 2); i < n; ++i) {
            const std::string r = readExactly(fd(), 12);
            if (r.size() != 12)
                return false;
            Rect rect{getU16(r, 0), getU16(r, 2), getU16(r, 4), getU16(r, 6),
                      static_cast<int32_t>(getU32(r, 8))};
            if (rect.encoding == kRaw) {
                const size_t bytes = static_cast<size_t>(rect.width) * rect.height * 4;
                const std::string data = readExactly(fd(), bytes);
                if (data.size() != bytes)
                    return false;
                if (pixels)
                    *pixels += data;
            } else if (rect.encoding != kDesktopSize && rect.encoding != kExtendedDesktopSize) {
                return false;
            }
            rects.push_back(rect);
        }
        return true;
    }

private:
    UniqueFd fd_;
    Size size_;
    std::atomic<bool> draining_{false};
    std::thread drainer_;
};

class RecordingInput : public RfbInputHandler {
public:
    void keysymEvent(uint64_t, bool, uint32_t) override {}
    void scancodeEvent(uint64_t, bool, uint32_t, uint32_t) override {}
    void pointerEvent(uint64_t, uint8_t buttons, int x, int y, Size) override {
        std::lock_guard lock(mutex_);
        pointer_.push_back({x, y, buttons});
    }
    void viewerLeft(uint64_t) override {}
    struct Event {
        int x, y, buttons;
    };
    bool sawPointerAt(int x, int y, std::chrono::milliseconds timeout) {
        return testing::waitUntil(
            [&] {
                std::lock_guard lock(mutex_);
                return std::any_of(pointer_.begin(), pointer_.end(), [&](const Event &event) {
                    return event.x == x && event.y == y;
                });
            },
            timeout);
    }

private:
    std::mutex mutex_;
    std::vector<Event> pointer_;
};

class HostileViewerTest : public ::testing::Test {
protected:
    void start(Size size) {
        RfbServerOptions options;
        options.initialSize = size;
        options.input = &input_;
        options.stallTimeout = kStallLimit;
        server_ = std::make_unique<RfbServer>(options);
        door::FrontDoorOptions doorOptions;
        doorOptions.listen = "127.0.0.1";
        doorOptions.port = 0;
        doorOptions.policy.allowUnencrypted = true;
        auto credentials = std::make_shared<door::Credentials>();
        credentials->vnc = door::VncPasswords{kFullPassword, kViewOnlyPassword};
        doorOptions.credentials = credentials;
        doorOptions.stallTimeout = kStallLimit;
        doorOptions.handoff = [this](UniqueFd fd, const door::ViewerIdentity &viewer) {
            return server_->adopt(std::move(fd), viewer);
        };
        door_ = std::make_unique<door::FrontDoor>(std::move(doorOptions));
    }
    void TearDown() override {
        door_.reset();
        server_.reset();
    }

    // As the frame pump does: new pixels, then the mark.
    void paint(uint32_t seed) {
        const Size size = server_->size();
        auto *pixels = reinterpret_cast<uint32_t *>(server_->framebuffer());
        for (int i = 0; i < size.width * size.height; ++i)
            pixels[i] = (static_cast<uint32_t>(i) * 2654435761u + seed) & 0xffffff;
        server_->markModified({{0, 0, size.width, size.height}});
    }

    bool waitForClients(int count, std::chrono::milliseconds timeout = 5s) {
        return testing::waitUntil([&] { return server_->clientCount() == count; }, timeout);
    }

    // A new full viewer receives the framebuffer exactly (Raw, 32 bits).
    void expectAFreshViewerSeesThePicture() {
        Client fresh;
        ASSERT_TRUE(fresh.login(door_->port(), kFullPassword));
        const Size size = server_->size();
        ASSERT_EQ(fresh.size(), size);
        paint(7);
        ASSERT_TRUE(fresh.send(setEncodings({kRaw}) + updateRequest(false, size)));
        std::vector<Client::Rect> rects;
        std::string pixels;
        ASSERT_TRUE(fresh.readUpdate(rects, &pixels));
        std::string expected;
        for (const Client::Rect &rect : rects)
            for (int y = rect.y; y < rect.y + rect.height; ++y)
                expected.append(reinterpret_cast<const char *>(server_->framebuffer()) +
                                    (static_cast<size_t>(y) * size.width + rect.x) * 4,
                                static_cast<size_t>(rect.width) * 4);
        EXPECT_EQ(pixels.size(), static_cast<size_t>(size.width) * size.height * 4);
        EXPECT_TRUE(pixels == expected) << "the picture a new viewer gets is the framebuffer";
    }

    RecordingInput input_;
    std::unique_ptr<RfbServer> server_;
    std::unique_ptr<door::FrontDoor> door_;
};

}  // namespace

// libvncserver records the viewer holding a button before it checks
// view-only; every other viewer's pointer was then ignored until it left.
TEST_F(HostileViewerTest, AViewOnlyViewerHoldingAButtonFreezesNoOnesPointer) {
    start({640, 480});
    Client watcher;
    Client worker;
    ASSERT_TRUE(watcher.login(door_->port(), kViewOnlyPassword));
    ASSERT_TRUE(worker.login(door_->port(), kFullPassword));
    // The press, then a picture: once the picture is here, the press was
    // handled (messages are handled in order) before the worker moves.
    ASSERT_TRUE(
        watcher.send(setEncodings({kRaw}) + pointer(1, 5, 5) + updateRequest(false, {640, 480})));
    std::vector<Client::Rect> rects;
    ASSERT_TRUE(watcher.readUpdate(rects));
    ASSERT_TRUE(worker.send(setEncodings({kRaw}) + pointer(0, 100, 120) + pointer(1, 101, 121)));
    EXPECT_TRUE(input_.sawPointerAt(100, 120, 5s)) << "the full viewer's pointer arrives";
    EXPECT_TRUE(input_.sawPointerAt(101, 121, 5s));
}

// libvncserver 0.9.14 changes a viewer's pixel format on its input thread
// while its output thread encodes: SIGSEGV within seconds with Raw, SIGABRT
// with Hextile - from a view-only login.
TEST_F(HostileViewerTest, PixelFormatChurnFromAViewOnlyViewerCrashesNothing) {
    start({320, 200});
    for (int32_t encoding : {kRaw, kHextile, kZrle, kTight}) {
        Client churner;
        ASSERT_TRUE(churner.login(door_->port(), kViewOnlyPassword));
        churner.drain();
        ASSERT_TRUE(churner.send(setEncodings({encoding, kCopyRect})));
        std::atomic<bool> churning{true};
        std::thread producer([&] {
            for (uint32_t seed = 0; churning.load(); ++seed) {
                paint(seed);
                std::this_thread::sleep_for(2ms);
            }
        });
        const auto until = Clock::now() + 700ms;
        for (bool eightBit = true; Clock::now() < until; eightBit = !eightBit)
            if (!churner.send(pixelFormat(eightBit) + updateRequest(false, {320, 200})))
                break;
        churning = false;
        producer.join();
        EXPECT_EQ(server_->clientCount(), 1) << "encoding " << encoding << ": still served";
    }
    ASSERT_TRUE(waitForClients(0));
    expectAFreshViewerSeesThePicture();
}

// SetEncodings also used to change encoder state under a running encoder,
// and met resolution changes there (SIGFPE, double free).
TEST_F(HostileViewerTest, EncodingChurnAcrossResolutionChangesCrashesNothing) {
    start({640, 480});
    {
        Client churner;
        ASSERT_TRUE(churner.login(door_->port(), kFullPassword));
        churner.drain();
        std::atomic<bool> churning{true};
        std::thread producer([&] {
            const Size sizes[] = {{1920, 1080}, {720, 400}, {64, 48}, {1024, 768}, {2560, 1440}};
            for (uint32_t round = 0; churning.load(); ++round) {
                server_->resize(sizes[round % 5]);
                paint(round);
                std::this_thread::sleep_for(5ms);
            }
        });
        const int32_t encodings[] = {kRaw, kHextile, kZrle, kTight, kZlib, kCoRre, kRre, kUltra};
        const auto until = Clock::now() + 1500ms;
        for (int round = 0; Clock::now() < until; ++round) {
            const std::string message =
                setEncodings({encodings[round % 8], kQualityLevel5, kDesktopSize,
                              kExtendedDesktopSize, kCopyRect}) +
                pixelFormat(round % 3 == 0) + updateRequest(round % 2 == 0, {2560, 1440});
            if (!churner.send(message))
                break;
        }
        churning = false;
        producer.join();
        EXPECT_EQ(server_->clientCount(), 1) << "the churning viewer is still served";
    }
    server_->resize({320, 200});
    ASSERT_TRUE(waitForClients(0));
    expectAFreshViewerSeesThePicture();
}

// Scaling made libvncserver keep a scaled copy whose size it divides by at
// the next resolution change. It is not offered: the request is dropped,
// the viewer (without DesktopSize) is closed at its next picture, nothing
// crashes.
TEST_F(HostileViewerTest, ScalingRequestsThenAResizeCrashNothing) {
    start({1920, 1080});
    Client scaler;
    ASSERT_TRUE(scaler.login(door_->port(), kViewOnlyPassword));
    ASSERT_TRUE(scaler.send(std::string{8, 3, 0, 0} + std::string{15, 2, 0, 0} +
                            updateRequest(true, {1920, 1080})));
    std::this_thread::sleep_for(200ms);
    server_->resize({720, 400});
    paint(1);
    server_->resize({7, 3});
    paint(2);
    // Its first picture went out before the resizes; it asks again.
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(scaler.send(updateRequest(true, {1920, 1080})));
    const bool closed = scaler.closedWithin(5s);  // reads all it is sent: no stall
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(closed);
    EXPECT_NE(log.find("cannot follow the resolution change"), std::string::npos) << log;
    server_->resize({320, 200});
    expectAFreshViewerSeesThePicture();
}

// A picture request starting at the screen's right or bottom edge is
// clipped by libvncserver to zero width or height, and its region code
// keeps such a rectangle: with Zlib, Ultra or CoRRE it then divided by the
// zero width (SIGFPE, found by the fuzzer; its input is in the corpus). Such
// a request now asks for the one pixel inside the edge, and no update ever
// holds an empty rectangle.
TEST_F(HostileViewerTest, APictureRequestAtTheEdgeAsksForAPixelInside) {
    start({320, 200});
    paint(3);
    Client viewer;
    ASSERT_TRUE(viewer.login(door_->port(), kViewOnlyPassword));
    ASSERT_TRUE(viewer.send(setEncodings({kRaw})));
    const struct {
        int x, y, width, height;
        Client::Rect expected;
    } requests[] = {
        {320, 0, 10, 10, {319, 0, 1, 1, kRaw}},
        {0, 200, 10, 10, {0, 199, 1, 1, kRaw}},
        {5, 5, 0, 0, {5, 5, 1, 1, kRaw}},
    };
    for (const auto &request : requests) {
        ASSERT_TRUE(viewer.send(std::string{3, 0} + u16(request.x) + u16(request.y) +
                                u16(request.width) + u16(request.height)));
        std::vector<Client::Rect> rects;
        std::string pixels;
        ASSERT_TRUE(viewer.readUpdate(rects, &pixels));
        ASSERT_EQ(rects.size(), 1u);
        EXPECT_EQ(rects[0].x, request.expected.x);
        EXPECT_EQ(rects[0].y, request.expected.y);
        EXPECT_EQ(rects[0].width, 1);
        EXPECT_EQ(rects[0].height, 1);
    }
}

// A control connection (kvmvncctl) asks for no picture; a resolution change
// (the target rebooting) must not close it half-way through a paste. A
// viewer that asked for pictures and cannot follow is closed.
TEST_F(HostileViewerTest, AResizeClosesOnlyViewersThatCannotFollowIt) {
    start({1024, 768});
    Client control;
    Client oldViewer;
    Client viewer;
    ASSERT_TRUE(control.login(door_->port(), kFullPassword));
    ASSERT_TRUE(oldViewer.login(door_->port(), kFullPassword));
    ASSERT_TRUE(viewer.login(door_->port(), kFullPassword));
    ASSERT_TRUE(control.send(setEncodings({kRaw, 0x4B564D01})));
    ASSERT_TRUE(oldViewer.send(setEncodings({kRaw}) + updateRequest(false, {1024, 768})));
    ASSERT_TRUE(
        viewer.send(setEncodings({kRaw, kDesktopSize}) + updateRequest(false, {1024, 768})));
    std::vector<Client::Rect> rects;
    ASSERT_TRUE(oldViewer.readUpdate(rects));
    ASSERT_TRUE(viewer.readUpdate(rects));
    ASSERT_TRUE(oldViewer.send(updateRequest(true, {1024, 768})));
    ASSERT_TRUE(viewer.send(updateRequest(true, {1024, 768})));
    std::this_thread::sleep_for(100ms);

    server_->resize({720, 400});
    ASSERT_TRUE(viewer.readUpdate(rects));
    ASSERT_EQ(rects.size(), 1u);
    EXPECT_EQ(rects[0].encoding, kDesktopSize);
    EXPECT_EQ(rects[0].width, 720);
    EXPECT_TRUE(oldViewer.closedWithin(5s)) << "no DesktopSize: it would draw the wrong size";
    EXPECT_FALSE(control.closedWithin(500ms)) << "a control connection is not a viewer";
    EXPECT_TRUE(waitForClients(2));
}

// A viewer that stopped reading (a frozen laptop) in the middle of a large
// update, with a fence answer and pushes waiting: the producer's resize and
// marks, the LED and name pushes, and the other viewers never wait for it;
// after the stall limit it is disconnected.
TEST_F(HostileViewerTest, NothingWaitsForAViewerThatStoppedReading) {
    start({1920, 1080});
    Client frozen;
    Client other;
    ASSERT_TRUE(frozen.login(door_->port(), kViewOnlyPassword));
    ASSERT_TRUE(other.login(door_->port(), kFullPassword));
    paint(1);
    ASSERT_TRUE(frozen.send(
        setEncodings({kRaw, kDesktopSize, kLedState, kDesktopName, kFence, kContinuousUpdates}) +
        updateRequest(false, {1920, 1080})));
    std::this_thread::sleep_for(300ms);  // its 8 MB update fills every buffer on the way
    ASSERT_TRUE(frozen.send(std::string{static_cast<char>(150), 1} + u16(0) + u16(0) + u16(1920) +
                            u16(1080) + std::string{static_cast<char>(248), 0, 0, 0} +
                            s32(0x80000001) + std::string{0}));
    std::this_thread::sleep_for(300ms);  // its fence answer waits behind the update
    ASSERT_TRUE(other.send(setEncodings({kRaw, kDesktopSize})));

    const auto before = Clock::now();
    server_->resize({1280, 720});
    for (uint32_t i = 0; i < 5; ++i)
        paint(i);
    server_->setKeyboardLeds(2);
    server_->setDesktopName("rack 7");
    const auto took = Clock::now() - before;
    EXPECT_LT(took, 1s) << "the producer and the pushes waited "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms for a viewer that reads nothing";

    ASSERT_TRUE(other.send(updateRequest(false, {1280, 720})));
    std::vector<Client::Rect> rects;
    ASSERT_TRUE(other.readUpdate(rects)) << "the other viewer is served meanwhile";
    EXPECT_EQ(rects[0].encoding, kDesktopSize);
    ASSERT_TRUE(other.send(updateRequest(false, {1280, 720})));
    ASSERT_TRUE(other.readUpdate(rects));

    // The relay's stall limit, not libvncserver's own write timeout (a
    // minute), lets it go.
    EXPECT_TRUE(waitForClients(1, kStallLimit + 2s)) << "the frozen viewer is let go";
}

}  // namespace kvmvnc::rfb
