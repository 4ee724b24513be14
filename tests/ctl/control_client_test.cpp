// SPDX-License-Identifier: GPL-2.0-or-later
// ControlClient against servers played by hand on loopback: what a server
// sends is bounded before it is believed, and a password goes only where it
// may.
#include "kvmvnc/ctl/control_client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "fake_server.h"
#include "kvmvnc/control/protocol.h"
#include "kvmvnc/door/rfb_security.h"
#include "kvmvnc/door/tls.h"

namespace kvmvnc::ctl {
namespace {

using testing::FakeServer;
using testing::greetWithoutPassword;
using testing::helloMessage;
using testing::readExactly;
using testing::sendAll;
using testing::u32;
using testing::waitForClose;

ConnectOptions optionsFor(const FakeServer &server) {
    ConnectOptions options;
    options.port = server.port();
    options.timeoutSeconds = 5;
    return options;
}

TEST(ControlClientTest, ClipboardTextUpToTheBoundIsSkipped) {
    FakeServer server([](int fd) {
        ASSERT_TRUE(greetWithoutPassword(fd));
        // The extended clipboard's form (a negative length: 8 bytes), then
        // 1 MiB of plain text, then the control protocol's hello.
        ASSERT_TRUE(sendAll(
            fd, std::string("\x03\x00\x00\x00", 4) + u32(0xfffffff8) + std::string(8, 'x')));
        ASSERT_TRUE(sendAll(
            fd, std::string("\x03\x00\x00\x00", 4) + u32(1 << 20) + std::string(1 << 20, 'y')));
        ASSERT_TRUE(sendAll(fd, helloMessage()));
        waitForClose(fd);
    });
    ControlClient client;
    EXPECT_TRUE(client.connect(optionsFor(server))) << client.error();
}

TEST(ControlClientTest, OversizedClipboardTextClosesTheConnection) {
    FakeServer server([](int fd) {
        ASSERT_TRUE(greetWithoutPassword(fd));
        // One byte over the bound, all of it sent: a client that took it
        // would go on waiting for the hello.
        sendAll(fd, std::string("\x03\x00\x00\x00", 4) + u32((1 << 20) + 1) +
                        std::string((1 << 20) + 1, 'z'));
        waitForClose(fd);
    });
    ControlClient client;
    EXPECT_FALSE(client.connect(optionsFor(server)));
    EXPECT_EQ(client.error(),
              "the server sent 1048577 bytes of clipboard, more than the 1 MiB "
              "kvmvncctl takes");
}

TEST(ControlClientTest, AnnouncedClipboardTextIsNotAllocated) {
    FakeServer server([](int fd) {
        ASSERT_TRUE(greetWithoutPassword(fd));
        // 2 GiB announced, in the extended clipboard's form; none sent.
        sendAll(fd, std::string("\x03\x00\x00\x00", 4) + u32(0x80000000));
        waitForClose(fd);
    });
    ControlClient client;
    EXPECT_FALSE(client.connect(optionsFor(server)));
    EXPECT_NE(client.error().find("2147483648 bytes of clipboard"), std::string::npos)
        << client.error();
}

// A password offered where nothing checks who the server is: it stays
// home unless allowUnverified says otherwise.
class UnverifiedServerTest : public ::testing::TestWithParam<bool> {
protected:
    ConnectOptions optionsWithPassword(const FakeServer &server) {
        ConnectOptions options = optionsFor(server);
        options.password = "fullpass";
        options.allowUnverified = GetParam();
        options.notice = [this](const std::string &text) { notices_ += text + "\n"; };
        return options;
    }
    void expectOutcome(const ControlClient &client, bool connected, size_t responseBytes,
                       const std::string &how) {
        if (GetParam()) {
            EXPECT_EQ(responseBytes, 16u) << "the VNC response";
            EXPECT_NE(notices_.find("warning: the password goes to 127.0.0.1:"), std::string::npos)
                << notices_;
            EXPECT_NE(notices_.find(how), std::string::npos) << notices_;
        } else {
            EXPECT_FALSE(connected);
            EXPECT_EQ(responseBytes, 0u) << "the password was sent";
            EXPECT_NE(client.error().find("offered no login whose certificate can be checked, "
                                          "only " +
                                          how + ": the password was not sent"),
                      std::string::npos)
                << client.error();
        }
    }

    std::string notices_;
};

TEST_P(UnverifiedServerTest, VncAuthenticationWithoutTls) {
    size_t responseBytes = 0;
    FakeServer server([&](int fd) {
        ASSERT_TRUE(sendAll(fd, "RFB 003.008\n"));
        ASSERT_EQ(readExactly(fd, 12).size(), 12u);
        ASSERT_TRUE(sendAll(fd, std::string("\x01\x02", 2)));
        ASSERT_EQ(readExactly(fd, 1), "\x02");
        ASSERT_TRUE(sendAll(fd, std::string(16, 'c')));  // the challenge
        responseBytes = readExactly(fd, 16).size();
        sendAll(fd, u32(1) + u32(6) + "failed");
        waitForClose(fd);
    });
    ControlClient client;
    const bool connected = client.connect(optionsWithPassword(server));
    expectOutcome(client, connected, responseBytes, "VNC authentication without TLS");
}

TEST_P(UnverifiedServerTest, AnonymousTls) {
    const std::string dir = ::testing::TempDir() + "/kvmvnc-anon-tls-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir);
    const door::TlsServer tls(door::ensureSelfSignedCertificate(dir));
    size_t responseBytes = 0;
    FakeServer server([&](int fd) {
        using door::subtype::kTlsVnc;
        ASSERT_TRUE(sendAll(fd, "RFB 003.008\n"));
        ASSERT_EQ(readExactly(fd, 12).size(), 12u);
        ASSERT_TRUE(sendAll(fd, std::string("\x01\x13", 2)));  // VeNCrypt
        ASSERT_EQ(readExactly(fd, 1), "\x13");
        ASSERT_TRUE(sendAll(fd, std::string("\x00\x02", 2)));
        ASSERT_EQ(readExactly(fd, 2), std::string("\x00\x02", 2));
        ASSERT_TRUE(sendAll(fd, std::string("\x00\x01", 2) + u32(kTlsVnc)));
        ASSERT_EQ(readExactly(fd, 4), u32(kTlsVnc));
        ASSERT_TRUE(sendAll(fd, "\x01"));
        const auto deadline = door::Clock::now() + std::chrono::seconds(5);
        door::TlsTransport session(tls.anonymousContext(),
                                   std::make_unique<door::SocketTransport>(UniqueFd(::dup(fd))));
        try {
            session.handshake(deadline);
            const std::vector<uint8_t> challenge(16, 'c');
            door::writeAll(session, challenge, deadline);
            std::vector<uint8_t> response(16);
            door::readExact(session, response, deadline);
            responseBytes = response.size();
        } catch (const door::HandshakeError &) {
        }
    });
    ControlClient client;
    const bool connected = client.connect(optionsWithPassword(server));
    expectOutcome(client, connected, responseBytes, "anonymous TLS (TLSVnc)");
    std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Insecure, UnverifiedServerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool> &param) {
                             return param.param ? "Allowed" : "Refused";
                         });

// Given a password, the user expects to log in: a server that asks for none
// and whose certificate nobody checked may be a man in the middle waiting
// for what comes next.
TEST(ControlClientTest, AServerThatAsksNoPasswordIsRefusedWhenOneWasGiven) {
    FakeServer server([](int fd) {
        EXPECT_FALSE(greetWithoutPassword(fd)) << "the client went on after ServerInit";
    });
    ControlClient client;
    ConnectOptions options = optionsFor(server);
    options.password = "fullpass";
    EXPECT_FALSE(client.connect(options));
    EXPECT_NE(client.error().find("asked for no password and its certificate was not checked"),
              std::string::npos)
        << client.error();
}

TEST(ControlClientTest, AServerThatAsksNoPasswordMayBeAllowed) {
    FakeServer server([](int fd) {
        ASSERT_TRUE(greetWithoutPassword(fd));
        ASSERT_TRUE(sendAll(fd, helloMessage()));
        waitForClose(fd);
    });
    ControlClient client;
    ConnectOptions options = optionsFor(server);
    options.password = "fullpass";
    options.allowUnverified = true;
    EXPECT_TRUE(client.connect(options)) << client.error();
}

}  // namespace
}  // namespace kvmvnc::ctl
