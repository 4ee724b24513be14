// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl doctor: whether kvmvncd answers, its certificate is good and
// trusted here, and its check of the hardware its setup needs; without a
// kvmvncd on this machine, that check run here.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/config/config.h"
#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"
#include "kvmvnc/ctl/known_hosts.h"
#include "kvmvnc/ctl/server_certificate.h"
#include "kvmvnc/doctor/certificate_info.h"
#include "kvmvnc/doctor/check_hardware.h"

namespace kvmvnc::ctl {

namespace {

using control::Request;
using control::Status;

constexpr const char *kDefaultDaemonConfig = "/etc/kvmvnc/kvmvncd.ini";

bool isLoopback(const std::string &host) {
    return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// What kvmvncctl itself finds of the server's certificate: which one, how
// long it is good for, and whether it is the one trusted here.
doctor::HardwareCheck certificateSeen(const Options &options, const std::string &where) {
    const ConnectOptions &connect = options.connect;
    std::string problem;
    std::optional<ServerCertificate> certificate =
        fetchServerCertificate(connect.host, connect.port, connect.timeoutSeconds, problem);
    if (!certificate)
        return {"certificate seen",
                doctor::Status::Skipped,
                "no TLS certificate shown: " + problem,
                {}};
    std::optional<doctor::CertificateInfo> info =
        doctor::inspectCertificate(certificate->der(), problem);
    if (!info)
        return {"certificate seen", doctor::Status::Fail, where + " shows " + problem,
                "set [security] tls_cert to a certificate, or leave it empty for kvmvncd's own"};
    doctor::HardwareCheck check = doctor::certificateCheck(
        "certificate seen", *info, std::chrono::system_clock::now(), false, "shown by " + where,
        "renew it on the server (kvmvncctl doctor there says how)");
    if (options.caFileGiven) {
        check.finding += ", checked against --ca-file " + connect.caFile + " when logging in";
        return check;
    }
    if (auto local = ServerCertificate::fromPemFile(connect.localCertificateFile);
        local && sameFingerprint(local->fingerprint(), info->fingerprint)) {
        check.finding += ", this machine's own kvmvncd";
        return check;
    }
    try {
        const KnownHosts hosts = KnownHosts::load(connect.knownHostsFile);
        const std::vector<KnownHosts::Entry> entries =
            hosts.find(knownHostName(connect.host, connect.port));
        if (entries.empty()) {
            check.finding += ", not pinned yet: kvmvncctl asks the first time it logs in";
            return check;
        }
        for (const KnownHosts::Entry &entry : entries) {
            if (sameFingerprint(entry.fingerprint, info->fingerprint)) {
                check.finding += ", pinned in " + hosts.path();
                return check;
            }
        }
        const std::string line = std::to_string(entries.front().line);
        check.status = doctor::Status::Fail;
        check.finding += ", NOT the one pinned in " + hosts.path() + " line " + line + " (" +
                         entries.front().fingerprint + ")";
        check.fix =
            "someone may be in between; if the server has a new certificate (kvmvncd "
            "logs its fingerprint at start), delete line " +
            line + " of " + hosts.path();
    } catch (const std::exception &e) {
        check.finding += std::string(", the known hosts cannot be read: ") + e.what();
    }
    return check;
}

int printReport(const std::string &header, const std::vector<doctor::HardwareCheck> &checks) {
    std::printf("%s\n%s%s\n", header.c_str(), doctor::formatChecks(checks).c_str(),
                doctor::summaryLine(checks).c_str());
    return doctor::anyFailed(checks) ? kExitRefused : kExitOk;
}

// No kvmvncd answers on this machine: the checks run here, as kvmvncd
// --check-hardware runs them (their listen address line says it is not
// running).
int doctorHere(const Options &options) {
    std::string path = options.daemonConfig;
    std::error_code error;
    if (path.empty() && std::filesystem::exists(kDefaultDaemonConfig, error))
        path = kDefaultDaemonConfig;
    config::Config cfg;
    try {
        if (!path.empty())
            cfg = config::loadConfig(path);
    } catch (const config::ConfigError &e) {
        std::fprintf(stderr, "kvmvncctl: doctor: %s\n", e.what());
        return kExitUsage;
    }
    return printReport("nothing listens on " +
                           knownHostName(options.connect.host, options.connect.port) +
                           ": kvmvncd is not running here; this machine checked against " +
                           (path.empty() ? std::string("the built-in configuration") : path) + ":",
                       doctor::checkHardware(cfg, doctor::LinuxMachine()));
}

}  // namespace

int doctorCommand(const Options &options) {
    if (options.words.size() != 1)
        return usage("doctor takes no arguments");
    const ConnectOptions &connect = options.connect;
    const std::string where = knownHostName(connect.host, connect.port);
    const doctor::ListenFacts reached =
        doctor::greetRfb(connect.host, connect.port, connect.timeoutSeconds * 1000);
    if (reached.state != doctor::ListenFacts::State::Rfb) {
        if (reached.state == doctor::ListenFacts::State::Refused && isLoopback(connect.host))
            return doctorHere(options);
        const std::string fix =
            reached.state == doctor::ListenFacts::State::Other
                ? "is " + where + " kvmvncd's address and port ([server] listen, port)?"
                : "is kvmvncd running there (systemctl status kvmvncd), and the address and "
                  "port right ([server] listen, port)?";
        printReport("kvmvncd at " + where + ":",
                    {{"connection", doctor::Status::Fail, reached.detail, fix}});
        return kExitConnection;
    }
    std::vector<doctor::HardwareCheck> checks = {
        {"connection", doctor::Status::Ok, where + " answers (" + reached.greeting + ")", {}},
        certificateSeen(options, where)};
    ControlClient client;
    if (!client.connect(connect)) {
        checks.push_back({"login", doctor::Status::Fail, client.error(),
                          "log in as for kvmvncctl status (--user, --passwd-file, --accept-new)"});
        printReport("kvmvncd at " + where + ":", checks);
        return kExitConnection;
    }
    auto reply = client.request(Request::HardwareCheck);
    if (!reply) {
        std::fprintf(stderr, "kvmvncctl: doctor: %s\n", client.error().c_str());
        return kExitConnection;
    }
    if (reply->status == Status::UnknownOpcode) {
        checks.push_back({"server checks", doctor::Status::Warning,
                          "this kvmvncd cannot check its hardware (it is older than kvmvncctl)",
                          "run kvmvncd --check-hardware on the device"});
        return printReport("kvmvncd at " + where + ":", checks);
    }
    if (int status = check(client, reply, "doctor"); status != kExitOk)
        return status;
    std::optional<control::HardwareReportBody> report =
        control::decodeHardwareReport(reply->result);
    if (!report)
        return check(client, std::nullopt, "doctor");
    for (control::HardwareCheckLine &line : report->checks)
        checks.push_back({std::move(line.name), static_cast<doctor::Status>(line.status),
                          std::move(line.finding), std::move(line.fix)});
    return printReport(
        "kvmvncd at " + where + ", configuration " +
            (report->configuration.empty() ? std::string("built in") : report->configuration) + ":",
        checks);
}

}  // namespace kvmvnc::ctl
