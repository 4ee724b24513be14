// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/rfb_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "socket_io.h"
#include "wait_until.h"

namespace kvmvnc::rfb {

namespace {

RfbServerOptions options(int maxClients = 16) {
    RfbServerOptions options;
    options.desktopName = "rack 4";
    options.initialSize = {64, 48};
    options.maxClients = maxClients;
    return options;
}

using testing::readExactly;

void sendAll(int fd, const std::string &bytes) { ASSERT_TRUE(testing::sendAll(fd, bytes)); }

// Adopts one end of a socketpair; returns the other, the "client".
UniqueFd adoptOne(RfbServer &server, bool &adopted, bool viewOnly = false) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    testing::setReceiveTimeout(pair[1], 5);
    adopted = server.adopt(UniqueFd(pair[0]),
                           door::ViewerIdentity{"192.0.2.9", "alice", viewOnly, "X509Plain"});
    return UniqueFd(pair[1]);
}

bool waitForClients(const RfbServer &server, int count) {
    return testing::waitUntil([&] { return server.clientCount() == count; },
                              std::chrono::seconds{5});
}

}  // namespace

TEST(RfbServerTest, AnAdoptedConnectionIsServedWithoutAuthentication) {
    RfbServer server(options());
    bool adopted = false;
    UniqueFd client = adoptOne(server, adopted);
    ASSERT_TRUE(adopted);
    EXPECT_EQ(readExactly(client.get(), 12), "RFB 003.008\n");
    sendAll(client.get(), "RFB 003.008\n");
    EXPECT_EQ(readExactly(client.get(), 2), std::string("\x01\x01", 2)) << "None, only";
    sendAll(client.get(), "\x01");
    EXPECT_EQ(readExactly(client.get(), 4), std::string(4, '\0'));
    sendAll(client.get(), "\x01");  // ClientInit, shared
    const std::string init = readExactly(client.get(), 24);
    ASSERT_EQ(init.size(), 24u);
    EXPECT_EQ(static_cast<uint8_t>(init[1]), 64) << "width";
    EXPECT_EQ(static_cast<uint8_t>(init[3]), 48) << "height";
    const uint32_t nameLength = static_cast<uint8_t>(init[23]);
    EXPECT_EQ(readExactly(client.get(), nameLength), "rack 4");
    EXPECT_TRUE(waitForClients(server, 1));
    client.reset();
    EXPECT_TRUE(waitForClients(server, 0)) << "a closed connection is a viewer gone";
}

// A viewer that stopped reading in the middle of a large update holds its
// output thread in write(); the server going away must not wait out
// libvncserver's 20 s write timeout for it (it takes one 5 s wait in
// libvncserver's write loop while this peer keeps its end open).
TEST(RfbServerTest, GoesAwayPromptlyWithAViewerThatStoppedReading) {
    RfbServerOptions large = options();
    large.initialSize = {1920, 1080};
    auto server = std::make_unique<RfbServer>(large);
    bool adopted = false;
    UniqueFd client = adoptOne(*server, adopted);
    ASSERT_TRUE(adopted);
    ASSERT_EQ(readExactly(client.get(), 12), "RFB 003.008\n");
    sendAll(client.get(), "RFB 003.008\n");
    ASSERT_EQ(readExactly(client.get(), 2), std::string("\x01\x01", 2));
    sendAll(client.get(), "\x01");
    ASSERT_EQ(readExactly(client.get(), 4), std::string(4, '\0'));
    sendAll(client.get(), "\x01");
    const std::string init = readExactly(client.get(), 24);
    ASSERT_EQ(init.size(), 24u);
    ASSERT_EQ(readExactly(client.get(), static_cast<uint8_t>(init[23])).size(),
              static_cast<size_t>(static_cast<uint8_t>(init[23])));
    // The whole 1920x1080 screen in Raw: 8 MB against a socket buffer of a
    // few hundred KB, and this viewer reads none of it.
    sendAll(client.get(), std::string("\x03\x00\x00\x00\x00\x00\x07\x80\x04\x38", 10));
    ASSERT_TRUE(waitForClients(*server, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds{300});

    const auto start = std::chrono::steady_clock::now();
    server.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{15});
}

TEST(RfbServerTest, ViewersBeyondTheLimitAreRefused) {
    RfbServer server(options(1));
    bool adopted = false;
    UniqueFd first = adoptOne(server, adopted);
    ASSERT_TRUE(adopted);
    UniqueFd second = adoptOne(server, adopted);
    EXPECT_FALSE(adopted);
    char byte;
    // The refused connection's other end sees it closed (after the version
    // libvncserver writes first).
    EXPECT_EQ(readExactly(second.get(), 12), "RFB 003.008\n");
    EXPECT_EQ(::recv(second.get(), &byte, 1, 0), 0);
    server.setMaxClients(2);
    UniqueFd third = adoptOne(server, adopted);
    EXPECT_TRUE(adopted) << "a raised limit applies at once";
}

TEST(RfbServerTest, DesktopNameChangesAndKeepsTheKeyboardNote) {
    RfbServer server(options());
    EXPECT_EQ(server.desktopName(), "rack 4");
    server.setDesktopName("rack 5");
    EXPECT_EQ(server.desktopName(), "rack 5");
    server.setHostListening(false);
    EXPECT_EQ(server.desktopName(), "rack 5 (keyboard not connected)");
    server.setDesktopName("rack 6");
    EXPECT_EQ(server.desktopName(), "rack 6 (keyboard not connected)");
}

}  // namespace kvmvnc::rfb
