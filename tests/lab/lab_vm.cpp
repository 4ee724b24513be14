// SPDX-License-Identifier: GPL-2.0-or-later
#include "lab_vm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "daemon_process.h"
#include "subprocess.h"

namespace kvmvnc::lab {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char *kReportPrefix = "KVMVNC-LAB ";

bool fileExists(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string environment(const char *name) {
    const char *value = std::getenv(name);
    return value ? value : "";
}

}  // namespace

std::string imageDir() {
    std::string fromEnv = environment("KVMVNC_LAB_IMAGE");
    return fromEnv.empty() ? KVMVNC_LAB_IMAGE_DIR : fromEnv;
}

std::string unavailableReason() {
    if (!testing::haveProgram("qemu-system-x86_64"))
        return "qemu-system-x86_64 is not installed (package qemu-system-x86; packaging/dev.sh "
               "build installs it)";
    std::string dir = imageDir();
    if (!fileExists(dir + "/vmlinuz") || !fileExists(dir + "/initrd.img"))
        return "no lab image in " + dir +
               " (the lab_image test builds it: ctest -L lab, or tests/lab/build-image.sh)";
    // The build's own image must hold the kvmvncd just built (ctest runs
    // lab_image first; a test binary run by hand does not).
    struct stat image {};
    struct stat daemon {};
    if (environment("KVMVNC_LAB_IMAGE").empty() &&
        ::stat((dir + "/initrd.img").c_str(), &image) == 0 &&
        ::stat(testing::daemonBinary().c_str(), &daemon) == 0 &&
        daemon.st_mtim.tv_sec > image.st_mtim.tv_sec)
        return "the lab image in " + dir + " is older than " + testing::daemonBinary() +
               " (ctest -R lab_image rebuilds it)";
    return {};
}

LabCheck checkLab() {
    LabCheck check;
    if (environment("KVMVNC_LAB_SKIP") == "1" && environment("CI") != "true") {
        check.skip = true;
        check.problem = "KVMVNC_LAB_SKIP=1";
        return check;
    }
    check.problem = unavailableReason();
    return check;
}

std::optional<Report> parseReport(const std::string &line) {
    size_t start = line.find(kReportPrefix);
    if (start == std::string::npos)
        return std::nullopt;
    Report report;
    size_t i = start + std::strlen(kReportPrefix);
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ')
            ++i;
        size_t eq = line.find('=', i);
        if (eq == std::string::npos)
            break;
        std::string key = line.substr(i, eq - i);
        std::string value;
        i = eq + 1;
        if (i < line.size() && line[i] == '"') {
            size_t end = line.find('"', i + 1);
            if (end == std::string::npos)
                end = line.size();
            value = line.substr(i + 1, end - i - 1);
            i = end + 1;
        } else {
            size_t end = line.find(' ', i);
            if (end == std::string::npos)
                end = line.size();
            value = line.substr(i, end - i);
            i = end;
        }
        report[key] = value;
    }
    return report;
}

LabVm::LabVm(Options options) : options_(std::move(options)) {
    char templ[] = "/tmp/kvmvnc-lab-XXXXXX";
    if (!::mkdtemp(templ))
        throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    consolePath_ = dir_ + "/console.log";
    qemuLogPath_ = dir_ + "/qemu.log";
    socketPath_ = dir_ + "/channel.sock";
}

LabVm::~LabVm() {
    if (isRunning())
        powerOff(10s);
    kill();
    if (channel_ >= 0)
        ::close(channel_);
    for (const std::string &path : {consolePath_, qemuLogPath_, socketPath_})
        std::remove(path.c_str());
    ::rmdir(dir_.c_str());
}

std::string LabVm::readFile(const std::string &path) const {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool LabVm::startQemu() {
    std::string image = imageDir();
    vncPort_ = testing::freePort();
    std::vector<std::string> argv = {
        "qemu-system-x86_64",
        "-accel",
        "tcg",  // -enable-kvm hangs on these machines (LAB.md)
        "-cpu",
        "max",
        "-smp",
        std::to_string(options_.cpus),
        "-m",
        std::to_string(options_.memoryMb),
        "-nographic",
        "-monitor",
        "none",
        "-no-reboot",
        "-kernel",
        image + "/vmlinuz",
        "-initrd",
        image + "/initrd.img",
        "-append",
        "console=ttyS0 quiet panic=-1 kvmvnc.scenario=" + options_.scenario,
        "-nic",
        "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:" + std::to_string(vncPort_) + "-:5900",
        "-serial",
        "file:" + consolePath_,
        "-serial",
        "unix:" + socketPath_ + ",server=on,wait=off",
    };
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0)
        return false;
    if (pid_ == 0) {
        // QEMU must not outlive a test that crashes or times out.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        ::setpgid(0, 0);
        int out = ::open(qemuLogPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ::dup2(in, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        std::vector<char *> args;
        for (std::string &arg : argv)
            args.push_back(arg.data());
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    exitStatus_ = -1;

    // The channel's socket appears once QEMU has set up its devices.
    auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
        if (!isRunning())
            return false;
        if (fileExists(socketPath_)) {
            int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            std::strncpy(address.sun_path, socketPath_.c_str(), sizeof(address.sun_path) - 1);
            if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0) {
                channel_ = fd;
                return true;
            }
            ::close(fd);
        }
        std::this_thread::sleep_for(20ms);
    }
    error_ = "QEMU's command channel did not appear";
    return false;
}

bool LabVm::boot() {
    auto start = Clock::now();
    bool started = false;
    // The forwarded port is picked free before QEMU binds it; another
    // process may take it meanwhile, so try a few.
    for (int attempt = 0; attempt < 3 && !started; ++attempt) {
        started = startQemu();
        if (!started) {
            kill();
            if (readFile(qemuLogPath_).find("Could not set up host forwarding") ==
                std::string::npos)
                break;
        }
    }
    if (!started) {
        if (error_.empty())
            error_ = "QEMU did not start: " + readFile(qemuLogPath_);
        return false;
    }
    std::optional<Report> ready = waitForReport(
        [](const Report &r) {
            auto event = r.find("event");
            return event != r.end() && (event->second == "ready" || event->second == "failed");
        },
        options_.bootTimeout);
    if (!ready) {
        error_ = isRunning() ? "the guest was not ready within " +
                                   std::to_string(options_.bootTimeout.count()) + " s"
                             : "QEMU exited during boot";
        return false;
    }
    if (ready->at("event") == "failed") {
        error_ = "the scenario failed to set up: " + (*ready)["reason"];
        return false;
    }
    bootSeconds_ = std::chrono::duration<double>(Clock::now() - start).count();
    return true;
}

LabVm::Reply LabVm::command(const std::string &line, std::chrono::milliseconds timeout) {
    Reply reply;
    if (channel_ < 0 || !isRunning()) {
        reply.output = "the guest is not running";
        return reply;
    }
    int id = nextId_++;
    std::string request = std::to_string(id) + " " + line + "\n";
    if (::send(channel_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        reply.output = "cannot write to the command channel";
        return reply;
    }
    const std::string out = "OUT " + std::to_string(id) + " ";
    const std::string ack = "ACK " + std::to_string(id) + " rc=";
    auto deadline = Clock::now() + timeout;
    for (;;) {
        size_t newline;
        while ((newline = channelBuffer_.find('\n')) != std::string::npos) {
            std::string text = channelBuffer_.substr(0, newline);
            channelBuffer_.erase(0, newline + 1);
            if (text.rfind(out, 0) == 0) {
                reply.output += text.substr(out.size()) + "\n";
            } else if (text.rfind(ack, 0) == 0) {
                reply.rc = std::atoi(text.c_str() + ack.size());
                return reply;
            }
            // Anything else answers an earlier command that timed out.
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms || !isRunning()) {
            reply.output += left <= 0ms ? "(no answer in time)" : "(the guest stopped)";
            return reply;
        }
        pollfd pfd{channel_, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
        if (ready > 0) {
            char buffer[4096];
            ssize_t n = ::recv(channel_, buffer, sizeof(buffer), 0);
            if (n <= 0) {
                reply.output += "(the command channel closed)";
                return reply;
            }
            channelBuffer_.append(buffer, static_cast<size_t>(n));
        }
    }
}

std::string LabVm::console() const { return readFile(consolePath_); }

std::vector<Report> LabVm::reports() const {
    std::vector<Report> result;
    std::istringstream lines(console());
    std::string line;
    while (std::getline(lines, line)) {
        if (std::optional<Report> report = parseReport(line))
            result.push_back(std::move(*report));
    }
    return result;
}

std::optional<Report> LabVm::waitForReport(const std::function<bool(const Report &)> &match,
                                           std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        for (const Report &report : reports()) {
            if (match(report))
                return report;
        }
        if (Clock::now() >= deadline || !isRunning())
            return std::nullopt;
        std::this_thread::sleep_for(50ms);
    }
}

bool LabVm::isRunning() {
    if (pid_ <= 0)
        return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        return false;
    }
    return true;
}

bool LabVm::powerOff(std::chrono::milliseconds timeout) {
    if (!isRunning())
        return exitStatus_ == 0;
    command("quit", timeout);
    auto deadline = Clock::now() + timeout;
    while (isRunning()) {
        if (Clock::now() >= deadline) {
            kill();
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
    return exitStatus_ == 0;
}

void LabVm::kill() {
    if (pid_ <= 0)
        return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exitStatus_ = 128 + SIGKILL;
}

std::string LabVm::diagnostics() {
    std::string text =
        "===== lab guest console (scenario " + options_.scenario + ") =====\n" + console();
    std::string qemu = readFile(qemuLogPath_);
    if (!qemu.empty())
        text += "===== QEMU =====\n" + qemu;
    if (isRunning()) {
        Reply log = command("kvmvncd-log", 10s);
        text += "===== kvmvncd log =====\n" + log.output;
        Reply dmesg = command("dmesg", 10s);
        text += "===== guest kernel log =====\n" + dmesg.output;
    }
    return text;
}

}  // namespace kvmvnc::lab
