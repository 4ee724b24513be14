// SPDX-License-Identifier: GPL-2.0-or-later
// Blocking socket helpers for tests that play one side of a protocol by hand.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::testing {

// Sets how long a receive on `fd` waits before it gives up.
inline void setReceiveTimeout(int fd, int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

// A TCP connection to 127.0.0.1:port, receives timing out after 5 s;
// invalid when nothing listens.
inline UniqueFd connectLoopback(int port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0)
        return {};
    setReceiveTimeout(fd.get(), 5);
    return fd;
}

// `n` bytes, or fewer when the peer closed or the receive timed out.
inline std::string readExactly(int fd, size_t n) {
    std::string out(n, '\0');
    size_t done = 0;
    while (done < n) {
        const ssize_t r = ::recv(fd, out.data() + done, n - done, 0);
        if (r <= 0)
            break;
        done += static_cast<size_t>(r);
    }
    out.resize(done);
    return out;
}

inline bool sendAll(int fd, std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

// Big-endian fields as RFB writes them, for hand-played messages.
inline std::string u16(int value) {
    return {static_cast<char>(value >> 8 & 0xff), static_cast<char>(value & 0xff)};
}

inline std::string s32(int64_t value) {
    const auto v = static_cast<uint32_t>(value);
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16 & 0xff),
            static_cast<char>(v >> 8 & 0xff), static_cast<char>(v & 0xff)};
}

inline int getU16(const std::string &bytes, size_t at) {
    return static_cast<uint8_t>(bytes[at]) << 8 | static_cast<uint8_t>(bytes[at + 1]);
}

inline uint32_t getU32(const std::string &bytes, size_t at) {
    return uint32_t{static_cast<uint8_t>(bytes[at])} << 24 |
           uint32_t{static_cast<uint8_t>(bytes[at + 1])} << 16 |
           uint32_t{static_cast<uint8_t>(bytes[at + 2])} << 8 | static_cast<uint8_t>(bytes[at + 3]);
}

}  // namespace kvmvnc::testing
