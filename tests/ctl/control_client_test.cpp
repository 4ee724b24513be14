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

#include "kvmvnc/control/protocol.h"
#include "kvmvnc/door/rfb_security.h"
#include "kvmvnc/door/tls.h"
#include "socket_io.h"

namespace kvmvnc::ctl {
namespace {

using testing::readExactly;
using testing::sendAll;

std::string u32(uint32_t value) {
    return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
            static_cast<char>(value >> 8), static_cast<char>(value)};
}

// One connection on a loopback port, served by `script` on its own thread.
class FakeServer {
public:
    explicit FakeServer(std::function<void(int fd)> script) {
        listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (::bind(listener_.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0 ||
            ::listen(listener_.get(), 1) != 0 ||
            ::getsockname(listener_.get(), reinterpret_cast<sockaddr *>(&address), &length) != 0)
            throw std::runtime_error("cannot listen on loopback");
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this, script = std::move(script)] {
            pollfd ready{listener_.get(), POLLIN, 0};
            if (::poll(&ready, 1, 10000) != 1)
                return;
            UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!fd.isValid())
                return;
            testing::setReceiveTimeout(fd.get(), 5);
            script(fd.get());
        });
    }
    ~FakeServer() { thread_.join(); }

    int port() const { return port_; }

private:
    UniqueFd listener_;
    int port_ = 0;
    std::thread thread_;
};

// RFB 3.8 with security type None up to ServerInit, then the client's
// SetEncodings.
bool greetWithoutPassword(int fd) {
    if (!sendAll(fd, "RFB 003.008\n") || readExactly(fd, 12).size() != 12)
        return false;
    if (!sendAll(fd, std::string("\x01\x01", 2)) || readExactly(fd, 1) != "\x01")
        return false;
    if (!sendAll(fd, u32(0)) || readExactly(fd, 1).size() != 1)  // SecurityResult, ClientInit
        return false;
    // ServerInit: 16x16, 32 bits per pixel, depth 24, true colour, "fake".
    const std::string pixelFormat(
        "\x20\x18\x00\x01\x00\xff\x00\xff\x00\xff\x10\x08\x00\x00\x00\x00", 16);
    if (!sendAll(fd, std::string("\x00\x10\x00\x10", 4) + pixelFormat + u32(4) + "fake"))
        return false;
    return readExactly(fd, 8).size() == 8;  // SetEncodings with one encoding
}

std::string helloMessage() {
    const std::vector<uint8_t> message = control::encodeServerMessage(
        control::ServerMessage::Hello, control::encode(control::Hello{}));
    return {message.begin(), message.end()};
}

// Waits until the client closes (or the receive times out).
void waitForClose(int fd) {
    char byte;
    while (::recv(fd, &byte, 1, 0) > 0) {
    }
}

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
