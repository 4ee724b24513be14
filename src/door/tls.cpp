// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/tls.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "kvmvnc/base/atomic_file.h"
#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/sha256.h"

namespace kvmvnc::door {

namespace {

std::string opensslError() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0)
        return "unknown error";
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    return text;
}

template <typename Write>
std::string pemOf(Write write) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || !write(bio)) {
        BIO_free(bio);
        throw std::runtime_error("cannot encode PEM: " + opensslError());
    }
    char *data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(length));
    BIO_free(bio);
    return pem;
}

// The names a viewer may reach this machine by, for subjectAltName.
std::string alternativeNames(const std::vector<std::string> &extraNames) {
    std::set<std::string> dns{"localhost"};
    std::set<std::string> ips{"127.0.0.1", "::1"};
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) == 0 && host[0]) {
        dns.insert(host);
        if (!std::strchr(host, '.'))
            dns.insert(std::string(host) + ".local");
    }
    ifaddrs *addresses = nullptr;
    if (::getifaddrs(&addresses) == 0) {
        for (ifaddrs *a = addresses; a; a = a->ifa_next) {
            if (!a->ifa_addr)
                continue;
            // Copied out rather than cast: a sockaddr pointer promises less
            // alignment than sockaddr_in6 needs (-Wcast-align on 32-bit ARM).
            char text[INET6_ADDRSTRLEN] = {};
            if (a->ifa_addr->sa_family == AF_INET) {
                sockaddr_in in{};
                std::memcpy(&in, a->ifa_addr, sizeof(in));
                inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
            } else if (a->ifa_addr->sa_family == AF_INET6) {
                sockaddr_in6 in6{};
                std::memcpy(&in6, a->ifa_addr, sizeof(in6));
                if (!IN6_IS_ADDR_LINKLOCAL(&in6.sin6_addr))
                    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
            }
            if (text[0])
                ips.insert(text);
        }
        freeifaddrs(addresses);
    }
    for (const std::string &name : extraNames) {
        in_addr v4;
        in6_addr v6;
        if (inet_pton(AF_INET, name.c_str(), &v4) == 1 ||
            inet_pton(AF_INET6, name.c_str(), &v6) == 1)
            ips.insert(name);
        else if (!name.empty())
            dns.insert(name);
    }
    std::string out;
    for (const std::string &name : dns)
        out += (out.empty() ? "DNS:" : ",DNS:") + name;
    for (const std::string &ip : ips)
        out += ",IP:" + ip;
    return out;
}

void addExtension(X509 *certificate, int nid, const std::string &value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    if (!extension || !X509_add_ext(certificate, extension, -1)) {
        X509_EXTENSION_free(extension);
        throw std::runtime_error("cannot add certificate extension " + value + ": " +
                                 opensslError());
    }
    X509_EXTENSION_free(extension);
}

std::pair<std::string, std::string> makeSelfSigned(const std::vector<std::string> &extraNames) {
    EVP_PKEY *key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (!key)
        throw std::runtime_error("cannot make a key: " + opensslError());
    X509 *certificate = X509_new();
    try {
        X509_set_version(certificate, 2);
        uint8_t serial[16];
        RAND_bytes(serial, sizeof(serial));
        serial[0] &= 0x7f;  // positive
        BIGNUM *number = BN_bin2bn(serial, sizeof(serial), nullptr);
        BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate));
        BN_free(number);
        X509_gmtime_adj(X509_getm_notBefore(certificate), -24 * 3600);
        X509_gmtime_adj(X509_getm_notAfter(certificate), 3650L * 24 * 3600);
        X509_set_pubkey(certificate, key);
        char host[256] = "kvmvnc";
        ::gethostname(host, sizeof(host) - 1);
        const std::string commonName = std::string("kvmvnc ") + host;
        X509_NAME *name = X509_get_subject_name(certificate);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char *>(commonName.c_str()), -1,
                                   -1, 0);
        X509_set_issuer_name(certificate, name);
        // Its own CA, so that a viewer can be given this very file as the CA
        // to trust (TigerVNC's -X509CA, kvmvncctl --ca-file).
        addExtension(certificate, NID_basic_constraints, "critical,CA:TRUE");
        addExtension(certificate, NID_key_usage, "critical,digitalSignature,keyCertSign");
        addExtension(certificate, NID_ext_key_usage, "serverAuth");
        addExtension(certificate, NID_subject_key_identifier, "hash");
        addExtension(certificate, NID_subject_alt_name, alternativeNames(extraNames));
        if (!X509_sign(certificate, key, EVP_sha256()))
            throw std::runtime_error("cannot sign the certificate: " + opensslError());
        std::string keyPem = pemOf([&](BIO *bio) {
            return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
        });
        std::string certificatePem =
            pemOf([&](BIO *bio) { return PEM_write_bio_X509(bio, certificate); });
        X509_free(certificate);
        EVP_PKEY_free(key);
        return {std::move(certificatePem), std::move(keyPem)};
    } catch (...) {
        X509_free(certificate);
        EVP_PKEY_free(key);
        throw;
    }
}

ssl_ctx_st *newContext() {
    SSL_CTX *context = SSL_CTX_new(TLS_server_method());
    if (!context)
        throw std::runtime_error("cannot set up TLS: " + opensslError());
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_options(
        context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
    // No TLS 1.3 session tickets: nothing resumes sessions here, and a
    // ticket arriving in the same segment as the first RFB message leaves
    // TigerVNC 1.12 waiting on its socket for data GnuTLS already holds.
    SSL_CTX_set_num_tickets(context, 0);
    return context;
}

}  // namespace

TlsFiles ensureSelfSignedCertificate(const std::string &dir,
                                     const std::vector<std::string> &extraNames) {
    TlsFiles files{dir + "/cert.pem", dir + "/key.pem"};
    std::error_code error;
    if (std::filesystem::exists(files.certificate, error) &&
        std::filesystem::exists(files.privateKey, error))
        return files;
    std::filesystem::create_directories(dir, error);
    if (error)
        throw std::runtime_error(dir + ": " + error.message());
    auto [certificatePem, keyPem] = makeSelfSigned(extraNames);
    replaceFileAtomically(files.privateKey, keyPem, 0600, false);
    replaceFileAtomically(files.certificate, certificatePem, 0644, false);
    return files;
}

std::string certificateFingerprint(const std::string &certificatePath) {
    FILE *file = std::fopen(certificatePath.c_str(), "re");
    if (!file)
        throw std::runtime_error(certificatePath + ": " + errorText(errno));
    X509 *certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    if (!certificate)
        throw std::runtime_error(certificatePath + ": not a PEM certificate");
    Sha256Digest digest{};
    unsigned int length = 0;
    X509_digest(certificate, EVP_sha256(), digest.data(), &length);
    X509_free(certificate);
    return sha256Fingerprint(digest);
}

TlsServer::TlsServer(const TlsFiles &files) {
    try {
        certificate_ = newContext();
        if (SSL_CTX_use_certificate_chain_file(certificate_, files.certificate.c_str()) != 1)
            throw std::runtime_error(files.certificate + ": " + opensslError());
        if (SSL_CTX_use_PrivateKey_file(certificate_, files.privateKey.c_str(), SSL_FILETYPE_PEM) !=
            1)
            throw std::runtime_error(files.privateKey + ": " + opensslError());
        if (SSL_CTX_check_private_key(certificate_) != 1)
            throw std::runtime_error(files.privateKey + ": does not match " + files.certificate);

        anonymous_ = newContext();
        // Anonymous suites exist only up to TLS 1.2 and only at security
        // level 0; they keep out eavesdroppers, not a man in the middle,
        // which is why the X509 subtypes come first in what we offer.
        SSL_CTX_set_max_proto_version(anonymous_, TLS1_2_VERSION);
        SSL_CTX_set_security_level(anonymous_, 0);
        // Elliptic-curve Diffie-Hellman only: at security level 0 OpenSSL
        // would pick a 1024-bit group for the finite-field (ADH) suites.
        // GnuTLS clients (TigerVNC, libvncclient) offer ANON-ECDH.
        if (SSL_CTX_set_cipher_list(anonymous_, "aNULL+kECDHE:!eNULL@SECLEVEL=0") != 1)
            throw std::runtime_error("no anonymous TLS suites: " + opensslError());
    } catch (...) {
        SSL_CTX_free(certificate_);
        SSL_CTX_free(anonymous_);
        throw;
    }
}

TlsServer::~TlsServer() {
    SSL_CTX_free(certificate_);
    SSL_CTX_free(anonymous_);
}

TlsTransport::TlsTransport(ssl_ctx_st *context, std::unique_ptr<Transport> socket)
    : socket_(std::move(socket)), ssl_(SSL_new(context)) {
    if (!ssl_ || SSL_set_fd(ssl_, socket_->fd()) != 1)
        throw HandshakeError("cannot start TLS: " + opensslError());
    SSL_set_accept_state(ssl_);
}

TlsTransport::~TlsTransport() {
    if (ssl_) {
        // A close_notify if the socket takes it now; never wait for it.
        SSL_shutdown(ssl_);
        SSL_free(ssl_);
    }
    ERR_clear_error();
}

Transport::Result TlsTransport::fromSslError(int ret, const char *what) {
    const int error = SSL_get_error(ssl_, ret);
    switch (error) {
    case SSL_ERROR_WANT_READ:
        return {Status::WantRead};
    case SSL_ERROR_WANT_WRITE:
        return {Status::WantWrite};
    case SSL_ERROR_ZERO_RETURN:
        closeReason_ = "TLS closed by the peer";
        break;
    case SSL_ERROR_SYSCALL:
        closeReason_ = std::string(what) + ": " + (errno ? errorText(errno) : "connection closed");
        break;
    default:
        closeReason_ = std::string(what) + ": " + opensslError();
        break;
    }
    ERR_clear_error();
    return {Status::Closed};
}

void TlsTransport::handshake(Clock::time_point deadline) {
    for (;;) {
        errno = 0;
        const int ret = SSL_do_handshake(ssl_);
        if (ret == 1)
            return;
        const Result result = fromSslError(ret, "TLS handshake");
        if (result.status == Status::Closed)
            throw HandshakeError(closeReason_);
        if (!waitFor(*this, result.status, deadline))
            throw HandshakeError("timed out in the TLS handshake");
    }
}

bool TlsTransport::waitForData(Clock::time_point until) {
    for (;;) {
        uint8_t byte;
        size_t got = 0;
        errno = 0;
        const int ret = SSL_peek_ex(ssl_, &byte, 1, &got);
        if (ret == 1)
            return true;
        const Result result = fromSslError(ret, "TLS");
        if (result.status == Status::Closed)
            return true;  // read() reports it
        if (!waitFor(*this, result.status, until))
            return false;
    }
}

std::vector<uint8_t> TlsTransport::peek(size_t max) {
    std::vector<uint8_t> bytes(max);
    size_t got = 0;
    if (SSL_peek_ex(ssl_, bytes.data(), max, &got) != 1)
        got = 0;
    ERR_clear_error();
    bytes.resize(got);
    return bytes;
}

Transport::Result TlsTransport::read(std::span<uint8_t> into) {
    size_t got = 0;
    errno = 0;
    const int ret = SSL_read_ex(ssl_, into.data(), into.size(), &got);
    if (ret == 1)
        return {Status::Ok, got};
    return fromSslError(ret, "TLS read");
}

Transport::Result TlsTransport::write(std::span<const uint8_t> from) {
    size_t done = 0;
    errno = 0;
    const int ret = SSL_write_ex(ssl_, from.data(), from.size(), &done);
    if (ret == 1)
        return {Status::Ok, done};
    return fromSslError(ret, "TLS write");
}

bool TlsTransport::hasBufferedInput() const { return SSL_pending(ssl_) > 0; }

}  // namespace kvmvnc::door
