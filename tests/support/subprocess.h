// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace kvmvnc::testing {

// A child process for tests: started with arguments and extra environment,
// its output sent to a file, killed (SIGTERM, then SIGKILL) when destroyed.
class Subprocess {
public:
    Subprocess() = default;
    ~Subprocess();
    Subprocess(const Subprocess &) = delete;
    Subprocess &operator=(const Subprocess &) = delete;

    // `keepFd` stays open in the child (for -displayfd and the like).
    bool start(const std::vector<std::string> &argv, const std::vector<std::string> &env = {},
               const std::string &outputPath = "/dev/null", int keepFd = -1);
    // Exit status, or -1 if it is still running after `timeout`.
    int wait(std::chrono::milliseconds timeout);
    void stop();
    bool isRunning();
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

// Runs a command to completion; its exit status, or -1 on timeout.
int runCommand(const std::vector<std::string> &argv, const std::vector<std::string> &env = {},
               std::chrono::milliseconds timeout = std::chrono::seconds{30},
               const std::string &outputPath = "/dev/null");

// Whether `program` is on PATH.
bool haveProgram(const std::string &program);

}  // namespace kvmvnc::testing
