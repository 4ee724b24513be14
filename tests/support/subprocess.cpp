// SPDX-License-Identifier: GPL-2.0-or-later
#include "subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "wait_until.h"

namespace kvmvnc::testing {

Subprocess::~Subprocess() { stop(); }

bool Subprocess::start(const std::vector<std::string> &argv, const std::vector<std::string> &env,
                       const std::string &outputPath, int keepFd) {
    pid_ = ::fork();
    if (pid_ < 0)
        return false;
    if (pid_ == 0) {
        ::setpgid(0, 0);
        int out = ::open(outputPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ::dup2(in, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        if (keepFd >= 0)
            ::fcntl(keepFd, F_SETFD, 0);
        for (const std::string &assignment : env)
            ::putenv(const_cast<char *>(assignment.c_str()));
        std::vector<char *> args;
        for (const std::string &arg : argv)
            args.push_back(const_cast<char *>(arg.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    return true;
}

int Subprocess::wait(std::chrono::milliseconds timeout) {
    int status = 0;
    if (pid_ <= 0 || !waitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout))
        return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool Subprocess::isRunning() {
    if (pid_ <= 0)
        return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

void Subprocess::stop() {
    if (pid_ <= 0)
        return;
    ::kill(-pid_, SIGTERM);
    if (wait(std::chrono::seconds{3}) == -1 && pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
}

int runCommand(const std::vector<std::string> &argv, const std::vector<std::string> &env,
               std::chrono::milliseconds timeout, const std::string &outputPath) {
    Subprocess process;
    if (!process.start(argv, env, outputPath))
        return -1;
    int status = process.wait(timeout);
    if (status == -1)
        process.stop();
    return status;
}

bool haveProgram(const std::string &program) {
    return runCommand({"sh", "-c", "command -v " + program}, {}, std::chrono::seconds{5}) == 0;
}

}  // namespace kvmvnc::testing
