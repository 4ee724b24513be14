// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string>
#include <vector>

namespace kvmvnc::app {

struct CommandLine {
    enum class Action { Run, Help, HelpConfig, Version, CheckConfig, CheckHardware, HidDescriptor };
    Action action = Action::Run;
    std::string configPath;  // empty: built-in defaults
    std::string descriptor;  // keyboard or mouse, for HidDescriptor
};

// Parses kvmvncd's arguments (without argv[0]). Throws std::invalid_argument
// with a one-line message on anything it does not understand.
CommandLine parseCommandLine(const std::vector<std::string> &args);

std::string usageText();

// Everything main() does: returns the process exit status.
int kvmvncdMain(int argc, char **argv);

}  // namespace kvmvnc::app
