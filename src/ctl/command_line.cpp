// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/command_line.h"

#include <cstdio>

#include "kvmvnc/ctl/commands.h"

namespace kvmvnc::ctl {

namespace {

// The usage text is these, the commands' lines between them.
constexpr std::string_view kSynopsis =
    "usage: kvmvncctl [--host HOST[:PORT]] [--passwd-file FILE | --user NAME]\n"
    "                 [--ca-file FILE | --known-hosts FILE [--accept-new]]\n"
    "                 [--insecure] COMMAND\n"
    "       kvmvncctl passwd [--users-file FILE] [--view-only] [--delete] USER\n";
constexpr std::string_view kDetails =
    "HOST defaults to 127.0.0.1, PORT to 5900. FILE for --passwd-file is a\n"
    "TigerVNC vncpasswd file. --user NAME logs in as NAME with VeNCrypt's\n"
    "X509Plain or TLSPlain. Passwords for --user and passwd come from the\n"
    "environment variable KVMVNC_PASSWORD if set, else are asked on the terminal\n"
    "(passwd without a terminal reads one line of standard input). VeNCrypt's\n"
    "X509 subtypes verify the server with the CA file --ca-file FILE (the\n"
    "daemon's self-signed certificate works as one); on the device itself the\n"
    "daemon's own, /var/lib/kvmvnc/tls/cert.pem, is trusted as it is. Else the\n"
    "server's certificate is pinned, as ssh does: its SHA-256 fingerprint\n"
    "(kvmvncd logs it at start) is\n"
    "kept in --known-hosts FILE (default $XDG_CONFIG_HOME/kvmvnc/known_hosts or\n"
    "~/.config/kvmvnc/known_hosts). A server met for the first time is asked\n"
    "about when standard input is a terminal, trusted with --accept-new, and\n"
    "refused otherwise; a changed certificate is refused. Passwords go only to\n"
    "a server checked one of these ways; --insecure sends them over anonymous\n"
    "TLS or no TLS too, where a man in the middle can have them.\n"
    "Exit status: 0 done, 1 refused by the server (passwd: failed), 2 bad command\n"
    "line, 3 connection or authentication failed.\n";

// The order is the usage text's.
constexpr Command kCommands[] = {
    {"status", "  status                      everything below, as the server sees it\n",
     statusCommand},
    {"atx", "  atx status | power | power-long | reset | wol\n", atxCommand},
    {"msd",
     "  msd status | list | upload FILE [--name NAME] | delete NAME\n"
     "      | insert NAME [--cdrom | --flash] [--rw] | eject\n",
     msdCommand},
    {"type",
     "  type [--skip-untypable] TEXT  type TEXT (- reads standard input) on the\n"
     "                              target's keyboard; Ctrl+C stops it\n"
     "  type --cancel               stop what any connection is typing\n",
     typeCommand},
    {"edid",
     "  edid show                   the EDID the capture device shows the target:\n"
     "                              the monitor's name and every mode it offers\n",
     edidCommand},
    {"doctor",
     "  doctor [--config FILE]      whether the server is reachable and its certificate\n"
     "                              good, then kvmvncd's check of each part its setup\n"
     "                              needs (USB gadget, capture device, EDID, GPIO...),\n"
     "                              one line each with the fix. On this machine without\n"
     "                              a running kvmvncd, checks it against FILE (default\n"
     "                              /etc/kvmvnc/kvmvncd.ini). Exit status 0 when\n"
     "                              everything needed is there, 1 when not\n",
     doctorCommand},
    {"passwd",
     "  passwd USER                 add USER to kvmvncd's users file or change\n"
     "                              their password (asked twice); --view-only\n"
     "                              gives view-only access, --delete removes USER.\n"
     "                              Edits the file (default /etc/kvmvnc/users)\n"
     "                              without connecting; `systemctl reload kvmvncd`\n"
     "                              applies it\n",
     passwdCommand, false},
};

bool parseHost(const std::string &text, ConnectOptions &connect) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
        connect.host = text;  // a name, or IPv6 without a port
        return !text.empty();
    }
    connect.host = text.substr(0, colon);
    try {
        size_t used = 0;
        const int port = std::stoi(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1 || port < 1 || port > 65535)
            return false;
        connect.port = port;
    } catch (const std::exception &) {
        return false;
    }
    return !connect.host.empty();
}

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command *findCommand(std::string_view name) {
    for (const Command &command : kCommands)
        if (command.name == name)
            return &command;
    return nullptr;
}

std::string usageText() {
    std::string text(kSynopsis);
    text += "\n";
    for (const Command &command : kCommands)
        text += command.usage;
    text += "\n";
    text += kDetails;
    return text;
}

int usage(const std::string &problem) {
    if (!problem.empty())
        std::fprintf(stderr, "kvmvncctl: %s\n", problem.c_str());
    std::fputs(usageText().c_str(), stderr);
    return kExitUsage;
}

ParsedCommandLine parseCommandLine(std::span<char *const> arguments) {
    ParsedCommandLine parsed;
    Options &options = parsed.options;
    auto stop = [&](std::string problem) {
        parsed.problem = std::move(problem);
        return parsed;
    };
    for (size_t i = 0; i < arguments.size(); ++i) {
        const std::string arg = arguments[i];
        auto value = [&](std::string &out) {
            if (i + 1 >= arguments.size())
                return false;
            out = arguments[++i];
            return true;
        };
        if (arg == "--help" || arg == "-h") {
            parsed.help = true;
            return parsed;
        } else if (arg == "--host") {
            std::string host;
            if (!value(host) || !parseHost(host, options.connect))
                return stop("--host takes HOST or HOST:PORT");
        } else if (arg == "--passwd-file") {
            if (!value(options.passwordFile))
                return stop("--passwd-file takes a file");
        } else if (arg == "--user") {
            if (!value(options.connect.user) || options.connect.user.empty())
                return stop("--user takes a name");
        } else if (arg == "--ca-file") {
            if (!value(options.connect.caFile))
                return stop("--ca-file takes a file");
            options.caFileGiven = true;
        } else if (arg == "--known-hosts") {
            if (!value(options.connect.knownHostsFile) || options.connect.knownHostsFile.empty())
                return stop("--known-hosts takes a file");
        } else if (arg == "--accept-new") {
            options.acceptNew = true;
        } else if (arg == "--insecure") {
            options.connect.allowUnverified = true;
        } else if (arg == "--users-file") {
            if (!value(options.usersFile) || options.usersFile.empty())
                return stop("--users-file takes a file");
        } else if (arg == "--view-only") {
            options.viewOnly = true;
        } else if (arg == "--delete") {
            options.deleteUser = true;
        } else if (arg == "--name") {
            if (!value(options.uploadName))
                return stop("--name takes a name");
        } else if (arg == "--cdrom") {
            options.cdrom = true;
        } else if (arg == "--flash") {
            options.cdrom = false;
        } else if (arg == "--rw") {
            options.writable = true;
        } else if (arg == "--skip-untypable") {
            options.skipUntypable = true;
        } else if (arg == "--cancel") {
            options.cancelTyping = true;
        } else if (arg == "--config") {
            if (!value(options.daemonConfig) || options.daemonConfig.empty())
                return stop("--config takes a file");
        } else if (arg.starts_with("--") || (arg.starts_with("-") && arg != "-")) {
            return stop("unknown option " + arg);
        } else {
            options.words.push_back(arg);
        }
    }
    return parsed;
}

}  // namespace kvmvnc::ctl
