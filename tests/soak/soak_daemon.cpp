// SPDX-License-Identifier: GPL-2.0-or-later
#include "soak_daemon.h"

#include <dirent.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kvmvnc/door/vnc_password_file.h"
#include "watchdog.h"

namespace kvmvnc::soak {

using Clock = std::chrono::steady_clock;

ProcessSample sampleProcess(pid_t pid) {
    ProcessSample sample;
    if (pid <= 0)
        return sample;
    const std::string proc = "/proc/" + std::to_string(pid);
    std::ifstream status(proc + "/status");
    std::string line;
    int threads = -1;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            sample.rssMiB = std::atof(line.c_str() + 6) / 1024.0;
        else if (line.rfind("Threads:", 0) == 0)
            threads = std::atoi(line.c_str() + 8);
    }
    DIR *dir = ::opendir((proc + "/fd").c_str());
    if (!dir)
        return ProcessSample{};
    int fds = 0;
    while (const dirent *entry = ::readdir(dir))
        fds += entry->d_name[0] != '.';
    ::closedir(dir);
    sample.threads = threads;
    sample.fds = fds;
    return sample;
}

LogCounts countLog(const std::string &text) {
    LogCounts counts;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        ++counts.lines;
        if (line.rfind("I ", 0) == 0)
            ++counts.info;
        else if (line.rfind("W ", 0) == 0)
            ++counts.warnings;
        else if (line.rfind("E ", 0) == 0)
            ++counts.errors;
        counts.brokenPipe += line.find("Broken pipe") != std::string::npos;
        counts.connectionReset += line.find("Connection reset") != std::string::npos;
    }
    return counts;
}

namespace {

std::string gLogDirectory;

std::string configText(const Settings &settings, const DaemonOptions &options) {
    return "passwd_file = vncpasswd\nmax_clients = " + std::to_string(options.maxClients) +
           "\n[security]\nallow_unencrypted = true\nhandshake_timeout_ms = " +
           std::to_string(options.handshakeTimeout.count()) +
           "\n[capture]\nwidth = " + std::to_string(settings.screen.width) +
           "\nheight = " + std::to_string(settings.screen.height) +
           "\nfps = " + std::to_string(settings.fps) +
           "\n[virtual]\nboot_seconds = 0\nanimate = true\n"
           // Short presses, so the stall scenario can time several.
           "[atx]\nclick_ms = 100\nbusy_after_ms = 100\n"
           "[msd]\nstorage = " +
           options.storage + "\n";
}

}  // namespace

void SoakDaemon::setLogDirectory(std::string directory) {
    std::filesystem::create_directories(directory);
    gLogDirectory = std::move(directory);
}

SoakDaemon::SoakDaemon(const Settings &settings, const DaemonOptions &options)
    : name_(options.name), process_(configText(settings, options)) {
    const std::vector<uint8_t> passwords = door::encodeVncPasswordFile({kPassword, ""});
    std::ofstream(process_.path("vncpasswd"), std::ios::binary)
        .write(reinterpret_cast<const char *>(passwords.data()),
               static_cast<std::streamsize>(passwords.size()));
}

SoakDaemon::~SoakDaemon() {
    Watchdog::forget(process_.pid());
    process_.stop();
    if (gLogDirectory.empty())
        return;
    std::string path = gLogDirectory + "/" + name_ + ".log";
    for (int n = 2; std::filesystem::exists(path); ++n)
        path = gLogDirectory + "/" + name_ + "-" + std::to_string(n) + ".log";
    std::ofstream(path) << process_.log();
}

bool SoakDaemon::start(ScenarioReport &report) {
    if (process_.start(std::chrono::seconds{30})) {
        Watchdog::remember(process_.pid());
        return true;
    }
    report.fail("kvmvncd did not start:\n" + logTail(20));
    return false;
}

testing::ViewerOptions SoakDaemon::viewerOptions(bool continuousUpdates) const {
    testing::ViewerOptions options;
    options.port = process_.port();
    options.encodings = "tight copyrect";
    options.qualityLevel = 6;
    options.password = kPassword;
    options.caFile = process_.path("tls/cert.pem");
    options.continuousUpdates = continuousUpdates;
    options.readTimeoutSeconds = 30;
    return options;
}

ctl::ConnectOptions SoakDaemon::controlOptions(int timeoutSeconds) const {
    ctl::ConnectOptions options;
    options.port = process_.port();
    options.password = kPassword;
    options.caFile = process_.path("tls/cert.pem");
    options.timeoutSeconds = timeoutSeconds;
    return options;
}

LogCounts SoakDaemon::logSince(size_t mark) const {
    const std::string log = process_.log();
    return countLog(mark < log.size() ? log.substr(mark) : std::string());
}

std::string SoakDaemon::logTail(size_t lines) const {
    const std::string log = process_.log();
    size_t at = log.size();
    for (size_t n = 0; n <= lines && at > 0; ++n)
        at = log.rfind('\n', at - 1);
    return at == std::string::npos ? log : log.substr(at + 1);
}

bool SoakDaemon::endWith(int signalNumber) {
    Watchdog::forget(process_.pid());
    return process_.sendSignal(signalNumber);
}

void SoakDaemon::stopAndCheck(ScenarioReport &report) {
    const bool running = process_.isRunning();
    report.add("kvmvncd still running at the end", running ? "yes" : "no",
               running ? Verdict::Ok : Verdict::Fail, running ? "" : "it crashed");
    if (!running) {
        report.add("its log ends", logTail(15), Verdict::Info);
        return;
    }
    Watchdog::forget(process_.pid());
    const int status = process_.stop();
    report.add("exit status after SIGTERM", std::to_string(status),
               status == 0 ? Verdict::Ok : Verdict::Fail,
               status == 0 ? "" : (status == -1000 ? "killed after 5 s" : "not a clean exit"));
    report.json().add("exit_status", static_cast<double>(status));
}

ProcessSample settle(pid_t pid, const ProcessSample &before, const Settings &settings, bool full,
                     double &waitedSeconds) {
    const Clock::time_point start = Clock::now();
    const Clock::time_point deadline = start + settings.settle;
    ProcessSample now = sampleProcess(pid);
    auto back = [&](const ProcessSample &s) {
        return s.valid() && s.fds <= before.fds && s.threads <= before.threads;
    };
    while (Clock::now() < deadline && (full || !back(now)) && now.valid()) {
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
        now = sampleProcess(pid);
    }
    waitedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    return now;
}

void reportGrowth(ScenarioReport &report, const Settings &settings, const ProcessSample &before,
                  const ProcessSample &after, const ProcessSample &settled,
                  const std::string &settleText) {
    report.add("kvmvncd RSS MiB before / after / " + settleText,
               format("%.1f / %.1f / %.1f", before.rssMiB, after.rssMiB, settled.rssMiB));
    const int fdGrowth = settled.fds - before.fds;
    const int threadGrowth = settled.threads - before.threads;
    const bool fdsOk = settled.valid() && fdGrowth <= settings.fdTolerance;
    const bool threadsOk = settled.valid() && threadGrowth <= settings.threadTolerance;
    report.add("descriptors before / after / " + settleText,
               format("%d / %d / %d", before.fds, after.fds, settled.fds),
               fdsOk ? Verdict::Ok : Verdict::Fail,
               fdsOk ? "" : format("%+d (tolerance %d)", fdGrowth, settings.fdTolerance));
    report.add(
        "threads before / after / " + settleText,
        format("%d / %d / %d", before.threads, after.threads, settled.threads),
        threadsOk ? Verdict::Ok : Verdict::Fail,
        threadsOk ? "" : format("%+d (tolerance %d)", threadGrowth, settings.threadTolerance));
    report.json()
        .add("rss_mib_before", before.rssMiB)
        .add("rss_mib_after", after.rssMiB)
        .add("rss_mib_settled", settled.rssMiB)
        .add("fds_before", static_cast<double>(before.fds))
        .add("fds_after", static_cast<double>(after.fds))
        .add("fds_settled", static_cast<double>(settled.fds))
        .add("threads_before", static_cast<double>(before.threads))
        .add("threads_after", static_cast<double>(after.threads))
        .add("threads_settled", static_cast<double>(settled.threads));
}

}  // namespace kvmvnc::soak
