// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncd played by hand on loopback, for ControlClient and the commands:
// the RFB handshake without a password, then the control protocol one
// message at a time.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/control/protocol.h"
#include "socket_io.h"

namespace kvmvnc::testing {

inline std::string u32(uint32_t value) {
    return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
            static_cast<char>(value >> 8), static_cast<char>(value)};
}

// `connections` connections on a loopback port, one after the other, each
// served by `script` (given its number, from 0) on the server's thread.
class FakeServer {
public:
    explicit FakeServer(std::function<void(int fd, int connection)> script, int connections = 1) {
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
        thread_ = std::thread([this, connections, script = std::move(script)] {
            for (int connection = 0; connection < connections; ++connection) {
                pollfd ready{listener_.get(), POLLIN, 0};
                if (::poll(&ready, 1, 10000) != 1)
                    return;
                UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
                if (!fd.isValid())
                    return;
                setReceiveTimeout(fd.get(), 5);
                script(fd.get(), connection);
            }
            // Connecting again is refused rather than left waiting.
            listener_.reset();
        });
    }
    explicit FakeServer(const std::function<void(int fd)> &script)
        : FakeServer([script](int fd, int) { script(fd); }) {}
    ~FakeServer() { thread_.join(); }
    FakeServer(const FakeServer &) = delete;
    FakeServer &operator=(const FakeServer &) = delete;

    int port() const { return port_; }

private:
    UniqueFd listener_;
    int port_ = 0;
    std::thread thread_;
};

// RFB 3.8 with security type None up to ServerInit, then the client's
// SetEncodings.
inline bool greetWithoutPassword(int fd) {
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

inline std::string serverMessage(control::ServerMessage opcode,
                                 const std::vector<uint8_t> &payload) {
    const std::vector<uint8_t> message = control::encodeServerMessage(opcode, payload);
    return {message.begin(), message.end()};
}

inline std::string helloMessage(const control::Hello &hello = {}) {
    return serverMessage(control::ServerMessage::Hello, control::encode(hello));
}

// A control request as the server reads it.
struct FakeRequest {
    control::Request opcode{};
    uint32_t id = 0;
    std::vector<uint8_t> payload;
};

// The next control request, or nothing when the client closed, went quiet
// or sent anything else.
inline std::optional<FakeRequest> readRequest(int fd) {
    const std::string header = readExactly(fd, control::kRequestHeaderSize);
    if (header.size() != control::kRequestHeaderSize ||
        static_cast<uint8_t>(header[0]) != control::kMessageType)
        return std::nullopt;
    const control::RequestHeader parsed =
        control::parseRequestHeader(reinterpret_cast<const uint8_t *>(header.data()) + 1);
    const std::string payload = readExactly(fd, parsed.payloadLength);
    if (payload.size() != parsed.payloadLength)
        return std::nullopt;
    return FakeRequest{static_cast<control::Request>(parsed.opcode),
                       parsed.requestId,
                       {payload.begin(), payload.end()}};
}

inline bool sendReply(int fd, uint32_t requestId, control::Status status,
                      const std::vector<uint8_t> &result = {}, const std::string &message = {}) {
    control::Reply reply;
    reply.requestId = requestId;
    reply.status = status;
    reply.result = result;
    reply.message = message;
    return sendAll(fd, serverMessage(control::ServerMessage::Reply, control::encode(reply)));
}

// Waits until the client closes (or the receive times out).
inline void waitForClose(int fd) {
    char byte;
    while (::recv(fd, &byte, 1, 0) > 0) {
    }
}

}  // namespace kvmvnc::testing
