// SPDX-License-Identifier: GPL-2.0-or-later
// The known-hosts file: read, looked up, written back whole with what it
// had; and the certificate a fingerprint is taken of.
#include "kvmvnc/ctl/known_hosts.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kvmvnc/ctl/server_certificate.h"
#include "kvmvnc/door/tls.h"

namespace kvmvnc::ctl {
namespace {

constexpr const char *kFingerprintA =
    "SHA256:72:A0:28:1A:6E:24:20:DF:8E:3F:4E:AD:7A:C8:04:8B:67:D4:1D:7F:F5:F6:49:F1:9B:46:7D:CE:"
    "4F:55:F3:62";
constexpr const char *kFingerprintB =
    "SHA256:0C:5B:3A:9D:11:E2:47:F0:6A:88:21:C4:D9:03:7E:B5:42:19:AA:60:F7:3D:8E:C1:5B:90:24:6F:"
    "E8:17:CB:4A";

std::string readFile(const std::string &path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

class KnownHostsTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/kvmvnc-known-hosts-" + std::to_string(::getpid());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string dir_;
};

TEST_F(KnownHostsTest, AMissingFileIsEmpty) {
    const KnownHosts hosts = KnownHosts::load(dir_ + "/none/known_hosts");
    EXPECT_TRUE(hosts.find("kvm:5900").empty());
}

TEST_F(KnownHostsTest, EntriesAreFoundWithTheirLines) {
    const std::string path = dir_ + "/known_hosts";
    std::ofstream(path) << "# kvmvncctl\n"
                        << "KVM.example:5900 " << kFingerprintA << "\n"
                        << "not an entry\n"
                        << "\n"
                        << "[::1]:5901 " << kFingerprintB << "\n";
    const KnownHosts hosts = KnownHosts::load(path);
    const auto kvm = hosts.find("kvm.example:5900");
    ASSERT_EQ(kvm.size(), 1u);
    EXPECT_EQ(kvm[0].fingerprint, kFingerprintA);
    EXPECT_EQ(kvm[0].line, 2);
    const auto loopback = hosts.find(knownHostName("::1", 5901));
    ASSERT_EQ(loopback.size(), 1u);
    EXPECT_EQ(loopback[0].line, 5);
    EXPECT_TRUE(hosts.find("kvm.example:5901").empty()) << "another port is another server";
    EXPECT_TRUE(hosts.find("not:5900").empty());
}

TEST_F(KnownHostsTest, SavingAddsALineAndKeepsTheRest) {
    const std::string path = dir_ + "/config/kvmvnc/known_hosts";
    KnownHosts hosts = KnownHosts::load(path);
    hosts.add(knownHostName("kvm", 5900), kFingerprintA);
    hosts.save();
    struct stat status {};
    ASSERT_EQ(::stat(path.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0600u);
    ASSERT_EQ(::stat((dir_ + "/config/kvmvnc").c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0700u);

    std::ofstream(path, std::ios::app) << "# a comment of the user's\n";
    hosts = KnownHosts::load(path);
    hosts.add(knownHostName("other", 5900), kFingerprintB);
    hosts.save();
    EXPECT_EQ(readFile(path), std::string("kvm:5900 ") + kFingerprintA +
                                  "\n# a comment of the user's\nother:5900 " + kFingerprintB +
                                  "\n");
    EXPECT_EQ(KnownHosts::load(path).find("other:5900").at(0).line, 3);
}

TEST_F(KnownHostsTest, WhatCannotBeReadIsAnError) {
    const std::string path = dir_ + "/known_hosts";
    std::filesystem::create_directory(path);
    EXPECT_THROW(KnownHosts::load(path), std::runtime_error);
}

TEST(KnownHostNameTest, NamesAreLowerCaseAndIpv6IsBracketed) {
    EXPECT_EQ(knownHostName("KVM.Example", 5900), "kvm.example:5900");
    EXPECT_EQ(knownHostName("192.0.2.1", 443), "192.0.2.1:443");
    EXPECT_EQ(knownHostName("2001:DB8::1", 5900), "[2001:db8::1]:5900");
}

TEST(KnownHostNameTest, FingerprintsCompareWithoutCase) {
    std::string lower = kFingerprintA;
    for (char &c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(sameFingerprint(kFingerprintA, lower));
    EXPECT_FALSE(sameFingerprint(kFingerprintA, kFingerprintB));
    EXPECT_FALSE(sameFingerprint(kFingerprintA, std::string(kFingerprintA) + ":00"));
}

// The environment is the process's: each case puts back what it found.
class DefaultFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char *name : {"XDG_CONFIG_HOME", "HOME"})
            if (const char *value = std::getenv(name))
                saved_.emplace_back(name, value);
    }
    void TearDown() override {
        ::unsetenv("XDG_CONFIG_HOME");
        ::unsetenv("HOME");
        for (const auto &[name, value] : saved_)
            ::setenv(name.c_str(), value.c_str(), 1);
    }

    std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(DefaultFileTest, XdgConfigHomeComesFirstThenHome) {
    ::setenv("HOME", "/home/alice", 1);
    ::setenv("XDG_CONFIG_HOME", "/etc/alice", 1);
    EXPECT_EQ(defaultKnownHostsFile(), "/etc/alice/kvmvnc/known_hosts");
    ::setenv("XDG_CONFIG_HOME", "relative/paths/do/not/count", 1);
    EXPECT_EQ(defaultKnownHostsFile(), "/home/alice/.config/kvmvnc/known_hosts");
    ::unsetenv("XDG_CONFIG_HOME");
    EXPECT_EQ(defaultKnownHostsFile(), "/home/alice/.config/kvmvnc/known_hosts");
}

// The certificate kvmvncd makes for itself, as the probe would get it.
class ServerCertificateTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/kvmvnc-server-certificate-" + std::to_string(::getpid());
        std::filesystem::remove_all(dir_);
        files_ = door::ensureSelfSignedCertificate(dir_, {"kvm.example"});
        FILE *file = std::fopen(files_.certificate.c_str(), "re");
        ASSERT_NE(file, nullptr);
        X509 *x509 = PEM_read_X509(file, nullptr, nullptr, nullptr);
        std::fclose(file);
        ASSERT_NE(x509, nullptr);
        unsigned char *bytes = nullptr;
        const int length = i2d_X509(x509, &bytes);
        der_.assign(bytes, bytes + length);
        OPENSSL_free(bytes);
        X509_free(x509);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string dir_;
    door::TlsFiles files_;
    std::vector<uint8_t> der_;
};

TEST_F(ServerCertificateTest, TheFingerprintIsTheOneKvmvncdLogs) {
    const auto certificate = ServerCertificate::fromDer(der_);
    ASSERT_TRUE(certificate);
    EXPECT_EQ(certificate->fingerprint(), door::certificateFingerprint(files_.certificate));
    EXPECT_EQ(certificate->pem(), readFile(files_.certificate));
}

TEST_F(ServerCertificateTest, OnlyOneWholeCertificateIsOne) {
    EXPECT_FALSE(ServerCertificate::fromDer({}));
    EXPECT_FALSE(ServerCertificate::fromDer({0x30, 0x03, 0x02, 0x01, 0x00}));
    std::vector<uint8_t> longer = der_;
    longer.push_back(0);
    EXPECT_FALSE(ServerCertificate::fromDer(longer));
    std::vector<uint8_t> shorter(der_.begin(), der_.end() - 1);
    EXPECT_FALSE(ServerCertificate::fromDer(shorter));
}

// libvncclient checks the name it is given against the certificate; with a
// pinned certificate any name the certificate carries will do.
TEST_F(ServerCertificateTest, TheNameForTheHostNameCheckIsOneTheCertificateCarries) {
    const auto certificate = ServerCertificate::fromDer(der_);
    ASSERT_TRUE(certificate);
    EXPECT_EQ(certificate->nameFor("127.0.0.1"), "127.0.0.1");
    EXPECT_EQ(certificate->nameFor("kvm.example"), "kvm.example");
    const std::string other = certificate->nameFor("192.0.2.77");
    EXPECT_NE(other, "192.0.2.77");
    const unsigned char *next = der_.data();
    X509 *x509 = d2i_X509(nullptr, &next, static_cast<long>(der_.size()));
    ASSERT_NE(x509, nullptr);
    EXPECT_TRUE(X509_check_host(x509, other.c_str(), other.size(), 0, nullptr) == 1 ||
                X509_check_ip_asc(x509, other.c_str(), 0) == 1)
        << other;
    X509_free(x509);
}

}  // namespace
}  // namespace kvmvnc::ctl
