// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

namespace kvmvnc::ctl {

struct Options;

// Exit statuses of kvmvncctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;     // the server answered with an error
inline constexpr int kExitUsage = 2;       // bad command line or local file
inline constexpr int kExitConnection = 3;  // cannot connect, authenticate, or lost it

// kvmvncctl's command line: parses argv, runs the command, prints results
// to stdout and errors (one line each) to stderr. Returns the exit status.
int run(int argc, char **argv);

// The commands, one file each (src/ctl/*_command.cpp); the table in
// command_line.cpp names them. Each checks its own words first, then
// connects (all but passwd), and returns the exit status.
int statusCommand(const Options &options);
int atxCommand(const Options &options);
int msdCommand(const Options &options);
int typeCommand(const Options &options);
int edidCommand(const Options &options);
int doctorCommand(const Options &options);
int passwdCommand(const Options &options);

}  // namespace kvmvnc::ctl
