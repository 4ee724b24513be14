// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>

#include "kvmvnc/door/front_door.h"
#include "kvmvnc/rfb/rfb_server.h"

namespace kvmvnc::testing {

// A front door on 127.0.0.1 and a free port that hands every viewer to
// `server`, as kvmvncd does (no credentials: security type None). `server`
// must outlive it.
inline std::unique_ptr<door::FrontDoor> loopbackDoor(rfb::RfbServer &server) {
    door::FrontDoorOptions options;
    options.listen = "127.0.0.1";
    options.port = 0;
    options.handoff = [&server](UniqueFd fd, const door::ViewerIdentity &viewer) {
        return server.adopt(std::move(fd), viewer);
    };
    return std::make_unique<door::FrontDoor>(std::move(options));
}

}  // namespace kvmvnc::testing
