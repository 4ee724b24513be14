// SPDX-License-Identifier: GPL-2.0-or-later
#include "raw_rfb_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kvmvnc/base/error_text.h"

// libvncclient's VNC-authentication DES (exported, not declared in its headers).
extern "C" void rfbClientEncryptBytes(unsigned char *bytes, char *passwd);

namespace kvmvnc::testing {

namespace {

constexpr uint8_t kSecurityNone = 1;
constexpr uint8_t kSecurityVncAuth = 2;

uint32_t getU32(const uint8_t *in) {
    return uint32_t{in[0]} << 24 | uint32_t{in[1]} << 16 | uint32_t{in[2]} << 8 | in[3];
}

timeval timevalOf(std::chrono::milliseconds duration) {
    return {static_cast<time_t>(duration.count() / 1000),
            static_cast<suseconds_t>(duration.count() % 1000 * 1000)};
}

}  // namespace

UniqueFd startConnection(const std::string &source, int port, int receiveBuffer) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.isValid())
        return {};
    if (receiveBuffer > 0)
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof(receiveBuffer));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &address.sin_addr) != 1 ||
        ::bind(fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0)
        return {};
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0 &&
        errno != EINPROGRESS)
        return {};
    return fd;
}

bool RawRfbConnection::connect(int port, const RawRfbOptions &options) {
    refusal_.clear();
    error_.clear();
    fd_ = startConnection(options.source, port, options.receiveBuffer);
    if (!fd_.isValid()) {
        error_ = "cannot connect: " + errorText(errno);
        return false;
    }
    // Connected once writable; then blocking, with the timeouts.
    pollfd pfd{fd_.get(), POLLOUT, 0};
    int failure = 0;
    socklen_t length = sizeof(failure);
    if (::poll(&pfd, 1, static_cast<int>(options.timeout.count())) <= 0 ||
        ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &failure, &length) != 0 || failure != 0) {
        error_ = "cannot connect: " + (failure ? errorText(failure) : std::string("no answer"));
        fd_.reset();
        return false;
    }
    ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_NONBLOCK);
    const timeval receive = timevalOf(options.timeout);
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &receive, sizeof(receive));
    if (options.sendTimeout.count() > 0) {
        const timeval send = timevalOf(options.sendTimeout);
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &send, sizeof(send));
    }
    return true;
}

bool RawRfbConnection::readExactly(uint8_t *buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd_.get(), buffer + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            error_ = n == 0                                      ? "closed by the server"
                     : (errno == EAGAIN || errno == EWOULDBLOCK) ? "no answer in time"
                                                                 : errorText(errno);
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

// A refusal's reason: U32 length, then the text (kept to 4 KiB).
bool RawRfbConnection::readReason() {
    uint8_t length[4];
    if (!readExactly(length, sizeof(length)))
        return false;
    refusal_.resize(std::min<uint32_t>(getU32(length), 4096));
    return readExactly(reinterpret_cast<uint8_t *>(refusal_.data()), refusal_.size());
}

bool RawRfbConnection::handshake() { return handshakeWithPassword({}); }

bool RawRfbConnection::handshakeWithPassword(const std::string &password) {
    uint8_t version[12];
    if (!readExactly(version, sizeof(version)))
        return false;
    if (std::memcmp(version, "RFB 003.", 8) != 0) {
        error_ = "not an RFB server";
        return false;
    }
    if (!send({'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n'}))
        return false;
    uint8_t count = 0;
    if (!readExactly(&count, 1))
        return false;
    if (count == 0) {  // refused before any security type: the reason follows
        readReason();
        return false;
    }
    std::vector<uint8_t> types(count);
    if (!readExactly(types.data(), count))
        return false;
    const uint8_t type = password.empty() ? kSecurityNone : kSecurityVncAuth;
    if (std::find(types.begin(), types.end(), type) == types.end()) {
        error_ = type == kSecurityNone ? "security type None is not offered"
                                       : "VNC authentication is not offered";
        return false;
    }
    if (!send({type}))
        return false;
    if (type == kSecurityVncAuth) {
        uint8_t challenge[16];
        if (!readExactly(challenge, sizeof(challenge)))
            return false;
        std::string key = password.substr(0, 8);
        rfbClientEncryptBytes(challenge, key.data());
        if (!send(std::vector<uint8_t>(challenge, challenge + 16)))
            return false;
    }
    uint8_t result[4];
    if (!readExactly(result, 4))
        return false;
    if (getU32(result) != 0) {
        if (!readReason() || refusal_.empty())
            error_ = "refused without a reason";
        return false;
    }
    if (!send({1}))  // ClientInit, shared
        return false;
    uint8_t serverInit[24];
    if (!readExactly(serverInit, sizeof(serverInit)))
        return false;
    serverInitSize_ = {serverInit[0] << 8 | serverInit[1], serverInit[2] << 8 | serverInit[3]};
    bytesPerPixel_ = serverInit[4] / 8;
    std::vector<uint8_t> name(getU32(serverInit + 20));
    return readExactly(name.data(), name.size());
}

bool RawRfbConnection::send(const std::vector<uint8_t> &bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            error_ = (errno == EAGAIN || errno == EWOULDBLOCK) ? "no room to send in time"
                                                               : errorText(errno);
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

ssize_t RawRfbConnection::writeSome(const uint8_t *data, size_t size) {
    const ssize_t n = ::send(fd_.get(), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return n;
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
