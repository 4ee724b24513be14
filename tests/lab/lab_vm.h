// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kvmvnc::lab {

// Where the guest image is (tests/lab/build-image.sh writes it): the
// KVMVNC_LAB_IMAGE environment variable, else the build's image folder.
std::string imageDir();

// Why the lab cannot run on this machine (no image, no QEMU), or empty.
std::string unavailableReason();

// Whether a lab test runs: `skip` when KVMVNC_LAB_SKIP=1 outside CI (CI=true
// never skips: the lab is part of the suite); otherwise a non-empty
// `problem` means the test must fail.
struct LabCheck {
    bool skip = false;
    std::string problem;
};
LabCheck checkLab();

// "KVMVNC-LAB key=value key="two words"" from the guest's console.
using Report = std::map<std::string, std::string>;
std::optional<Report> parseReport(const std::string &line);

// One guest of the virtual appliance lab: a Debian kernel under QEMU (TCG)
// booted into the lab initramfs, running one scenario (guest/scenario-NAME.sh).
//
// The guest's console (ttyS0) goes to a file this class reads; its second
// serial port (ttyS1) is the command channel: command() sends "ID VERB ARGS"
// and returns the verb's output and status. TCP port 5900 in the guest is
// forwarded from vncPort() on 127.0.0.1.
//
// QEMU dies with the test process (PR_SET_PDEATHSIG) and is killed by the
// destructor, so no guest outlives its test.
class LabVm {
public:
    struct Options {
        std::string scenario;
        int memoryMb = 768;
        int cpus = 1;
        std::chrono::seconds bootTimeout{120};
    };
    struct Reply {
        int rc = -1;  // the verb's status; -1: no answer in time
        std::string output;
    };

    explicit LabVm(Options options);
    ~LabVm();
    LabVm(const LabVm &) = delete;
    LabVm &operator=(const LabVm &) = delete;

    // Starts QEMU and waits for "event=ready"; false with error() on
    // failure (QEMU exits, the scenario reports event=failed, timeout).
    bool boot();
    const std::string &error() const { return error_; }
    int vncPort() const { return vncPort_; }
    // Seconds from starting QEMU to the guest's "event=ready".
    double bootSeconds() const { return bootSeconds_; }

    // Runs VERB with ARGS in the guest ("kvmvncd-start YUYV").
    Reply command(const std::string &line,
                  std::chrono::milliseconds timeout = std::chrono::seconds{60});

    // The console so far, and its structured lines.
    std::string console() const;
    std::vector<Report> reports() const;
    // Waits until a report satisfies `match`; returns it.
    std::optional<Report> waitForReport(const std::function<bool(const Report &)> &match,
                                        std::chrono::milliseconds timeout);

    // Asks the guest to power off ("quit": kvmvncd is stopped first) and
    // waits for QEMU to exit; true when it did on its own.
    bool powerOff(std::chrono::milliseconds timeout = std::chrono::seconds{30});
    bool isRunning();

    // Everything that explains a failure: the console, QEMU's output, and
    // (while the guest answers) kvmvncd's log and the kernel log.
    std::string diagnostics();

private:
    bool startQemu();
    void kill();
    std::string readFile(const std::string &path) const;

    Options options_;
    std::string dir_;
    std::string consolePath_;
    std::string qemuLogPath_;
    std::string socketPath_;
    pid_t pid_ = -1;
    int exitStatus_ = -1;
    int channel_ = -1;
    std::string channelBuffer_;
    int nextId_ = 1;
    int vncPort_ = 0;
    double bootSeconds_ = 0;
    std::string error_;
};

}  // namespace kvmvnc::lab
