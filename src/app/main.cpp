// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/command_line.h"

int main(int argc, char **argv) { return kvmvnc::app::kvmvncdMain(argc, argv); }
