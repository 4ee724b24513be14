// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "free_port.h"

namespace kvmvnc::testing {

// Runs the real kvmvncd binary with an INI file written from `configText`
// (a "[server]" section with listen and port is prepended), waits until it
// accepts connections, and on stop() sends SIGTERM and expects a clean exit.
// Its log goes to a file that log() returns.
class DaemonProcess {
public:
    // `port` 0 picks a free one.
    explicit DaemonProcess(const std::string &configText, int port = 0);
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess &) = delete;
    DaemonProcess &operator=(const DaemonProcess &) = delete;

    // False when the daemon exited or did not listen within the timeout.
    bool start(std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});
    // SIGTERM, then the exit status (or -signal); -1000 if it had to be killed.
    int stop();
    bool isRunning();
    // Sends `signalNumber` (SIGHUP: reload); false if it is not running.
    bool sendSignal(int signalNumber);
    // Waits for the daemon to exit by itself: its exit status, or -1 if it
    // is still running after `timeout`.
    int waitForExit(std::chrono::milliseconds timeout);

    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    // A path in the daemon's own directory, where its INI file is: relative
    // paths in the configuration land here.
    std::string path(const std::string &name) const { return dir_ + "/" + name; }
    std::string log() const;
    // Waits until the log contains `text`; false after `timeout`.
    bool waitForLog(const std::string &text, std::chrono::milliseconds timeout) const;

private:
    int port_;
    std::string dir_;
    std::string configPath_;
    std::string logPath_;
    pid_t pid_ = -1;
    int exitStatus_ = -1;  // once the process has been reaped
};

// Path of the kvmvncd binary under test.
std::string daemonBinary();

}  // namespace kvmvnc::testing
