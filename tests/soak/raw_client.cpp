// SPDX-License-Identifier: GPL-2.0-or-later
#include "raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

// libvncclient's VNC-authentication DES (exported, not declared in its headers).
extern "C" void rfbClientEncryptBytes(unsigned char *bytes, char *passwd);

namespace kvmvnc::soak {

namespace {

constexpr uint8_t kSecurityVncAuth = 2;

uint32_t getU32(const uint8_t *in) {
    return uint32_t{in[0]} << 24 | uint32_t{in[1]} << 16 | uint32_t{in[2]} << 8 | in[3];
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

bool RawClient::readExactly(void *buffer, size_t size) {
    auto *out = static_cast<uint8_t *>(buffer);
    size_t done = 0;
    while (done < size) {
        pollfd pfd{fd_.get(), POLLIN, 0};
        if (::poll(&pfd, 1, 30000) <= 0) {
            error_ = "no answer within 30 s";
            return false;
        }
        const ssize_t n = ::recv(fd_.get(), out + done, size - done, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            error_ = n == 0 ? "closed by the server" : std::strerror(errno);
            return false;
        }
        done += n > 0 ? static_cast<size_t>(n) : 0;
    }
    return true;
}

bool RawClient::send(const std::vector<uint8_t> &bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        pollfd pfd{fd_.get(), POLLOUT, 0};
        if (::poll(&pfd, 1, 30000) <= 0) {
            error_ = "cannot send within 30 s";
            return false;
        }
        const ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            error_ = std::strerror(errno);
            return false;
        }
        done += n > 0 ? static_cast<size_t>(n) : 0;
    }
    return true;
}

bool RawClient::login(int port, const std::string &password, const std::string &source,
                      int receiveBuffer) {
    fd_ = startConnection(source, port, receiveBuffer);
    if (!fd_.isValid()) {
        error_ = std::string("cannot connect: ") + std::strerror(errno);
        return false;
    }
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
    if (count == 0) {
        // Refused before any security type: the reason follows.
        uint8_t length[4];
        if (readExactly(length, 4)) {
            refusal_.resize(std::min<uint32_t>(getU32(length), 4096));
            readExactly(refusal_.data(), refusal_.size());
        }
        return false;
    }
    std::vector<uint8_t> types(count);
    if (!readExactly(types.data(), count))
        return false;
    if (std::find(types.begin(), types.end(), kSecurityVncAuth) == types.end()) {
        error_ = "VNC authentication is not offered";
        return false;
    }
    if (!send({kSecurityVncAuth}))
        return false;
    uint8_t challenge[16];
    if (!readExactly(challenge, sizeof(challenge)))
        return false;
    std::string key = password.substr(0, 8);
    rfbClientEncryptBytes(challenge, key.data());
    if (!send(std::vector<uint8_t>(challenge, challenge + 16)))
        return false;
    uint8_t result[4];
    if (!readExactly(result, 4))
        return false;
    if (getU32(result) != 0) {
        uint8_t length[4];
        if (readExactly(length, 4)) {
            refusal_.resize(std::min<uint32_t>(getU32(length), 4096));
            readExactly(refusal_.data(), refusal_.size());
        }
        if (refusal_.empty())
            error_ = "refused without a reason";
        return false;
    }
    if (!send({1}))  // ClientInit, shared
        return false;
    uint8_t serverInit[24];
    if (!readExactly(serverInit, sizeof(serverInit)))
        return false;
    width_ = serverInit[0] << 8 | serverInit[1];
    height_ = serverInit[2] << 8 | serverInit[3];
    std::vector<uint8_t> name(getU32(serverInit + 20));
    return readExactly(name.data(), name.size());
}

ssize_t RawClient::writeSome(const uint8_t *data, size_t size) {
    const ssize_t n = ::send(fd_.get(), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return n;
}

}  // namespace kvmvnc::soak
