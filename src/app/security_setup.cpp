// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/security_setup.h"

#include "kvmvnc/base/log.h"
#include "kvmvnc/door/vnc_password_file.h"

namespace kvmvnc::app {

namespace {
constexpr const char *kLog = "security";
}

std::shared_ptr<const door::Credentials> loadCredentials(const config::Config &config) {
    auto credentials = std::make_shared<door::Credentials>();
    credentials->required = !config.server.passwdFile.empty() || !config.security.usersFile.empty();
    if (!config.server.passwdFile.empty())
        credentials->vnc = door::loadVncPasswordFile(config.server.passwdFile);
    if (!config.security.usersFile.empty())
        credentials->users = door::UserTable::load(config.security.usersFile);
    return credentials;
}

bool sameCredentials(const door::Credentials &a, const door::Credentials &b) {
    if (a.vnc != b.vnc || a.users.entries().size() != b.users.entries().size())
        return false;
    for (size_t i = 0; i < a.users.entries().size(); ++i) {
        const door::UserEntry &x = a.users.entries()[i];
        const door::UserEntry &y = b.users.entries()[i];
        if (x.name != y.name || x.access != y.access || x.hash != y.hash)
            return false;
    }
    return true;
}

door::SecurityPolicy securityPolicyOf(const config::SecuritySection &security) {
    return {.allowUnencrypted = security.allowUnencrypted,
            .allowTlsNone = security.allowTlsNone,
            .anonymousTls = security.anonymousTls,
            .webOrigins = security.webOrigins};
}

std::shared_ptr<const door::TlsServer> makeTlsServer(const config::SecuritySection &security) {
    door::TlsFiles files{security.tlsCert, security.tlsKey};
    const bool generated = files.certificate.empty();
    if (generated)
        files = door::ensureSelfSignedCertificate(security.tlsDir);
    auto server = std::make_shared<const door::TlsServer>(files);
    LOG_INFO(kLog, "TLS certificate %s%s, fingerprint %s", files.certificate.c_str(),
             generated ? " (self-signed, made by kvmvncd)" : "",
             door::certificateFingerprint(files.certificate).c_str());
    return server;
}

}  // namespace kvmvnc::app
