// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/doctor/certificate_info.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <memory>

#include "kvmvnc/base/sha256.h"

namespace kvmvnc::doctor {

namespace {

using Clock = std::chrono::system_clock;

struct X509Free {
    void operator()(X509 *certificate) const { X509_free(certificate); }
};
struct BioFree {
    void operator()(BIO *bio) const { BIO_free(bio); }
};

std::optional<Clock::time_point> timeOf(const ASN1_TIME *time) {
    tm parts{};
    if (!time || ASN1_TIME_to_tm(time, &parts) != 1)
        return std::nullopt;
    return Clock::from_time_t(timegm(&parts));
}

constexpr auto kExpiresSoon = std::chrono::hours{24 * 30};

}  // namespace

std::optional<CertificateInfo> inspectCertificate(std::span<const uint8_t> bytes,
                                                  std::string &error) {
    std::unique_ptr<X509, X509Free> certificate;
    const std::string_view text(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    if (text.find("-----BEGIN") != std::string_view::npos) {
        std::unique_ptr<BIO, BioFree> bio(
            BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
        certificate.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    } else {
        const unsigned char *der = bytes.data();
        certificate.reset(d2i_X509(nullptr, &der, static_cast<long>(bytes.size())));
    }
    if (!certificate) {
        error = "not a certificate (PEM or DER)";
        return std::nullopt;
    }
    CertificateInfo info;
    Sha256Digest digest{};
    unsigned int length = 0;
    X509_digest(certificate.get(), EVP_sha256(), digest.data(), &length);
    info.fingerprint = sha256Fingerprint(digest);
    auto notBefore = timeOf(X509_get0_notBefore(certificate.get()));
    auto notAfter = timeOf(X509_get0_notAfter(certificate.get()));
    if (!notBefore || !notAfter) {
        error = "its validity dates cannot be read";
        return std::nullopt;
    }
    info.notBefore = *notBefore;
    info.notAfter = *notAfter;
    info.selfSigned = X509_check_issued(certificate.get(), certificate.get()) == X509_V_OK;
    return info;
}

std::string dateText(Clock::time_point time) {
    const std::time_t seconds = Clock::to_time_t(time);
    tm parts{};
    gmtime_r(&seconds, &parts);
    char text[16];
    std::strftime(text, sizeof(text), "%Y-%m-%d", &parts);
    return text;
}

HardwareCheck certificateCheck(const std::string &name, const CertificateInfo &info,
                               Clock::time_point now, bool needed, const std::string &what,
                               const std::string &fixExpired) {
    HardwareCheck check{name, Status::Ok, {}, {}};
    const std::string identity =
        what + (info.selfSigned ? " (self-signed)" : "") + ", " + info.fingerprint;
    const Status bad = needed ? Status::Fail : Status::Warning;
    if (now < info.notBefore) {
        check.status = bad;
        check.finding = identity + ", not valid before " + dateText(info.notBefore);
        check.fix = "is this machine's clock right? (timedatectl)";
    } else if (now > info.notAfter) {
        check.status = bad;
        check.finding = identity + ", expired on " + dateText(info.notAfter);
        check.fix = fixExpired;
    } else if (info.notAfter - now < kExpiresSoon) {
        check.status = Status::Warning;
        check.finding = identity + ", expires on " + dateText(info.notAfter);
        check.fix = fixExpired;
    } else {
        check.finding = identity + ", valid until " + dateText(info.notAfter);
    }
    return check;
}

}  // namespace kvmvnc::doctor
