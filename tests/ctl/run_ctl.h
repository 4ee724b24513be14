// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl run in the test's process: its exit status and what it printed.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kvmvnc/ctl/commands.h"

namespace kvmvnc::testing {

struct CtlRun {
    int status = -1;
    std::string out;  // standard output
    std::string err;  // standard error
};

// kvmvncctl with `arguments` (after the program name).
inline CtlRun runCtl(const std::vector<std::string> &arguments) {
    std::vector<std::string> words = {"kvmvncctl"};
    words.insert(words.end(), arguments.begin(), arguments.end());
    std::vector<char *> argv;
    for (std::string &word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    CtlRun run;
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    run.status = ctl::run(static_cast<int>(words.size()), argv.data());
    run.err = ::testing::internal::GetCapturedStderr();
    run.out = ::testing::internal::GetCapturedStdout();
    return run;
}

}  // namespace kvmvnc::testing
