// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl's command line: its options, and the table of commands that
// both dispatches them and writes the usage text.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kvmvnc/ctl/control_client.h"

namespace kvmvnc::ctl {

inline constexpr const char *kDefaultUsersFile = "/etc/kvmvnc/users";

// Everything the command line says, options and words alike.
struct Options {
    ConnectOptions connect;
    std::vector<std::string> words;  // the command and its arguments
    std::string passwordFile;        // --passwd-file
    bool caFileGiven = false;
    bool acceptNew = false;
    std::string uploadName;
    bool cdrom = true;
    bool writable = false;
    bool skipUntypable = false;
    bool cancelTyping = false;
    std::string usersFile = kDefaultUsersFile;
    bool viewOnly = false;
    bool deleteUser = false;
    std::string daemonConfig;  // doctor without a daemon; empty: the default
};

// The options and words of argv[1...], read up to the first problem.
struct ParsedCommandLine {
    Options options;
    bool help = false;    // --help or -h: nothing after it was read
    std::string problem;  // a bad option, as usage() shows it; empty when fine
};
ParsedCommandLine parseCommandLine(std::span<char *const> arguments);

// One command: its name (the first word), its lines of the usage text, and
// what runs it. `connects`: it talks to kvmvncd, so the credentials are
// read before it runs; passwd edits a local file and needs none.
struct Command {
    std::string_view name;
    std::string_view usage;
    int (*run)(const Options &options);
    bool connects = true;
};

// Every command, in the order the usage text lists them.
std::span<const Command> commands();
// The command named `name`, or nullptr.
const Command *findCommand(std::string_view name);

// What --help prints.
std::string usageText();
// Prints "kvmvncctl: `problem`" (unless empty) and the usage text on stderr;
// returns kExitUsage.
int usage(const std::string &problem);

}  // namespace kvmvnc::ctl
