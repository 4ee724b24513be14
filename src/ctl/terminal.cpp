// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/terminal.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/ctl/control_client.h"

namespace kvmvnc::ctl {

namespace {

// The terminal whose echo readHidden() turned off, for restoreTerminal() to
// put back when a signal (Ctrl+C) ends kvmvncctl at the prompt. Globals
// because a signal handler can reach nothing else.
volatile std::sig_atomic_t gHiddenTerminal = -1;
termios gTerminalSettings{};

void restoreTerminal(int signal) {
    if (gHiddenTerminal >= 0)
        ::tcsetattr(gHiddenTerminal, TCSANOW, &gTerminalSettings);
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

// One line typed on the controlling terminal with echo off, after `prompt`
// on stderr. nullopt at end of input, or when there is no terminal
// (`terminal` says which).
std::optional<std::string> readHidden(const std::string &prompt, bool &terminal) {
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
    termios settings{};
    terminal = tty.isValid() && ::tcgetattr(tty.get(), &settings) == 0;
    if (!terminal)
        return std::nullopt;
    std::fputs(prompt.c_str(), stderr);
    std::fflush(stderr);

    gTerminalSettings = settings;
    gHiddenTerminal = tty.get();
    constexpr int kSignals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
    struct sigaction restore {};
    restore.sa_handler = restoreTerminal;
    sigemptyset(&restore.sa_mask);
    struct sigaction previous[std::size(kSignals)] = {};
    for (size_t i = 0; i < std::size(kSignals); ++i)
        ::sigaction(kSignals[i], &restore, &previous[i]);
    termios hidden = settings;
    hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    hidden.c_lflag |= ECHONL;  // Enter still ends the line on the screen
    ::tcsetattr(tty.get(), TCSAFLUSH, &hidden);

    std::string line;
    bool ended = false;
    for (char byte = 0;;) {
        const ssize_t got = ::read(tty.get(), &byte, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (byte == '\n') {
            ended = true;
            break;
        }
        line += byte;
    }

    ::tcsetattr(tty.get(), TCSAFLUSH, &settings);
    gHiddenTerminal = -1;
    for (size_t i = 0; i < std::size(kSignals); ++i)
        ::sigaction(kSignals[i], &previous[i], nullptr);
    if (!ended) {
        std::fputc('\n', stderr);
        OPENSSL_cleanse(line.data(), line.size());
        return std::nullopt;
    }
    return line;
}

std::optional<std::string> environmentPassword() {
    // kvmvncctl never sets the environment.
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    const char *value = std::getenv(kPasswordVariable);
    return value ? std::optional<std::string>(value) : std::nullopt;
}

}  // namespace

// The password --user logs in with: KVMVNC_PASSWORD, else asked on the
// terminal.
std::optional<std::string> loginPassword(const ConnectOptions &connect) {
    if (auto password = environmentPassword())
        return password;
    bool terminal = false;
    return readHidden("Password for " + connect.user + "@" + connect.host + ": ", terminal);
}

// The new password for passwd: KVMVNC_PASSWORD; else typed twice on the
// terminal; else, when standard input is no terminal either, its first line.
bool newPassword(const std::string &user, std::string &password, std::string &problem) {
    bool terminal = false;
    if (auto value = environmentPassword()) {
        password = std::move(*value);
    } else if (auto first = readHidden("New password for " + user + ": ", terminal)) {
        auto second = readHidden("Retype the new password: ", terminal);
        const bool same = second && *second == *first;
        if (second)
            OPENSSL_cleanse(second->data(), second->size());
        if (!same) {
            OPENSSL_cleanse(first->data(), first->size());
            problem = "the passwords do not match";
            return false;
        }
        password = std::move(*first);
    } else if (terminal) {
        problem = "no password typed";
        return false;
    } else if (!::isatty(STDIN_FILENO)) {
        int byte = 0;
        bool any = false;
        while ((byte = std::fgetc(stdin)) != EOF && byte != '\n') {
            password += static_cast<char>(byte);
            any = true;
        }
        if (!any && byte == EOF) {
            problem = "no password on standard input";
            return false;
        }
        if (password.ends_with('\r'))  // a line from a DOS file
            password.pop_back();
    } else {
        problem = std::string("no terminal to ask for the password; set ") + kPasswordVariable;
        return false;
    }
    if (password.empty()) {
        problem = "empty password refused";
        return false;
    }
    return true;
}

// NewHostPolicy::Ask: the question on stderr, the answer a line of
// standard input (a terminal, or the policy would not be Ask).
bool confirmNewHost(const std::string &host, const std::string &fingerprint) {
    std::fprintf(stderr,
                 "The certificate of %s is not known yet. Its fingerprint is\n  %s\n"
                 "kvmvncd logs its own at start: compare the two.\n"
                 "Trust it from now on (yes/no)? ",
                 host.c_str(), fingerprint.c_str());
    std::fflush(stderr);
    std::string answer;
    for (int byte = 0; (byte = std::fgetc(stdin)) != EOF && byte != '\n';)
        answer += static_cast<char>(byte);
    return answer == "yes" || answer == "y";
}

}  // namespace kvmvnc::ctl
