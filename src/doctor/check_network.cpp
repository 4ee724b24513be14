// SPDX-License-Identifier: GPL-2.0-or-later
// The network side: the certificate viewers are shown, and the address
// kvmvncd listens on.
#include <span>

#include "checks.h"
#include "kvmvnc/doctor/certificate_info.h"

namespace kvmvnc::doctor::checks {

HardwareCheck certificateFileCheck(const Context &context) {
    const config::SecuritySection &security = context.config.security;
    const bool generated = security.tlsCert.empty();
    const std::string path = generated ? security.tlsDir + "/cert.pem" : security.tlsCert;
    const bool needed = context.needs.tls;
    const std::string why = needed ? "" : " (no one logs in: no password or users file)";
    std::optional<std::string> pem = context.machine.readFile(path);
    if (!pem) {
        const FileFacts facts = context.machine.stat(path);
        if (generated && facts.error == ENOENT)
            return {"certificate",
                    Status::Ok,
                    "none yet: kvmvncd makes a self-signed one in " + security.tlsDir +
                        " when it starts" + why,
                    {}};
        return {"certificate", needed ? Status::Fail : Status::Warning,
                "cannot read " + path + ": " + errorText(facts.error ? facts.error : EACCES) + why,
                facts.error == ENOENT ? "set [security] tls_cert and tls_key to your certificate "
                                        "and key, or leave both empty for a self-signed one"
                                      : "run this check as root or as kvmvncd's user"};
    }
    std::string error;
    std::optional<CertificateInfo> info = inspectCertificate(
        std::span(reinterpret_cast<const uint8_t *>(pem->data()), pem->size()), error);
    if (!info)
        return {"certificate", needed ? Status::Fail : Status::Warning, path + ": " + error + why,
                "set [security] tls_cert to a PEM certificate"};
    const std::string fixExpired =
        generated ? "delete cert.pem and key.pem in " + security.tlsDir +
                        ": kvmvncd makes new ones at start (viewers then see a new fingerprint)"
                  : "renew " + path + " and " + security.tlsKey;
    HardwareCheck check =
        certificateCheck("certificate", *info, context.options.now, needed, path, fixExpired);
    if (check.status == Status::Ok &&
        !context.machine.exists(generated ? security.tlsDir + "/key.pem" : security.tlsKey)) {
        check.status = needed ? Status::Fail : Status::Warning;
        check.finding += ", but no key";
        check.fix = generated ? fixExpired : "set [security] tls_key to the certificate's key";
    }
    check.finding += why;
    return check;
}

HardwareCheck listenCheck(const Context &context) {
    HardwareCheck check{"listen address", Status::Ok, {}, {}};
    const config::ServerSection &server = context.config.server;
    const std::string where =
        (server.listen.find(':') != std::string::npos ? "[" + server.listen + "]" : server.listen) +
        ":";
    if (context.options.daemonPort) {
        check.finding = "kvmvncd listens on " + where + std::to_string(*context.options.daemonPort);
        return check;
    }
    const ListenFacts facts = context.machine.probeListen(server.listen, server.port);
    const std::string address = where + std::to_string(server.port);
    switch (facts.state) {
    case ListenFacts::State::Rfb:
        check.finding = "an RFB server answers on " + address + " (" + facts.greeting + ")";
        return check;
    case ListenFacts::State::Free:
    case ListenFacts::State::Refused:
        check.status = Status::Warning;
        check.finding = "nothing listens on " + address + ": kvmvncd is not running";
        check.fix = "sudo systemctl start kvmvncd (journalctl -u kvmvncd says why it stopped)";
        return check;
    case ListenFacts::State::NotLocal:
        check.status = Status::Fail;
        check.finding = facts.detail + " ([server] listen)";
        check.fix = "set [server] listen to one of ip -brief address, or 0.0.0.0";
        return check;
    case ListenFacts::State::Other:
        check.status = Status::Fail;
        check.finding =
            "port " + std::to_string(server.port) + " is taken by another program: " + facts.detail;
        check.fix = "set [server] port to a free one (ss -ltnp shows who has it)";
        return check;
    case ListenFacts::State::Error:
        break;
    }
    check.status = Status::Fail;
    check.finding = facts.detail;
    check.fix = "set [server] listen and port to an address of this machine and a free port";
    return check;
}

}  // namespace kvmvnc::doctor::checks
