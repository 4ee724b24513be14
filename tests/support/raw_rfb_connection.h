// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::testing {

// A hand-driven RFB 3.8 connection for feeding the server bytes no real
// viewer would send.
class RawRfbConnection {
public:
    bool connect(int port);
    // Version, security type None, ClientInit; false on any surprise.
    bool handshake();
    bool send(const std::vector<uint8_t> &bytes);
    // True when the server closes the connection within `timeoutMs`,
    // reading (and dropping) whatever it sends until then.
    bool closedByServer(int timeoutMs);

    bool readExactly(uint8_t *buffer, size_t size);

private:
    UniqueFd fd_;
};

}  // namespace kvmvnc::testing
