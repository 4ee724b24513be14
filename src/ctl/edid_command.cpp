// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl edid show: the EDID the capture device shows the target.
#include <cstdio>
#include <optional>
#include <string>

#include "kvmvnc/capture/edid.h"
#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"

namespace kvmvnc::ctl {

namespace {

// The capture device's EDID, parsed: what the target is offered. The
// server sends bytes; capture::Edid, the parser kvmvncd checks files with,
// describes them. 0, or 1 when loading failed or the EDID is invalid.
int printEdid(const control::EdidStateBody &state) {
    using State = control::EdidStateBody::State;
    const std::string setting = "[capture] edid = " + state.setting;
    switch (state.state) {
    case State::Unknown:
        std::printf("edid: not known yet: %s (%s)\n", state.detail.c_str(), setting.c_str());
        return kExitOk;
    case State::Empty:
        std::printf("edid: %s holds none: the target sees no monitor and sends no picture (%s)\n",
                    state.node.c_str(), setting.c_str());
        return kExitOk;
    case State::Unsupported:
        std::printf("edid: %s (%s)\n", state.detail.c_str(), setting.c_str());
        return kExitOk;
    case State::Failed:
        std::printf("edid: not loaded: %s (%s)\n", state.detail.c_str(), setting.c_str());
        if (state.edid.empty())
            return kExitRefused;
        std::printf("the device holds:\n");
        break;
    case State::Present:
        std::printf("edid: on %s (%s)\n", state.node.c_str(), setting.c_str());
        break;
    }
    std::string error;
    std::optional<capture::Edid> edid = capture::Edid::parse(state.edid, error);
    if (!edid) {
        std::printf("invalid EDID: %s\n", error.c_str());
        for (size_t i = 0; i < state.edid.size(); ++i)
            std::printf("%02x%c", state.edid[i], i % 16 == 15 ? '\n' : ' ');
        if (state.edid.size() % 16 != 0)
            std::printf("\n");
        return kExitRefused;
    }
    std::fputs(edid->describe().c_str(), stdout);
    return state.state == State::Present ? kExitOk : kExitRefused;
}

}  // namespace

using control::Request;

int edidCommand(const Options &options) {
    if (options.words.size() != 2 || options.words[1] != "show")
        return usage("edid takes: show");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    auto reply = client.request(Request::EdidGetState);
    if (int status = check(client, reply, "edid show"); status != kExitOk)
        return status;
    auto state = control::decodeEdidState(reply->result);
    if (!state)
        return check(client, std::nullopt, "edid show");
    return printEdid(*state);
}

}  // namespace kvmvnc::ctl
