// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "daemon_process.h"
#include "kvmvnc/ctl/control_client.h"
#include "raw_rfb_connection.h"
#include "scenarios.h"
#include "test_viewer.h"

namespace kvmvnc::soak {

// What /proc says about a process; negative when it is gone.
struct ProcessSample {
    double rssMiB = -1;  // VmRSS
    int threads = -1;
    int fds = -1;  // entries of /proc/PID/fd
    bool valid() const { return threads >= 0 && fds >= 0; }
};
ProcessSample sampleProcess(pid_t pid);

// Lines of a kvmvncd log ("W rfb: ..."), by level, and the two socket errors
// an ordinary disconnect should not produce.
struct LogCounts {
    int lines = 0;
    int info = 0;
    int warnings = 0;
    int errors = 0;
    int brokenPipe = 0;
    int connectionReset = 0;
};
LogCounts countLog(const std::string &text);

// The keys a scenario chooses; the rest is the same for all.
struct DaemonOptions {
    std::string name;  // the scenario's, for the saved log
    int maxClients = 16;
    std::chrono::milliseconds handshakeTimeout{10000};
    std::string storage = "images";  // relative to the daemon's folder, or absolute
};

// A raw connection's options in the soak: the daemon is under load, so
// each step may take up to 30 s.
inline testing::RawRfbOptions rawOptions(int receiveBuffer = 0) {
    return {.receiveBuffer = receiveBuffer,
            .timeout = std::chrono::seconds{30},
            .sendTimeout = std::chrono::seconds{30}};
}

// kvmvncd as every scenario runs it: the animated virtual target (a ball
// moves every frame, so viewers in continuous mode get a steady stream of
// updates) at the settings' size and frame rate, booted at once; a VNC
// password, which viewers give through VeNCrypt X509Vnc after checking the
// daemon's self-signed certificate; and plain VNC authentication allowed as
// well, on loopback, for raw connections, which speak no TLS. Registered with the
// watchdog while it runs.
class SoakDaemon {
public:
    static constexpr char kPassword[] = "soak-pw";

    // Where each daemon's log is copied when it ends (NAME.log, NAME-2.log,
    // ...); empty: nowhere. Set before the first daemon starts.
    static void setLogDirectory(std::string directory);

    SoakDaemon(const Settings &settings, const DaemonOptions &options);
    ~SoakDaemon();
    SoakDaemon(const SoakDaemon &) = delete;
    SoakDaemon &operator=(const SoakDaemon &) = delete;

    // False (with the log's end in `report`) when it did not come up.
    bool start(ScenarioReport &report);
    testing::DaemonProcess &process() { return process_; }
    int port() const { return process_.port(); }
    pid_t pid() const { return process_.pid(); }
    ProcessSample sample() const { return sampleProcess(process_.pid()); }

    // A libvncclient viewer's options: Tight JPEG at noVNC's quality level,
    // the password, the certificate, a read timeout.
    testing::ViewerOptions viewerOptions(bool continuousUpdates) const;
    ctl::ConnectOptions controlOptions(int timeoutSeconds) const;

    // The log's length now, to count what a step adds with logSince().
    size_t logMark() const { return process_.log().size(); }
    LogCounts logSince(size_t mark) const;
    // The last `lines` lines of the log, for failure messages.
    std::string logTail(size_t lines) const;

    // Sends SIGKILL or SIGTERM, and the watchdog forgets the daemon first:
    // its process id is free for reuse once it has been reaped.
    bool endWith(int signalNumber);

    // Whether it still runs (a Fail row if not: it crashed), then SIGTERM
    // and its exit status (a Fail row unless 0).
    void stopAndCheck(ScenarioReport &report);

private:
    std::string name_;
    testing::DaemonProcess process_;
};

// Adds rows comparing `settled` with `before` (Fail beyond the settings'
// tolerances) and RSS before, after and settled.
void reportGrowth(ScenarioReport &report, const Settings &settings, const ProcessSample &before,
                  const ProcessSample &after, const ProcessSample &settled,
                  const std::string &settleText);

// Waits until the process has no more descriptors and threads than
// `before` or the settings' settle time has passed (with `full`, the whole
// settle time, for the memory figure); its state then.
ProcessSample settle(pid_t pid, const ProcessSample &before, const Settings &settings, bool full,
                     double &waitedSeconds);

}  // namespace kvmvnc::soak
