// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl: power buttons and virtual media of a kvmvncd, from the command
// line, over the same RFB port viewers use; and, without connecting, the
// users file its VeNCrypt Plain logins are checked against.
#include "kvmvnc/ctl/commands.h"

int main(int argc, char **argv) { return kvmvnc::ctl::run(argc, argv); }
