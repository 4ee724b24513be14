// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string>

namespace kvmvnc::door {

// A viewer the front door admitted, as it hands it to the RFB server
// (rfb::RfbServer::adopt).
struct ViewerIdentity {
    std::string peer;  // the client's address
    std::string user;  // the users file's name; empty for VNC passwords and None
    bool viewOnly = false;
    std::string security;  // how it came in: "X509Plain", "VncAuth over wss"...
};

}  // namespace kvmvnc::door
