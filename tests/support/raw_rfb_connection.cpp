// SPDX-License-Identifier: GPL-2.0-or-later
#include "raw_rfb_connection.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

// libvncclient's VNC-authentication DES (exported, not declared in its headers).
extern "C" void rfbClientEncryptBytes(unsigned char *bytes, char *passwd);

namespace kvmvnc::testing {

bool RawRfbConnection::connect(int port) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return ::connect(fd_.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0;
}

bool RawRfbConnection::readExactly(uint8_t *buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::read(fd_.get(), buffer + done, size - done);
        if (n <= 0)
            return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

bool RawRfbConnection::handshake() { return handshakeWithPassword({}); }

bool RawRfbConnection::handshakeWithPassword(const std::string &password) {
    uint8_t version[12];
    if (!readExactly(version, sizeof(version)) || std::memcmp(version, "RFB 003.", 8) != 0)
        return false;
    if (!send({'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n'}))
        return false;
    uint8_t count = 0;
    if (!readExactly(&count, 1) || count == 0)
        return false;
    std::vector<uint8_t> types(count);
    if (!readExactly(types.data(), count))
        return false;
    if (password.empty()) {
        if (!send({1}))  // None
            return false;
    } else {
        if (!send({2}))  // VNC authentication
            return false;
        uint8_t challenge[16];
        if (!readExactly(challenge, sizeof(challenge)))
            return false;
        std::string key = password.substr(0, 8);
        rfbClientEncryptBytes(challenge, key.data());
        if (!send(std::vector<uint8_t>(challenge, challenge + 16)))
            return false;
    }
    uint8_t result[4];
    if (!readExactly(result, 4) || result[3] != 0)
        return false;
    if (!send({1}))  // ClientInit, shared
        return false;
    uint8_t serverInit[24];
    if (!readExactly(serverInit, sizeof(serverInit)))
        return false;
    serverInitSize_ = {serverInit[0] << 8 | serverInit[1], serverInit[2] << 8 | serverInit[3]};
    bytesPerPixel_ = serverInit[4] / 8;
    uint32_t nameLength = (uint32_t{serverInit[20]} << 24) | (uint32_t{serverInit[21]} << 16) |
                          (uint32_t{serverInit[22]} << 8) | serverInit[23];
    std::vector<uint8_t> name(nameLength);
    return readExactly(name.data(), nameLength);
}

bool RawRfbConnection::send(const std::vector<uint8_t> &bytes) {
    return ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
}

std::optional<Size> RawRfbConnection::readDesktopSize(std::chrono::milliseconds timeout) {
    constexpr int32_t kDesktopSize = -223;
    constexpr int32_t kRaw = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        uint8_t header[4];
        if (!readExactly(header, sizeof(header)) || header[0] != 0)
            return std::nullopt;  // closed, or not a FramebufferUpdate
        const int rects = header[2] << 8 | header[3];
        for (int i = 0; i < rects; ++i) {
            uint8_t rect[12];
            if (!readExactly(rect, sizeof(rect)))
                return std::nullopt;
            const int width = rect[4] << 8 | rect[5], height = rect[6] << 8 | rect[7];
            const auto encoding =
                static_cast<int32_t>(uint32_t{rect[8]} << 24 | uint32_t{rect[9]} << 16 |
                                     uint32_t{rect[10]} << 8 | rect[11]);
            if (encoding == kDesktopSize)
                return Size{width, height};
            if (encoding != kRaw)
                return std::nullopt;
            std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * bytesPerPixel_);
            if (!readExactly(pixels.data(), pixels.size()))
                return std::nullopt;
        }
    }
    return std::nullopt;
}

void RawRfbConnection::shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

bool RawRfbConnection::closedByServer(int timeoutMs) {
    uint8_t buffer[65536];
    for (int waited = 0; waited < timeoutMs; waited += 50) {
        pollfd pfd{fd_.get(), POLLIN, 0};
        if (::poll(&pfd, 1, 50) > 0) {
            ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
            if (n <= 0)
                return true;
        }
    }
    return false;
}

}  // namespace kvmvnc::testing
