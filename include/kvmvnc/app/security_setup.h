// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>

#include "kvmvnc/config/config.h"
#include "kvmvnc/door/credentials.h"
#include "kvmvnc/door/rfb_security.h"
#include "kvmvnc/door/tls.h"

namespace kvmvnc::app {

// The vncpasswd file and the users file the configuration names, read now.
// Throws std::runtime_error naming the file.
std::shared_ptr<const door::Credentials> loadCredentials(const config::Config &config);
bool sameCredentials(const door::Credentials &a, const door::Credentials &b);

door::SecurityPolicy securityPolicyOf(const config::SecuritySection &security);

// TLS from [security] tls_cert/tls_key, or the self-signed certificate in
// tls_dir (made on first start); logs which, with its fingerprint. Throws
// std::runtime_error.
std::shared_ptr<const door::TlsServer> makeTlsServer(const config::SecuritySection &security);

}  // namespace kvmvnc::app
