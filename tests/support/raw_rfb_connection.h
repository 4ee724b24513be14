// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::testing {

// A hand-driven RFB 3.8 connection for feeding the server bytes no real
// viewer would send.
class RawRfbConnection {
public:
    bool connect(int port);
    // Version, security type None, ClientInit; false on any surprise.
    bool handshake();
    // The same with VNC authentication (security type 2) and `password`.
    bool handshakeWithPassword(const std::string &password);
    // The framebuffer size ServerInit announced.
    Size serverInitSize() const { return serverInitSize_; }
    // Reads server messages (updates in Raw, at the ServerInit pixel format)
    // until a DesktopSize rectangle arrives: its size. Nullopt when the
    // connection closes, something else arrives or `timeout` passes.
    std::optional<Size> readDesktopSize(std::chrono::milliseconds timeout);
    bool send(const std::vector<uint8_t> &bytes);
    // Ends the connection both ways; a send() blocked on another thread
    // returns.
    void shutdown();
    // True when the server closes the connection within `timeoutMs`,
    // reading (and dropping) whatever it sends until then.
    bool closedByServer(int timeoutMs);

    bool readExactly(uint8_t *buffer, size_t size);

private:
    UniqueFd fd_;
    Size serverInitSize_;
    int bytesPerPixel_ = 4;
};

}  // namespace kvmvnc::testing
