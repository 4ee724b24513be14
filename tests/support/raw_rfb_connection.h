// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::testing {

// Starts a TCP connection to 127.0.0.1:`port` from `source` (any 127.x.y.z
// address: loopback is all local, and the front door counts handshakes per
// address) without waiting for it to complete; the socket is non-blocking.
// `receiveBuffer` > 0 shrinks the socket's receive buffer before connecting,
// so that the window the server sees stays small. Invalid when the socket
// cannot be made.
UniqueFd startConnection(const std::string &source, int port, int receiveBuffer = 0);

struct RawRfbOptions {
    std::string source = "127.0.0.1";
    int receiveBuffer = 0;  // see startConnection()
    // How long connect() and each read wait; how long a send() waits for
    // room (zero: as long as it takes, until shutdown()).
    std::chrono::milliseconds timeout{5000};
    std::chrono::milliseconds sendTimeout{0};
};

// A hand-driven RFB 3.8 connection for what no real viewer does: bytes no
// viewer would send, a login from a chosen source address that reads the
// reason of a refusal, requests written without ever reading an answer.
class RawRfbConnection {
public:
    bool connect(int port, const RawRfbOptions &options = {});
    // Version, security type None, ClientInit; false on any surprise.
    bool handshake();
    // The same with VNC authentication (security type 2) and `password`
    // (None when it is empty).
    bool handshakeWithPassword(const std::string &password);
    // After a failed connect or handshake: the server's reason when it gave
    // one (refused before any security type, or after authentication), and
    // what went wrong otherwise.
    const std::string &refusal() const { return refusal_; }
    const std::string &error() const { return error_; }
    // The framebuffer size ServerInit announced.
    Size serverInitSize() const { return serverInitSize_; }
    // Reads server messages (updates in Raw, at the ServerInit pixel format)
    // until a DesktopSize rectangle arrives: its size. Nullopt when the
    // connection closes, something else arrives or `timeout` passes.
    std::optional<Size> readDesktopSize(std::chrono::milliseconds timeout);
    // All of `bytes`; false when the connection fails or the send timeout
    // passes first.
    bool send(const std::vector<uint8_t> &bytes);
    // What the kernel takes of `data` now, without waiting: 0 once the
    // server stopped reading and the buffers between are full, -1 once the
    // server has closed the connection.
    ssize_t writeSome(const uint8_t *data, size_t size);
    // Ends the connection both ways; a send() blocked on another thread
    // returns.
    void shutdown();
    // True when the server closes the connection within `timeoutMs`,
    // reading (and dropping) whatever it sends until then.
    bool closedByServer(int timeoutMs);

    bool readExactly(uint8_t *buffer, size_t size);

private:
    bool readReason();

    UniqueFd fd_;
    Size serverInitSize_;
    int bytesPerPixel_ = 4;
    std::string refusal_;
    std::string error_;
};

}  // namespace kvmvnc::testing
