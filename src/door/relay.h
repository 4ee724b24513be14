// SPDX-License-Identifier: GPL-2.0-or-later
// The front door's last phase. Internal to the door stage.
#pragma once

#include <chrono>

#include "kvmvnc/door/front_door.h"
#include "kvmvnc/door/transport.h"

namespace kvmvnc::door {

// Relays bytes between an admitted client and the RFB server (its end of the
// socketpair) until either closes or `stopFd` becomes readable. What the
// client sends passes an rfb::ClientMessageFilter: a client that sends what
// it refuses is closed, and so is one that takes no byte for `stallTimeout`
// while bytes wait for it. Runs on the connection's thread.
void relay(Transport &client, Transport &server, const Viewer &viewer,
           std::chrono::milliseconds stallTimeout, int stopFd);

}  // namespace kvmvnc::door
