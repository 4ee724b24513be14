// SPDX-License-Identifier: GPL-2.0-or-later
#include "xvfb.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace kvmvnc::testing {

bool Xvfb::start() {
    int fds[2];
    if (::pipe(fds) != 0)
        return false;
    std::vector<std::string> argv = {"Xvfb"};
    if (number_ >= 0)
        argv.push_back(":" + std::to_string(number_));
    argv.insert(argv.end(),
                {"-displayfd", std::to_string(fds[1]), "-screen", "0",
                 std::to_string(screen_.width) + "x" + std::to_string(screen_.height) + "x24",
                 "-nolisten", "tcp", "-noreset"});
    const bool started = process_.start(argv, {}, "/dev/null", fds[1]);
    ::close(fds[1]);
    // Xvfb writes its display number once it accepts connections.
    char number[16] = {};
    const ssize_t n = started ? ::read(fds[0], number, sizeof(number) - 1) : -1;
    ::close(fds[0]);
    if (n <= 0)
        return false;
    number_ = std::atoi(number);
    return true;
}

}  // namespace kvmvnc::testing
