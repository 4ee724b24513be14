// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/door/transport.h"

struct ssl_ctx_st;
struct ssl_st;

namespace kvmvnc::door {

struct TlsFiles {
    std::string certificate;  // PEM, the server's certificate first, then its chain
    std::string privateKey;   // PEM
};

// The certificate kvmvncd uses when the configuration names none: made once
// in `dir` (cert.pem, key.pem; the key readable only by its owner) and kept,
// so viewers that trusted it keep trusting it. An EC P-256 key, ten years,
// self-signed, its subjectAltName listing localhost, 127.0.0.1, ::1, this
// host's name and the addresses it has now, and `extraNames`. Returns the
// paths; throws std::runtime_error when the directory cannot be written.
TlsFiles ensureSelfSignedCertificate(const std::string &dir,
                                     const std::vector<std::string> &extraNames = {});

// "SHA256:AB:CD:..." of the first certificate in a PEM file; throws
// std::runtime_error.
std::string certificateFingerprint(const std::string &certificatePath);

// The server's two TLS set-ups, made once and shared by every connection:
// certificate TLS (VeNCrypt's X509 subtypes, HTTPS and wss) with TLS 1.2 or
// 1.3, and anonymous Diffie-Hellman (VeNCrypt's TLS subtypes, which TigerVNC
// and libvncclient speak with GnuTLS) with TLS 1.2, since TLS 1.3 has no
// anonymous suites. Renegotiation is off. Thread-safe after construction.
class TlsServer {
public:
    // Throws std::runtime_error naming the file when the certificate or key
    // cannot be loaded or do not match.
    explicit TlsServer(const TlsFiles &files);
    ~TlsServer();
    TlsServer(const TlsServer &) = delete;
    TlsServer &operator=(const TlsServer &) = delete;

    ssl_ctx_st *certificateContext() const { return certificate_; }
    ssl_ctx_st *anonymousContext() const { return anonymous_; }

private:
    ssl_ctx_st *certificate_ = nullptr;
    ssl_ctx_st *anonymous_ = nullptr;
};

// TLS over a socket transport, which it owns. handshake() first; then it is a
// Transport like the socket was, with encrypted() true.
class TlsTransport final : public Transport {
public:
    TlsTransport(ssl_ctx_st *context, std::unique_ptr<Transport> socket);
    ~TlsTransport() override;

    // The server side of the TLS handshake; throws HandshakeError.
    void handshake(Clock::time_point deadline);
    // Waits until the peer sent application data or `until` passes; true
    // when some is there (it stays to be read).
    bool waitForData(Clock::time_point until);
    // The first bytes of application data, without consuming them.
    std::vector<uint8_t> peek(size_t max);

    Result read(std::span<uint8_t> into) override;
    Result write(std::span<const uint8_t> from) override;
    bool hasBufferedInput() const override;
    bool encrypted() const override { return true; }
    int fd() const override { return socket_->fd(); }
    std::string closeReason() const override { return closeReason_; }

private:
    Result fromSslError(int ret, const char *what);

    std::unique_ptr<Transport> socket_;
    ssl_st *ssl_ = nullptr;
    std::string closeReason_;
};

}  // namespace kvmvnc::door
