// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "wait_until.h"

namespace kvmvnc::testing {

namespace {

bool portAccepts(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

std::string daemonBinary() {
    const char *fromEnv = std::getenv("KVMVNCD");
    return fromEnv ? fromEnv : KVMVNC_DAEMON_PATH;
}

DaemonProcess::DaemonProcess(const std::string &configText, int port)
    : port_(port > 0 ? port : freePort()) {
    char templ[] = "/tmp/kvmvnc-test-XXXXXX";
    if (!::mkdtemp(templ))
        throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    configPath_ = dir_ + "/kvmvnc.ini";
    logPath_ = dir_ + "/kvmvncd.log";
    // The self-signed certificate goes in the daemon's directory (tls/cert.pem,
    // for viewers' CA option), not in /var/lib.
    std::ofstream(configPath_) << "[security]\ntls_dir = tls\n"
                               << "[server]\nlisten = 127.0.0.1\nport = " << port_ << "\n"
                               << configText;
}

DaemonProcess::~DaemonProcess() {
    stop();
    std::filesystem::remove_all(dir_);
}

bool DaemonProcess::start(std::chrono::milliseconds timeout) {
    std::string binary = daemonBinary();
    pid_ = ::fork();
    if (pid_ == 0) {
        int logFd = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(logFd, STDERR_FILENO);
        ::dup2(logFd, STDOUT_FILENO);
        ::execl(binary.c_str(), binary.c_str(), "--config", configPath_.c_str(),
                static_cast<char *>(nullptr));
        ::_exit(127);
    }
    bool exited = false;
    const bool over = waitUntil(
        [&] {
            exited = !isRunning();
            return exited || portAccepts(port_);
        },
        timeout, std::chrono::milliseconds{20});
    return over && !exited;
}

bool DaemonProcess::isRunning() {
    if (pid_ <= 0)
        return false;
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
        pid_ = -1;
        exitStatus_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        return false;
    }
    return true;
}

bool DaemonProcess::sendSignal(int signalNumber) {
    return isRunning() && ::kill(pid_, signalNumber) == 0;
}

int DaemonProcess::waitForExit(std::chrono::milliseconds timeout) {
    if (!waitUntil([&] { return !isRunning(); }, timeout))
        return -1;
    return exitStatus_;
}

int DaemonProcess::stop() {
    if (pid_ <= 0)
        return 0;
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (waitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                  std::chrono::seconds{5})) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1000;
}

std::string DaemonProcess::log() const {
    std::ifstream file(logPath_);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

bool DaemonProcess::waitForLog(const std::string &text, std::chrono::milliseconds timeout) const {
    return waitUntil([&] { return log().find(text) != std::string::npos; }, timeout,
                     std::chrono::milliseconds{50});
}

}  // namespace kvmvnc::testing
