// SPDX-License-Identifier: GPL-2.0-or-later
// A server-side transport with a raw client socket on the other end, for the
// door's tests that play the client by hand.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <stdexcept>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/door/transport.h"

namespace kvmvnc::door {

// A connected pair: `transport` is the server's end, `peer` the client's.
struct SocketPair {
    std::unique_ptr<SocketTransport> transport;
    UniqueFd peer;
};

inline SocketPair makeSocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::runtime_error("socketpair failed");
    return {std::make_unique<SocketTransport>(UniqueFd(fds[0])), UniqueFd(fds[1])};
}

}  // namespace kvmvnc::door
