// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/server_certificate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/sha256.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::ctl {

namespace {

using Clock = std::chrono::steady_clock;

struct X509Free {
    void operator()(X509 *certificate) const { X509_free(certificate); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr parse(const std::vector<uint8_t> &der) {
    const unsigned char *next = der.data();
    X509Ptr certificate(d2i_X509(nullptr, &next, static_cast<long>(der.size())));
    if (certificate && next != der.data() + der.size())
        certificate.reset();  // something after it
    ERR_clear_error();
    return certificate;
}

// A TCP connection to one of `host`'s addresses by `deadline`, blocking
// again, its sends and receives timing out at the deadline too.
UniqueFd connectBy(const std::string &host, int port, Clock::time_point deadline,
                   std::string &error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *addresses = nullptr;
    const int resolved =
        ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses);
    if (resolved != 0) {
        error = host + ": " + ::gai_strerror(resolved);
        return {};
    }
    UniqueFd fd;
    error = "cannot connect";
    for (addrinfo *a = addresses; a && !fd.isValid(); a = a->ai_next) {
        UniqueFd candidate(
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (!candidate.isValid())
            continue;
        int result = ::connect(candidate.get(), a->ai_addr, a->ai_addrlen);
        if (result != 0 && errno == EINPROGRESS) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            pollfd ready{candidate.get(), POLLOUT, 0};
            int problem = ETIMEDOUT;
            socklen_t length = sizeof(problem);
            if (left.count() > 0 && ::poll(&ready, 1, static_cast<int>(left.count())) == 1)
                ::getsockopt(candidate.get(), SOL_SOCKET, SO_ERROR, &problem, &length);
            errno = problem;
            result = problem == 0 ? 0 : -1;
        }
        if (result == 0)
            fd = std::move(candidate);
        else
            error = std::string("cannot connect: ") + errorText(errno);
    }
    ::freeaddrinfo(addresses);
    if (!fd.isValid())
        return {};
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    const auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    timeval timeout{static_cast<time_t>(std::max<int64_t>(left.count(), 1) / 1000000),
                    static_cast<suseconds_t>(std::max<int64_t>(left.count(), 1) % 1000000)};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    return fd;
}

}  // namespace

std::optional<ServerCertificate> ServerCertificate::fromDer(std::vector<uint8_t> der) {
    if (!parse(der))
        return std::nullopt;
    ServerCertificate certificate;
    certificate.der_ = std::move(der);
    return certificate;
}

std::string ServerCertificate::fingerprint() const { return sha256Fingerprint(sha256(der_)); }

std::string ServerCertificate::pem() const {
    const X509Ptr certificate = parse(der_);
    BIO *bio = BIO_new(BIO_s_mem());
    std::string out;
    if (bio && PEM_write_bio_X509(bio, certificate.get()) == 1) {
        char *data = nullptr;
        const long length = BIO_get_mem_data(bio, &data);
        out.assign(data, static_cast<size_t>(length));
    }
    BIO_free(bio);
    return out;
}

std::optional<ServerCertificate> ServerCertificate::fromPemFile(const std::string &path) {
    std::FILE *file = std::fopen(path.c_str(), "re");
    if (!file)
        return std::nullopt;
    X509Ptr certificate(PEM_read_X509(file, nullptr, nullptr, nullptr));
    std::fclose(file);
    ERR_clear_error();
    if (!certificate)
        return std::nullopt;
    unsigned char *bytes = nullptr;
    const int length = i2d_X509(certificate.get(), &bytes);
    std::optional<ServerCertificate> result;
    if (length > 0)
        result = fromDer(std::vector<uint8_t>(bytes, bytes + length));
    OPENSSL_free(bytes);
    return result;
}

std::string ServerCertificate::nameFor(const std::string &host) const {
    const X509Ptr certificate = parse(der_);
    if (X509_check_host(certificate.get(), host.c_str(), host.size(), 0, nullptr) == 1 ||
        X509_check_ip_asc(certificate.get(), host.c_str(), 0) == 1)
        return host;
    std::string dns;
    std::string ip;
    auto *names = static_cast<GENERAL_NAMES *>(
        X509_get_ext_d2i(certificate.get(), NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_DNS && dns.empty()) {
            dns.assign(reinterpret_cast<const char *>(ASN1_STRING_get0_data(name->d.dNSName)),
                       static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
            // A wildcard names every host of its domain: take one of them.
            if (dns.starts_with("*."))
                dns = "kvmvnc" + dns.substr(1);
        } else if (name->type == GEN_IPADD && ip.empty()) {
            const int length = ASN1_STRING_length(name->d.iPAddress);
            char text[INET6_ADDRSTRLEN] = {};
            if (length == 4 || length == 16)
                ::inet_ntop(length == 4 ? AF_INET : AF_INET6,
                            ASN1_STRING_get0_data(name->d.iPAddress), text, sizeof(text));
            ip = text;
        }
    }
    GENERAL_NAMES_free(names);
    if (!dns.empty())
        return dns;
    if (!ip.empty())
        return ip;
    char common[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(certificate.get()), NID_commonName, common,
                                  sizeof(common)) > 0)
        return common;
    return host;
}

std::optional<ServerCertificate> fetchServerCertificate(const std::string &host, int port,
                                                        int timeoutSeconds, std::string &error) {
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeoutSeconds);
    UniqueFd fd = connectBy(host, port, deadline, error);
    if (!fd.isValid())
        return std::nullopt;
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    SSL *ssl = context ? SSL_new(context) : nullptr;
    std::optional<ServerCertificate> certificate;
    if (!ssl) {
        error = "cannot start TLS";
    } else {
        // Nothing is verified here: the certificate is what we came for.
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        SSL_set_min_proto_version(ssl, TLS1_2_VERSION);
        SSL_set_fd(ssl, fd.get());
        if (SSL_connect(ssl) != 1) {
            error = "no TLS handshake (not a kvmvncd with TLS?)";
        } else if (X509Ptr peer(SSL_get1_peer_certificate(ssl)); !peer) {
            error = "the server shows no certificate";
        } else {
            unsigned char *bytes = nullptr;
            const int length = i2d_X509(peer.get(), &bytes);
            if (length > 0)
                certificate =
                    ServerCertificate::fromDer(std::vector<uint8_t>(bytes, bytes + length));
            OPENSSL_free(bytes);
            if (!certificate)
                error = "the server's certificate cannot be read";
            SSL_shutdown(ssl);  // close_notify: the server sees a client leave, not fail
        }
    }
    SSL_free(ssl);
    SSL_CTX_free(context);
    ERR_clear_error();
    return certificate;
}

}  // namespace kvmvnc::ctl
