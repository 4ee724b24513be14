// SPDX-License-Identifier: GPL-2.0-or-later
// ControlClient against servers played by hand on loopback: what a server
// sends is bounded before it is believed, and a password goes only where it
// may.
#include "kvmvnc/ctl/control_client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <functional>
#include <string>
#include <thread>

#include "kvmvnc/control/protocol.h"
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

}  // namespace
}  // namespace kvmvnc::ctl
