// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl status: everything the server reports, part by part.
#include <cstdio>

#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"

namespace kvmvnc::ctl {

using control::Request;

int statusCommand(const Options &options) {
    if (options.words.size() != 1)
        return usage("status takes no arguments");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    const control::Hello &hello = client.hello();
    std::printf("server: protocol %u.%u, %s rights\n", hello.versionMajor, hello.versionMinor,
                hello.fullRights ? "full" : "view-only");
    struct Part {
        uint32_t feature;
        Request request;
        const char *what;
        const char *absent;
    };
    const Part parts[] = {
        {control::feature::kKeyboard, Request::InputGetState, "keyboard", "keyboard: none"},
        {control::feature::kAtx, Request::AtxGetState, "atx", "power: no ATX control"},
        {control::feature::kMassStorage, Request::DriveGetState, "drive",
         "drive: no virtual media"},
        {control::feature::kHealth, Request::HealthGetState, "health", "health: not monitored"},
    };
    for (const Part &part : parts) {
        if (!(hello.features & part.feature)) {
            std::printf("%s\n", part.absent);
            continue;
        }
        auto reply = client.request(part.request);
        if (int status = check(client, reply, part.what); status != kExitOk)
            return status;
        bool decoded = false;
        if (part.request == Request::InputGetState) {
            if (auto state = control::decodeInputState(reply->result);
                (decoded = state.has_value()))
                printInput(*state);
        } else if (part.request == Request::AtxGetState) {
            if (auto state = control::decodeAtxState(reply->result); (decoded = state.has_value()))
                printAtx(*state);
        } else if (part.request == Request::HealthGetState) {
            if (auto state = control::decodeHealthState(reply->result);
                (decoded = state.has_value()))
                printHealth(*state);
        } else if (auto state = control::decodeDriveState(reply->result);
                   (decoded = state.has_value())) {
            printDrive(*state);
        }
        if (!decoded)
            return check(client, std::nullopt, part.what);
    }
    return kExitOk;
}

}  // namespace kvmvnc::ctl
