// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::soak {

// Starts a TCP connection to 127.0.0.1:`port` from `source` (any 127.x.y.z
// address: loopback is all local, and the front door counts handshakes per
// address) without waiting for it to complete. `receiveBuffer` > 0 shrinks
// the socket's receive buffer before connecting, so that the window the
// server sees stays small. Invalid when the socket cannot be made.
UniqueFd startConnection(const std::string &source, int port, int receiveBuffer = 0);

// A hand-driven RFB 3.8 client for what libvncclient cannot do: log in from
// a chosen source address with plain VNC authentication and read the reason
// of a refusal, then write requests without ever reading an answer. Each
// step of the login waits at most 30 s; thread-bound.
class RawClient {
public:
    // Connects from `source` and logs in with `password`: true once
    // ServerInit is read. Otherwise false, with refusal() holding the
    // server's reason when it gave one, or error() saying what went wrong.
    bool login(int port, const std::string &password, const std::string &source = "127.0.0.1",
               int receiveBuffer = 0);
    const std::string &refusal() const { return refusal_; }
    const std::string &error() const { return error_; }
    int width() const { return width_; }
    int height() const { return height_; }

    // All of `bytes`, waiting up to 30 s for room; false if that fails.
    bool send(const std::vector<uint8_t> &bytes);
    // What the kernel takes of `data` now, without waiting: 0 once the
    // server stopped reading and the buffers between are full, -1 once the
    // server has closed the connection.
    ssize_t writeSome(const uint8_t *data, size_t size);

private:
    bool readExactly(void *buffer, size_t size);

    UniqueFd fd_;
    std::string refusal_;
    std::string error_;
    int width_ = 0;
    int height_ = 0;
};

}  // namespace kvmvnc::soak
