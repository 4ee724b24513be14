// SPDX-License-Identifier: GPL-2.0-or-later
// Continuous updates (-313, messages 150) and Fence (-312, message 248),
// played by hand against RfbServer on a socketpair.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "kvmvnc/rfb/rfb_server.h"
#include "socket_io.h"

namespace kvmvnc::rfb {

namespace {

constexpr Size kSize{64, 48};
constexpr uint32_t kBlockBefore = 1u << 0;
constexpr uint32_t kSyncNext = 1u << 2;
constexpr uint32_t kRequest = 1u << 31;

using testing::getU16;
using testing::getU32;
using testing::readExactly;
using testing::s32;
using testing::u16;

std::string fence(uint32_t flags, const std::string &payload) {
    return std::string{static_cast<char>(248), 0, 0, 0} + s32(static_cast<int32_t>(flags)) +
           static_cast<char>(payload.size()) + payload;
}

std::string enableContinuous(bool enable, int x, int y, int w, int h) {
    return std::string{static_cast<char>(150), static_cast<char>(enable ? 1 : 0)} + u16(x) +
           u16(y) + u16(w) + u16(h);
}

std::string updateRequest(bool incremental) {
    return std::string{3, static_cast<char>(incremental ? 1 : 0)} + u16(0) + u16(0) +
           u16(kSize.width) + u16(kSize.height);
}

// One viewer on a socketpair, through ServerInit, asking for Raw plus the
// given pseudo-encodings.
class Viewer {
public:
    Viewer(RfbServer &server, std::initializer_list<int32_t> pseudoEncodings) {
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
        std::string encodings{2, 0};
        encodings += u16(static_cast<int>(1 + pseudoEncodings.size())) + s32(0);  // Raw
        for (int32_t encoding : pseudoEncodings)
            encodings += s32(encoding);
        send(encodings);
    }
    int fd() const { return fd_.get(); }
    void send(const std::string &bytes) { ASSERT_TRUE(testing::sendAll(fd(), bytes)); }
    bool readable(std::chrono::milliseconds timeout) const {
        pollfd p{fd(), POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
    }
    // Reads one server message; an update's Raw rectangles are read and
    // dropped. Returns the type (-1 when the connection ended).
    int readMessage() {
        const std::string type = readExactly(fd(), 1);
        if (type.size() != 1)
            return -1;
        const auto t = static_cast<uint8_t>(type[0]);
        if (t == 0) {
            const std::string head = readExactly(fd(), 3);
            for (int i = 0, n = getU16(head, 1); i < n; ++i) {
                const std::string rect = readExactly(fd(), 12);
                if (rect.size() != 12)
                    return -1;
                const auto encoding = static_cast<int32_t>(getU32(rect, 8));
                if (encoding == 0)
                    readExactly(fd(), static_cast<size_t>(getU16(rect, 4)) * getU16(rect, 6) * 4);
            }
        } else if (t == 248) {
            lastFence = readExactly(fd(), 8);
            lastFence += readExactly(fd(), static_cast<uint8_t>(lastFence.back()));
        }
        return t;
    }
    // The next message that is not a FramebufferUpdate (those are skipped).
    int readNonUpdate() {
        int type;
        while ((type = readMessage()) == 0) {
        }
        return type;
    }
    uint32_t lastFenceFlags() const { return getU32(lastFence, 3); }
    std::string lastFencePayload() const { return lastFence.substr(8); }

    std::string lastFence;

private:
    UniqueFd fd_;
};

// Changes the framebuffer and marks it, as the frame pump does.
void change(RfbServer &server, uint8_t value) {
    std::memset(server.framebuffer(), value, static_cast<size_t>(server.stride()) * kSize.height);
    server.markModified({{0, 0, kSize.width, kSize.height}});
}

RfbServerOptions serverOptions() {
    RfbServerOptions options;
    options.initialSize = kSize;
    return options;
}

}  // namespace

TEST(ContinuousUpdatesTest, ListingThePseudoEncodingsBringsAFenceAndEndOfContinuousUpdates) {
    RfbServer server(serverOptions());
    Viewer viewer(server, {-312, -313});
    ASSERT_EQ(viewer.readMessage(), 248) << "a fence request: we do fences";
    EXPECT_EQ(viewer.lastFenceFlags(), kRequest);
    EXPECT_EQ(viewer.readMessage(), 150) << "EndOfContinuousUpdates: we do continuous updates";
}

TEST(ContinuousUpdatesTest, ChangesArriveWithoutRequestsOnceEnabled) {
    RfbServer server(serverOptions());
    Viewer viewer(server, {-312, -313});
    ASSERT_EQ(viewer.readNonUpdate(), 248);
    ASSERT_EQ(viewer.readNonUpdate(), 150);
    viewer.send(updateRequest(false));
    ASSERT_EQ(viewer.readMessage(), 0) << "the first picture, requested";

    change(server, 0x10);
    EXPECT_FALSE(viewer.readable(std::chrono::milliseconds{300}))
        << "no update without a request before continuous updates are on";
    viewer.send(enableContinuous(true, 0, 0, kSize.width, kSize.height));
    ASSERT_EQ(viewer.readMessage(), 0) << "the pending change, unrequested";
    for (uint8_t value : {0x20, 0x30, 0x40}) {
        change(server, value);
        ASSERT_EQ(viewer.readMessage(), 0) << "every change, unrequested";
    }
    EXPECT_FALSE(viewer.readable(std::chrono::milliseconds{200})) << "nothing without a change";

    viewer.send(enableContinuous(false, 0, 0, kSize.width, kSize.height));
    EXPECT_EQ(viewer.readNonUpdate(), 150) << "EndOfContinuousUpdates confirms the stop";
    change(server, 0x60);
    EXPECT_FALSE(viewer.readable(std::chrono::milliseconds{300}))
        << "after EndOfContinuousUpdates, updates need requests again";
    viewer.send(updateRequest(true));
    EXPECT_EQ(viewer.readMessage(), 0);
}

TEST(ContinuousUpdatesTest, OnlyTheEnabledAreaIsSent) {
    RfbServer server(serverOptions());
    Viewer viewer(server, {-313});
    ASSERT_EQ(viewer.readNonUpdate(), 150);
    viewer.send(updateRequest(false));
    ASSERT_EQ(viewer.readMessage(), 0);
    viewer.send(enableContinuous(true, 0, 0, 16, 16));
    std::memset(server.framebuffer() + 40 * server.stride(), 7, 4 * 8);
    server.markModified({{0, 40, 8, 1}});
    EXPECT_FALSE(viewer.readable(std::chrono::milliseconds{300})) << "outside the area";
    server.markModified({{0, 0, 8, 8}});
    EXPECT_EQ(viewer.readMessage(), 0) << "inside it";
}

TEST(ContinuousUpdatesTest, FencesAreAnsweredWithTheirPayloadAndHonouredFlags) {
    RfbServer server(serverOptions());
    Viewer viewer(server, {-312});
    ASSERT_EQ(viewer.readNonUpdate(), 248);
    // TigerVNC's probe: SyncNext without a payload, answered with SyncNext.
    viewer.send(fence(kRequest | kSyncNext, ""));
    ASSERT_EQ(viewer.readNonUpdate(), 248);
    EXPECT_EQ(viewer.lastFenceFlags(), kSyncNext);
    EXPECT_EQ(viewer.lastFencePayload(), "");
    viewer.send(fence(kRequest | kBlockBefore | (1u << 7), "ping"));
    ASSERT_EQ(viewer.readNonUpdate(), 248);
    EXPECT_EQ(viewer.lastFenceFlags(), kBlockBefore) << "unknown flags are not claimed";
    EXPECT_EQ(viewer.lastFencePayload(), "ping");
    viewer.send(fence(kBlockBefore, "answer"));  // not a request: no answer
    viewer.send(fence(kRequest, "last"));
    ASSERT_EQ(viewer.readNonUpdate(), 248);
    EXPECT_EQ(viewer.lastFencePayload(), "last");
}

TEST(ContinuousUpdatesTest, ASyncNextFenceWithAPayloadHoldsUpdatesUntilTheViewerAsksAgain) {
    RfbServer server(serverOptions());
    Viewer viewer(server, {-312, -313});
    ASSERT_EQ(viewer.readNonUpdate(), 248);
    ASSERT_EQ(viewer.readNonUpdate(), 150);
    viewer.send(updateRequest(false));
    ASSERT_EQ(viewer.readMessage(), 0);
    viewer.send(enableContinuous(true, 0, 0, kSize.width, kSize.height));
    change(server, 1);
    ASSERT_EQ(viewer.readMessage(), 0);

    // TigerVNC's pixel format change: fence, SetPixelFormat, request.
    viewer.send(fence(kRequest | kBlockBefore | kSyncNext, std::string(16, 'p')));
    ASSERT_EQ(viewer.readNonUpdate(), 248);
    EXPECT_EQ(viewer.lastFenceFlags(), kBlockBefore | kSyncNext);
    change(server, 2);
    EXPECT_FALSE(viewer.readable(std::chrono::milliseconds{300}))
        << "nothing between the answer and the viewer's next request";
    viewer.send(updateRequest(true));
    ASSERT_EQ(viewer.readMessage(), 0);
    change(server, 3);
    EXPECT_EQ(viewer.readMessage(), 0) << "continuous again";
}

TEST(ContinuousUpdatesTest, MessagesBeforeAgreementOrOversizedFencesCloseOnlyThatViewer) {
    RfbServer server(serverOptions());
    Viewer bystander(server, {-312, -313});
    ASSERT_EQ(bystander.readNonUpdate(), 248);
    ASSERT_EQ(bystander.readNonUpdate(), 150);
    {
        Viewer early(server, {});
        early.send(enableContinuous(true, 0, 0, 8, 8));
        EXPECT_EQ(early.readNonUpdate(), -1) << "EnableContinuousUpdates before -313: closed";
    }
    {
        Viewer oversized(server, {-312});
        ASSERT_EQ(oversized.readNonUpdate(), 248);
        oversized.send(fence(kRequest, std::string(65, 'x')));
        EXPECT_EQ(oversized.readNonUpdate(), -1) << "a fence over 64 bytes: closed";
    }
    bystander.send(fence(kRequest, "still here"));
    ASSERT_EQ(bystander.readNonUpdate(), 248);
    EXPECT_EQ(bystander.lastFencePayload(), "still here");
}

}  // namespace kvmvnc::rfb
