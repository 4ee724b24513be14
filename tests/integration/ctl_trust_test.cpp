// SPDX-License-Identifier: GPL-2.0-or-later
// Whom kvmvncctl gives a password to: without a CA file it pins the
// daemon's certificate on first use in a known-hosts file (asking on a
// terminal, never where nobody can answer), refuses a changed one before
// anything is sent, and gives nothing to a server that asks for nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon_process.h"
#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/ctl/control_client.h"
#include "kvmvnc/door/vnc_password_file.h"
#include "subprocess.h"
#include "wait_until.h"

namespace kvmvnc::testing {
namespace {

using namespace std::chrono_literals;

std::string readFile(const std::string &path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

std::string ctlPath() {
    return std::filesystem::path(daemonBinary()).parent_path().parent_path() / "ctl" / "kvmvncctl";
}

const std::string kFullPassword = std::string(KVMVNC_TEST_DATA) + "/full_only.passwd";

// The fingerprint a daemon logged at start.
std::string loggedFingerprint(const DaemonProcess &daemon) {
    const std::string log = daemon.log();
    const size_t at = log.find("fingerprint SHA256:");
    if (at == std::string::npos)
        return {};
    const size_t start = at + std::strlen("fingerprint ");
    return log.substr(start, log.find('\n', start) - start);
}

class CtlTrustTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/kvmvnc-ctl-trust-" + std::to_string(::getpid());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        knownHosts_ = dir_ + "/known_hosts";
    }
    void TearDown() override {
        if (daemon_) {
            EXPECT_TRUE(daemon_->isRunning()) << daemon_->log();
            EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
        }
        std::filesystem::remove_all(dir_);
    }

    // A daemon with a VNC password (or none), on `port` (0: any); each has
    // its own directory, so its own self-signed certificate.
    void start(bool passwords = true, int port = 0) {
        daemon_ = std::make_unique<DaemonProcess>(
            (passwords
                 ? "passwd_file = " + std::string(KVMVNC_TEST_DATA) + "/full_and_viewonly.passwd\n"
                 : std::string()) +
                "[capture]\nwidth = 640\nheight = 480\n[virtual]\nanimate = false\n"
                "boot_seconds = 0\n",
            port);
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
    }

    std::vector<std::string> argv(const std::vector<std::string> &args) const {
        std::vector<std::string> all = {ctlPath(), "--host",
                                        "127.0.0.1:" + std::to_string(daemon_->port())};
        all.insert(all.end(), args.begin(), args.end());
        all.insert(all.end(), {"atx", "status"});
        return all;
    }
    // kvmvncctl ... atx status, standard input not a terminal: its exit
    // status, with its output in out_.
    int ctl(const std::vector<std::string> &args, const std::vector<std::string> &env = {}) {
        const std::string output = dir_ + "/ctl.out";
        const int status = runCommand(argv(args), env, 60s, output);
        out_ = readFile(output);
        return status;
    }
    // The same with a terminal as standard input, on which `answer` is
    // typed.
    int ctlOnTerminal(const std::vector<std::string> &args, const std::string &answer) {
        int master = -1;
        int terminal = -1;
        if (::openpty(&master, &terminal, nullptr, nullptr, nullptr) != 0)
            return -1;
        UniqueFd ours(master);
        UniqueFd theirs(terminal);
        // Waits in the terminal's input until kvmvncctl reads its answer.
        const std::string typed = answer + "\n";
        if (::write(master, typed.data(), typed.size()) != static_cast<ssize_t>(typed.size()))
            return -1;
        const std::string output = dir_ + "/ctl.out";
        const std::vector<std::string> all = argv(args);
        const pid_t pid = ::fork();
        if (pid == 0) {
            const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(terminal, STDIN_FILENO);
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
            std::vector<char *> pointers;
            for (const std::string &arg : all)
                pointers.push_back(const_cast<char *>(arg.c_str()));
            pointers.push_back(nullptr);
            ::execv(pointers[0], pointers.data());
            ::_exit(127);
        }
        theirs.reset();
        int status = -1;
        if (!waitUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 60s)) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        out_ = readFile(output);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    std::string dir_;
    std::string knownHosts_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::string out_;
};

TEST_F(CtlTrustTest, ANewServerIsRefusedWithoutATerminalAndPinnedWithAcceptNew) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string fingerprint = loggedFingerprint(*daemon_);
    ASSERT_FALSE(fingerprint.empty()) << daemon_->log();

    EXPECT_EQ(ctl({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword}), 3) << out_;
    EXPECT_NE(out_.find("is not known yet"), std::string::npos) << out_;
    EXPECT_NE(out_.find(fingerprint), std::string::npos) << out_;
    EXPECT_NE(out_.find("--accept-new"), std::string::npos) << out_;
    EXPECT_FALSE(std::filesystem::exists(knownHosts_));
    EXPECT_EQ(daemon_->log().find("admitted"), std::string::npos) << daemon_->log();

    EXPECT_EQ(ctl({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword, "--accept-new"}),
              0)
        << out_;
    EXPECT_NE(out_.find("power: on"), std::string::npos) << out_;
    EXPECT_NE(out_.find("trusting 127.0.0.1:" + std::to_string(daemon_->port())), std::string::npos)
        << out_;
    EXPECT_EQ(readFile(knownHosts_),
              "127.0.0.1:" + std::to_string(daemon_->port()) + " " + fingerprint + "\n");
    struct stat status {};
    ASSERT_EQ(::stat(knownHosts_.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0600u);

    // Known now: no option needed, nothing said.
    EXPECT_EQ(ctl({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword}), 0) << out_;
    EXPECT_EQ(out_.find("kvmvncctl:"), std::string::npos) << out_;

    // Fetching the certificate leaves no trace in the daemon's log.
    EXPECT_EQ(daemon_->log().find("neither RFB"), std::string::npos) << daemon_->log();
}

TEST_F(CtlTrustTest, AChangedCertificateIsRefusedBeforeThePasswordGoes) {
    ASSERT_NO_FATAL_FAILURE(start());
    const int port = daemon_->port();
    const std::string first = loggedFingerprint(*daemon_);
    ASSERT_EQ(ctl({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword, "--accept-new"}),
              0)
        << out_;
    const std::string pinned = readFile(knownHosts_);

    // Another daemon, another certificate, the same host and port.
    EXPECT_EQ(daemon_->stop(), 0);
    daemon_.reset();
    ASSERT_NO_FATAL_FAILURE(start(true, port));
    const std::string second = loggedFingerprint(*daemon_);
    ASSERT_NE(first, second);

    for (bool acceptNew : {false, true}) {
        std::vector<std::string> args = {"--known-hosts", knownHosts_, "--passwd-file",
                                         kFullPassword};
        if (acceptNew)
            args.push_back("--accept-new");  // new hosts only, not changed ones
        EXPECT_EQ(ctl(args), 3) << out_;
        EXPECT_NE(out_.find("HAS CHANGED"), std::string::npos) << out_;
        EXPECT_NE(out_.find("known (" + knownHosts_ + " line 1): " + first), std::string::npos)
            << out_;
        EXPECT_NE(out_.find("shown now: " + second), std::string::npos) << out_;
        EXPECT_NE(out_.find("delete line 1 of " + knownHosts_), std::string::npos) << out_;
    }
    EXPECT_EQ(readFile(knownHosts_), pinned);
    // The right password never reached the daemon: it would have let it in.
    EXPECT_EQ(daemon_->log().find("admitted"), std::string::npos) << daemon_->log();
    EXPECT_EQ(daemon_->log().find("wrong"), std::string::npos) << daemon_->log();
}

TEST_F(CtlTrustTest, ACaFileNeedsNoKnownHostsEntry) {
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_EQ(ctl({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword, "--ca-file",
                   daemon_->path("tls/cert.pem")}),
              0)
        << out_;
    EXPECT_FALSE(std::filesystem::exists(knownHosts_));
}

TEST_F(CtlTrustTest, TheKnownHostsFileIsInTheUsersConfiguration) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string line =
        "127.0.0.1:" + std::to_string(daemon_->port()) + " " + loggedFingerprint(*daemon_) + "\n";
    EXPECT_EQ(ctl({"--passwd-file", kFullPassword, "--accept-new"},
                  {"XDG_CONFIG_HOME=" + dir_ + "/xdg", "HOME=" + dir_ + "/home"}),
              0)
        << out_;
    EXPECT_EQ(readFile(dir_ + "/xdg/kvmvnc/known_hosts"), line);
    EXPECT_EQ(ctl({"--passwd-file", kFullPassword, "--accept-new"},
                  {"XDG_CONFIG_HOME=", "HOME=" + dir_ + "/home"}),
              0)
        << out_;
    EXPECT_EQ(readFile(dir_ + "/home/.config/kvmvnc/known_hosts"), line);
}

TEST_F(CtlTrustTest, ATerminalIsAskedAndItsAnswerKept) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string fingerprint = loggedFingerprint(*daemon_);
    EXPECT_EQ(ctlOnTerminal({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword}, "no"),
              3)
        << out_;
    EXPECT_NE(out_.find("is not known yet. Its fingerprint is\n  " + fingerprint),
              std::string::npos)
        << out_;
    EXPECT_FALSE(std::filesystem::exists(knownHosts_));

    EXPECT_EQ(ctlOnTerminal({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword}, "yes"),
              0)
        << out_;
    EXPECT_NE(out_.find("power: on"), std::string::npos) << out_;
    EXPECT_NE(readFile(knownHosts_).find(fingerprint), std::string::npos);
}

// Given a password, a server that asks for none and whose certificate
// nobody checked may be a man in the middle waiting for what comes next.
TEST_F(CtlTrustTest, AServerThatAsksNoPasswordGetsNothingWhenOneWasGiven) {
    ASSERT_NO_FATAL_FAILURE(start(false));
    EXPECT_EQ(ctl({"--known-hosts", knownHosts_}), 0) << out_;
    EXPECT_EQ(ctl({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword}), 3) << out_;
    EXPECT_NE(out_.find("asked for no password"), std::string::npos) << out_;
    EXPECT_EQ(ctl({"--known-hosts", knownHosts_, "--passwd-file", kFullPassword, "--insecure"}), 0)
        << out_;
    EXPECT_FALSE(std::filesystem::exists(knownHosts_)) << "nothing to pin without TLS";
}

// On the device itself the daemon's own certificate is trusted as it is
// (kvmvncctl gives /var/lib/kvmvnc/tls/cert.pem); another daemon, whose
// certificate that file is not, is checked against the known hosts.
TEST_F(CtlTrustTest, TheDevicesOwnCertificateNeedsNoKnownHostsEntry) {
    ASSERT_NO_FATAL_FAILURE(start());
    ctl::ConnectOptions options;
    options.port = daemon_->port();
    options.password = door::loadVncPasswordFile(kFullPassword).full;
    options.knownHostsFile = knownHosts_;
    options.localCertificateFile = daemon_->path("tls/cert.pem");
    {
        ctl::ControlClient client;
        EXPECT_TRUE(client.connect(options)) << client.error();
    }
    EXPECT_FALSE(std::filesystem::exists(knownHosts_)) << "nothing to remember";

    // Another daemon's certificate as "this device's": no reason to trust.
    DaemonProcess other("[virtual]\nboot_seconds = 0\n");
    ASSERT_TRUE(other.start()) << other.log();
    options.localCertificateFile = other.path("tls/cert.pem");
    ctl::ControlClient client;
    EXPECT_FALSE(client.connect(options));
    EXPECT_NE(client.error().find("is not known yet"), std::string::npos) << client.error();
    EXPECT_EQ(other.stop(), 0);
}

}  // namespace
}  // namespace kvmvnc::testing
