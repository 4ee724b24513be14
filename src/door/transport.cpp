// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "kvmvnc/base/error_text.h"

namespace kvmvnc::door {

SocketTransport::SocketTransport(UniqueFd fd) : fd_(std::move(fd)) {
    const int flags = fcntl(fd_.get(), F_GETFL);
    if (flags >= 0)
        fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
}

Transport::Result SocketTransport::read(std::span<uint8_t> into) {
    for (;;) {
        const ssize_t n = ::recv(fd_.get(), into.data(), into.size(), 0);
        if (n > 0)
            return {Status::Ok, static_cast<size_t>(n)};
        if (n == 0) {
            closeReason_ = "closed by the peer";
            return {Status::Closed};
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return {Status::WantRead};
        closeReason_ = errorText(errno);
        return {Status::Closed};
    }
}

Transport::Result SocketTransport::write(std::span<const uint8_t> from) {
    for (;;) {
        const ssize_t n = ::send(fd_.get(), from.data(), from.size(), MSG_NOSIGNAL);
        if (n >= 0)
            return {Status::Ok, static_cast<size_t>(n)};
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return {Status::WantWrite};
        closeReason_ = errorText(errno);
        return {Status::Closed};
    }
}

bool waitFor(const Transport &transport, Transport::Status status, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return false;
        pollfd pfd{transport.fd(),
                   static_cast<short>(status == Transport::Status::WantWrite ? POLLOUT : POLLIN),
                   0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left));
        if (ready > 0)
            return true;
        if (ready < 0 && errno != EINTR)
            return true;  // the next read or write reports the error
    }
}

namespace {

// Takes a call's result for the blocking helpers: the bytes it moved, or a
// wait until the socket is ready again; throws when the stream closed or the
// deadline passed.
size_t bytesOrWait(const Transport &transport, Transport::Result result,
                   Clock::time_point deadline) {
    switch (result.status) {
    case Transport::Status::Ok:
        return result.bytes;
    case Transport::Status::Closed:
        throw HandshakeError("connection closed: " + transport.closeReason());
    case Transport::Status::WantRead:
    case Transport::Status::WantWrite:
        if (!waitFor(transport, result.status, deadline))
            throw HandshakeError("timed out in the handshake");
        break;
    }
    return 0;
}

}  // namespace

void readExact(Transport &transport, std::span<uint8_t> into, Clock::time_point deadline) {
    size_t done = 0;
    while (done < into.size())
        done += bytesOrWait(transport, transport.read(into.subspan(done)), deadline);
}

void writeAll(Transport &transport, std::span<const uint8_t> from, Clock::time_point deadline) {
    size_t done = 0;
    while (done < from.size())
        done += bytesOrWait(transport, transport.write(from.subspan(done)), deadline);
    while (transport.hasPendingOutput())
        bytesOrWait(transport, transport.flush(), deadline);
}

}  // namespace kvmvnc::door
