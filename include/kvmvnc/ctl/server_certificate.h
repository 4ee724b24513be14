// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvmvnc::ctl {

// A server's TLS certificate as kvmvncctl pins it: the DER bytes. Copyable.
class ServerCertificate {
public:
    // Nullopt when `der` is not one DER certificate.
    static std::optional<ServerCertificate> fromDer(std::vector<uint8_t> der);
    // The first certificate of a PEM file; nullopt when it cannot be read.
    static std::optional<ServerCertificate> fromPemFile(const std::string &path);

    // "SHA256:AB:CD:...", the SHA-256 of the DER certificate: what kvmvncd
    // logs at start and `openssl x509 -fingerprint -sha256` prints.
    std::string fingerprint() const;
    std::string pem() const;
    const std::vector<uint8_t> &der() const { return der_; }
    // A name the certificate carries, for libvncclient's host name check
    // when the certificate itself is what is trusted: `host` when the
    // certificate names it, else its first DNS name, IP address or common
    // name.
    std::string nameFor(const std::string &host) const;

private:
    std::vector<uint8_t> der_;
};

// The certificate the server at host:port shows a client that starts TLS at
// once, as kvmvncd's front door allows on the RFB port; checked against
// nothing (deciding whether to trust it is the caller's part). The
// connection closes right after the TLS handshake. Nullopt with `error` set
// when there is no connection, no TLS or no certificate within
// `timeoutSeconds`.
std::optional<ServerCertificate> fetchServerCertificate(const std::string &host, int port,
                                                        int timeoutSeconds, std::string &error);

}  // namespace kvmvnc::ctl
