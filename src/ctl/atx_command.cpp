// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl atx: the ATX power state and buttons.
#include <map>
#include <string>

#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"

namespace kvmvnc::ctl {

using control::Request;

int atxCommand(const Options &options) {
    if (options.words.size() != 2)
        return usage("atx takes one of: status, power, power-long, reset, wol");
    const std::string &verb = options.words[1];
    static const std::map<std::string, uint8_t> actions = {
        {"power", 1}, {"power-long", 2}, {"reset", 3}, {"wol", 4}};
    if (verb != "status" && !actions.contains(verb))
        return usage("unknown atx command '" + verb + "'");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    if (verb == "status") {
        auto reply = client.request(Request::AtxGetState);
        if (int status = check(client, reply, "atx status"); status != kExitOk)
            return status;
        auto state = control::decodeAtxState(reply->result);
        if (!state)
            return check(client, std::nullopt, "atx status");
        printAtx(*state);
        return kExitOk;
    }
    auto reply = client.request(Request::AtxAction, {actions.at(verb)});
    return check(client, reply, ("atx " + verb).c_str());
}

}  // namespace kvmvnc::ctl
