// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/command_line.h"

#include <cstdio>
#include <stdexcept>

#include "kvmvnc/app/daemon.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/config/config.h"
#include "kvmvnc/doctor/check_hardware.h"
#include "kvmvnc/door/vnc_password_file.h"
#include "kvmvnc/input/hid_descriptors.h"

namespace kvmvnc::app {

namespace {

// --check-hardware: this machine against the configuration, without a
// daemon. 0 when everything needed is there, else 1.
int checkHardware(const config::Config &cfg) {
    const std::vector<doctor::HardwareCheck> checks =
        doctor::checkHardware(cfg, doctor::LinuxMachine());
    std::printf("kvmvncd %s, configuration %s\n", KVMVNC_VERSION,
                cfg.path.empty() ? "built in (no --config)" : cfg.path.c_str());
    std::fputs(doctor::formatChecks(checks).c_str(), stdout);
    std::printf("%s\n", doctor::summaryLine(checks).c_str());
    return doctor::anyFailed(checks) ? 1 : 0;
}

}  // namespace

CommandLine parseCommandLine(const std::vector<std::string> &args) {
    CommandLine line;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        if (arg == "--help" || arg == "-h") {
            line.action = CommandLine::Action::Help;
        } else if (arg == "--help-config") {
            line.action = CommandLine::Action::HelpConfig;
        } else if (arg == "--version") {
            line.action = CommandLine::Action::Version;
        } else if (arg == "--check-config") {
            line.action = CommandLine::Action::CheckConfig;
        } else if (arg == "--check-hardware") {
            line.action = CommandLine::Action::CheckHardware;
        } else if (arg == "--hid-descriptor") {
            if (i + 1 >= args.size() || (args[i + 1] != "keyboard" && args[i + 1] != "mouse" &&
                                         args[i + 1] != "relative-mouse"))
                throw std::invalid_argument(
                    "--hid-descriptor needs keyboard, mouse or relative-mouse");
            line.action = CommandLine::Action::HidDescriptor;
            line.descriptor = args[++i];
        } else if (arg == "--config" || arg == "-c") {
            if (i + 1 >= args.size())
                throw std::invalid_argument(arg + " needs a file name");
            line.configPath = args[++i];
        } else if (arg.rfind("--config=", 0) == 0) {
            line.configPath = arg.substr(9);
        } else {
            throw std::invalid_argument("unknown argument '" + arg + "' (try --help)");
        }
    }
    return line;
}

std::string usageText() {
    return "Usage: kvmvncd [--config FILE] [--check-config | --check-hardware]\n"
           "       kvmvncd --help | --help-config | --version\n"
           "\n"
           "Serves the screen of the machine behind this KVM to VNC (RFB) viewers.\n"
           "Without --config it runs the built-in virtual target on port 5900.\n"
           "SIGHUP (systemctl reload) reads FILE and its password file again; the keys\n"
           "it cannot change live are logged as needing a restart (see --help-config).\n"
           "\n"
           "  -c, --config FILE  read settings from the INI file FILE\n"
           "      --check-config check the configuration and exit\n"
           "      --check-hardware\n"
           "                     check what the configuration needs on this machine (USB\n"
           "                     gadget, capture device, EDID, GPIO lines, power,\n"
           "                     certificate, listen address), one line each with the fix;\n"
           "                     exit status 0 when everything needed is there, else 1\n"
           "      --help-config  list every configuration key with default and range\n"
           "      --hid-descriptor keyboard|mouse|relative-mouse\n"
           "                     write the USB HID report descriptor (binary) to stdout,\n"
           "                     for packaging/kvmvnc-gadget\n"
           "      --version      print the version\n";
}

int kvmvncdMain(int argc, char **argv) {
    CommandLine line;
    try {
        line = parseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::invalid_argument &error) {
        std::fprintf(stderr, "kvmvncd: %s\n", error.what());
        return 2;
    }
    switch (line.action) {
    case CommandLine::Action::Help:
        std::fputs(usageText().c_str(), stdout);
        return 0;
    case CommandLine::Action::HelpConfig:
        std::fputs(config::describeKeys().c_str(), stdout);
        return 0;
    case CommandLine::Action::Version:
        std::printf("kvmvncd %s\n", KVMVNC_VERSION);
        return 0;
    case CommandLine::Action::HidDescriptor: {
        auto bytes = line.descriptor == "keyboard"         ? input::keyboardReportDescriptor()
                     : line.descriptor == "relative-mouse" ? input::relativeMouseReportDescriptor()
                                                           : input::absoluteMouseReportDescriptor();
        return std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size() ? 0 : 1;
    }
    case CommandLine::Action::Run:
    case CommandLine::Action::CheckConfig:
    case CommandLine::Action::CheckHardware:
        break;
    }

    config::Config cfg;
    try {
        if (!line.configPath.empty())
            cfg = config::loadConfig(line.configPath);
    } catch (const config::ConfigError &error) {
        std::fprintf(stderr, "kvmvncd: %s\n", error.what());
        return 2;
    }
    if (line.action == CommandLine::Action::CheckConfig) {
        try {
            if (!cfg.server.passwdFile.empty())
                door::loadVncPasswordFile(cfg.server.passwdFile);
            if (cfg.capture.source == config::SourceKind::V4l2)
                loadEdidRequest(cfg.capture);
        } catch (const std::exception &error) {
            std::fprintf(stderr, "kvmvncd: %s\n", error.what());
            return 2;
        }
        std::printf("%s: OK\n", line.configPath.empty() ? "defaults" : line.configPath.c_str());
        return 0;
    }

    if (line.action == CommandLine::Action::CheckHardware)
        return checkHardware(cfg);

    Daemon::blockDaemonSignals();
    try {
        Daemon daemon(cfg);
        return daemon.run();
    } catch (const std::exception &error) {
        LOG_ERROR("daemon", "%s", error.what());
        return 1;
    }
}

}  // namespace kvmvnc::app
