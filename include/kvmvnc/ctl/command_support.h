// SPDX-License-Identifier: GPL-2.0-or-later
// What kvmvncctl's commands share: connecting, a reply as an exit status,
// sizes for people, and the states the server reports as lines of text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kvmvnc/control/protocol.h"

namespace kvmvnc::ctl {

class ControlClient;
struct Options;

// Connects, or says why not on stderr.
bool connect(ControlClient &client, const Options &options);
// The reply's status as an exit status; an error is printed as
// "kvmvncctl: `what`: ..." with the server's message, or the connection's.
int check(const ControlClient &client, const std::optional<control::Reply> &reply,
          const char *what);
// "1.5 MiB", "512 B".
std::string sizeText(uint64_t bytes);

void printAtx(const control::AtxStateBody &state);
void printDrive(const control::DriveStateBody &state);
void printInput(const control::InputStateBody &state);
void printHealth(const control::HealthStateBody &state);

}  // namespace kvmvnc::ctl
