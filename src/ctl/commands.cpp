// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/commands.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/known_hosts.h"
#include "kvmvnc/ctl/terminal.h"
#include "kvmvnc/door/vnc_password_file.h"

namespace kvmvnc::ctl {

namespace {

constexpr const char *kLocalCertificateFile = "/var/lib/kvmvnc/tls/cert.pem";

// The credentials and the trust a command that connects needs: the
// password (from the vncpasswd file, the environment or the terminal) and
// which certificates are trusted, and how. kExitOk, or why not.
int prepareConnection(Options &options) {
    if (!options.passwordFile.empty() && !options.connect.user.empty())
        return usage("--passwd-file and --user exclude each other");
    if (!options.passwordFile.empty()) {
        try {
            options.connect.password = door::loadVncPasswordFile(options.passwordFile).full;
        } catch (const std::exception &e) {
            std::fprintf(stderr, "kvmvncctl: %s\n", e.what());
            return kExitUsage;
        }
    }
    if (!options.connect.user.empty()) {
        auto password = loginPassword(options.connect);
        if (!password) {
            std::fprintf(stderr,
                         "kvmvncctl: --user needs a password: set %s or run on a terminal\n",
                         kPasswordVariable);
            return kExitUsage;
        }
        options.connect.password = std::move(*password);
    }
    // On the device itself the daemon's own certificate is trusted as it is;
    // any other server's is pinned (a CA file silently taken from this
    // machine would fail every other kvmvncd with a certificate error).
    if (!options.caFileGiven)
        options.connect.localCertificateFile = kLocalCertificateFile;
    if (options.connect.knownHostsFile.empty())
        options.connect.knownHostsFile = defaultKnownHostsFile();
    // Never a question nobody can answer: scripts and CI have no terminal.
    options.connect.newHosts = options.acceptNew        ? NewHostPolicy::Accept
                               : ::isatty(STDIN_FILENO) ? NewHostPolicy::Ask
                                                        : NewHostPolicy::Refuse;
    options.connect.confirmNewHost = confirmNewHost;
    options.connect.notice = [](const std::string &text) {
        std::fprintf(stderr, "kvmvncctl: %s\n", text.c_str());
    };
    return kExitOk;
}

// SIGPIPE ignored while a command talks to the server, the disposition
// before put back after: a server that closes while kvmvncctl writes (an
// upload's chunks) is a lost connection to report or resume, through the
// write's EPIPE, not the end of the process.
class PipeSignalIgnored {
public:
    PipeSignalIgnored() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        ::sigemptyset(&ignore.sa_mask);
        ::sigaction(SIGPIPE, &ignore, &previous_);
    }
    ~PipeSignalIgnored() { ::sigaction(SIGPIPE, &previous_, nullptr); }
    PipeSignalIgnored(const PipeSignalIgnored &) = delete;
    PipeSignalIgnored &operator=(const PipeSignalIgnored &) = delete;

private:
    struct sigaction previous_ {};
};

}  // namespace

int run(int argc, char **argv) {
    ParsedCommandLine parsed =
        parseCommandLine(std::span<char *const>(argv + 1, argc > 0 ? argc - 1 : 0));
    if (parsed.help) {
        std::fputs(usageText().c_str(), stdout);
        return kExitOk;
    }
    if (!parsed.problem.empty())
        return usage(parsed.problem);
    Options &options = parsed.options;
    if (options.words.empty())
        return usage("no command");
    const Command *command = findCommand(options.words[0]);
    if (!command)
        return usage("unknown command '" + options.words[0] + "'");
    if (!command->connects)
        return command->run(options);  // local: no connection, no credentials
    if (int status = prepareConnection(options); status != kExitOk)
        return status;
    const PipeSignalIgnored pipeSignalIgnored;
    return command->run(options);
}

}  // namespace kvmvnc::ctl
