// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <string>

#include "kvmvnc/base/geometry.h"
#include "subprocess.h"

namespace kvmvnc::testing {

// An X server of a test's own: Xvfb at `screen` (24-bit), TCP off, and no
// reset when its last client leaves, so a picture outlives the client that
// drew it. The first start() picks a free display number (-displayfd) and
// returns once the server accepts connections; a start() after stop()
// comes back on the same number. Stopped when destroyed.
class Xvfb {
public:
    explicit Xvfb(Size screen) : screen_(screen) {}
    bool start();
    void stop() { process_.stop(); }
    // ":N", once started.
    std::string display() const { return ":" + std::to_string(number_); }
    pid_t pid() const { return process_.pid(); }

private:
    Size screen_;
    Subprocess process_;
    int number_ = -1;
};

}  // namespace kvmvnc::testing
