// SPDX-License-Identifier: GPL-2.0-or-later
// The server side of the RFB security handshake, against a client played
// byte by byte on the other end of a socketpair: what is offered for which
// credentials and policy, VNC authentication, RFB 3.3, the throttle, and
// VeNCrypt with a real TLS handshake (OpenSSL as the client).
#include "kvmvnc/door/rfb_security.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <rfb/rfb.h>
#include <sys/socket.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

#include "kvmvnc/door/tls.h"

namespace kvmvnc::door {
namespace {

using namespace std::chrono_literals;

// The client's end: blocking reads and writes with a timeout.
class ClientEnd {
public:
    explicit ClientEnd(int fd) : fd_(fd) {
        timeval tv{5, 0};
        setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    std::vector<uint8_t> read(size_t n) {
        std::vector<uint8_t> out(n);
        size_t done = 0;
        while (done < n) {
            ssize_t r = ::recv(fd_.get(), out.data() + done, n - done, 0);
            if (r <= 0)
                return {};
            done += static_cast<size_t>(r);
        }
        return out;
    }
    uint32_t readU32() {
        auto b = read(4);
        return b.size() == 4 ? getU32(b.data()) : 0xffffffff;
    }
    std::string readReason() {
        const uint32_t length = readU32();
        auto b = read(length);
        return {b.begin(), b.end()};
    }
    void write(const std::vector<uint8_t> &bytes) {
        ASSERT_EQ(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }
    void write(const std::string &text) { write(std::vector<uint8_t>(text.begin(), text.end())); }
    int fd() const { return fd_.get(); }

private:
    UniqueFd fd_;
};

std::vector<uint8_t> u32(uint32_t value) {
    std::vector<uint8_t> out(4);
    putU32(out.data(), value);
    return out;
}

std::vector<uint8_t> vncResponse(const std::vector<uint8_t> &challenge,
                                 const std::string &password) {
    std::vector<uint8_t> response = challenge;
    char key[9] = {};
    password.copy(key, 8);
    rfbEncryptBytes(response.data(), key);
    return response;
}

// A socket that says it is encrypted, as the WebSocket over TLS (wss) that
// browsers use is.
class AlreadyEncrypted final : public Transport {
public:
    explicit AlreadyEncrypted(int fd) : socket_(UniqueFd(fd)) {}
    Result read(std::span<uint8_t> into) override { return socket_.read(into); }
    Result write(std::span<const uint8_t> from) override { return socket_.write(from); }
    bool encrypted() const override { return true; }
    int fd() const override { return socket_.fd(); }
    std::string closeReason() const override { return socket_.closeReason(); }

private:
    SocketTransport socket_;
};

struct Outcome {
    bool ok = false;
    Admission admission;
    std::string error;
};

class RfbSecurityTest : public ::testing::Test {
protected:
    // Runs the server side on a thread; the test plays the client.
    std::future<Outcome> serve(ClientEnd *&client, bool encrypted = false) {
        int pair[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
        client_ = std::make_unique<ClientEnd>(pair[1]);
        client = client_.get();
        return std::async(std::launch::async, [this, encrypted, fd = pair[0]] {
            std::unique_ptr<Transport> transport;
            if (encrypted)
                transport = std::make_unique<AlreadyEncrypted>(fd);
            else
                transport = std::make_unique<SocketTransport>(UniqueFd(fd));
            SecurityContext context{policy,   credentials, tls.get(),
                                    throttle, "192.0.2.7", Clock::now() + 5s};
            Outcome outcome;
            try {
                outcome.admission = negotiateSecurity(transport, context);
                sendSecurityResult(*transport, outcome.admission, true, {}, context.deadline);
                outcome.ok = true;
                transport_ = std::move(transport);  // kept open: TLS is still on it
            } catch (const HandshakeError &e) {
                outcome.error = e.what();
            }
            return outcome;
        });
    }

    void makeTls() {
        dir_ =
            std::filesystem::temp_directory_path() / ("kvmvnc-sec-" + std::to_string(::getpid()));
        tlsFiles = ensureSelfSignedCertificate(dir_.string());
        tls = std::make_shared<TlsServer>(tlsFiles);
    }
    void TearDown() override {
        if (!dir_.empty())
            std::filesystem::remove_all(dir_);
    }

    SecurityPolicy policy;
    Credentials credentials;
    AuthThrottle throttle;
    std::shared_ptr<TlsServer> tls;
    TlsFiles tlsFiles;
    std::unique_ptr<ClientEnd> client_;
    std::unique_ptr<Transport> transport_;
    std::filesystem::path dir_;
};

TEST_F(RfbSecurityTest, WithoutCredentialsOnlyNoneIsOffered) {
    ClientEnd *client;
    auto outcome = serve(client);
    EXPECT_EQ(client->read(12),
              std::vector<uint8_t>({'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n'}));
    client->write("RFB 003.008\n");
    EXPECT_EQ(client->read(2), std::vector<uint8_t>({1, sectype::kNone}));
    client->write(std::vector<uint8_t>{sectype::kNone});
    EXPECT_EQ(client->readU32(), 0u);
    Outcome result = outcome.get();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.admission.method, "None");
}

TEST_F(RfbSecurityTest, PasswordsWithoutTlsOrPlaintextPermissionLeaveNothingToOffer) {
    credentials.vnc = VncPasswords{"secret", ""};
    ClientEnd *client;
    auto outcome = serve(client);
    client->read(12);
    client->write("RFB 003.008\n");
    EXPECT_EQ(client->read(1), std::vector<uint8_t>{0});
    EXPECT_NE(client->readReason().find("only encrypted logins"), std::string::npos);
    EXPECT_FALSE(outcome.get().ok);
}

TEST_F(RfbSecurityTest, AnEmptyUsersFileLetsNobodyIn) {
    makeTls();
    credentials.required = true;  // users_file configured, every account deleted
    ClientEnd *client;
    auto outcome = serve(client);
    client->read(12);
    client->write("RFB 003.008\n");
    EXPECT_EQ(client->read(1), std::vector<uint8_t>{0}) << "not even None";
    EXPECT_NE(client->readReason().find("no accounts"), std::string::npos);
    EXPECT_FALSE(outcome.get().ok);
}

TEST_F(RfbSecurityTest, VncAuthenticationWhenAllowedGivesFullOrViewOnlyAccess) {
    credentials.vnc = VncPasswords{"fullpass", "viewpass"};
    policy.allowUnencrypted = true;
    for (auto [password, access] :
         {std::pair{"fullpass", Access::Full}, std::pair{"viewpass", Access::ViewOnly}}) {
        ClientEnd *client;
        auto outcome = serve(client);
        client->read(12);
        client->write("RFB 003.008\n");
        EXPECT_EQ(client->read(2), std::vector<uint8_t>({1, sectype::kVncAuth}));
        client->write(std::vector<uint8_t>{sectype::kVncAuth});
        const std::vector<uint8_t> challenge = client->read(16);
        client->write(vncResponse(challenge, password));
        EXPECT_EQ(client->readU32(), 0u);
        Outcome result = outcome.get();
        ASSERT_TRUE(result.ok) << result.error;
        EXPECT_EQ(result.admission.access, access) << password;
    }
}

TEST_F(RfbSecurityTest, ChallengesAreNeverRepeated) {
    credentials.vnc = VncPasswords{"fullpass", ""};
    policy.allowUnencrypted = true;
    std::vector<std::vector<uint8_t>> seen;
    for (int i = 0; i < 3; ++i) {
        ClientEnd *client;
        auto outcome = serve(client);
        client->read(12);
        client->write("RFB 003.008\n");
        client->read(2);
        client->write(std::vector<uint8_t>{sectype::kVncAuth});
        const std::vector<uint8_t> challenge = client->read(16);
        for (const auto &earlier : seen)
            EXPECT_NE(challenge, earlier);
        seen.push_back(challenge);
        client->write(vncResponse(challenge, "fullpass"));
        client->readU32();
        outcome.get();
    }
}

TEST_F(RfbSecurityTest, WrongPasswordsAreRefusedAndThenTheAddressIsBlocked) {
    credentials.vnc = VncPasswords{"fullpass", ""};
    policy.allowUnencrypted = true;
    for (int attempt = 0; attempt < 4; ++attempt) {
        ClientEnd *client;
        auto outcome = serve(client);
        client->read(12);
        client->write("RFB 003.008\n");
        client->read(2);
        client->write(std::vector<uint8_t>{sectype::kVncAuth});
        client->write(vncResponse(client->read(16), "guess" + std::to_string(attempt)));
        EXPECT_EQ(client->readU32(), 1u);
        EXPECT_EQ(client->readReason(), "authentication failed");
        EXPECT_FALSE(outcome.get().ok);
    }
    // Blocked now: even the right password is not tried.
    ClientEnd *client;
    auto outcome = serve(client);
    client->read(12);
    client->write("RFB 003.008\n");
    EXPECT_EQ(client->read(1), std::vector<uint8_t>{0});
    EXPECT_NE(client->readReason().find("too many failed logins from 192.0.2.7"),
              std::string::npos);
    EXPECT_FALSE(outcome.get().ok);
}

TEST_F(RfbSecurityTest, Rfb33ViewersGetVncAuthOnlyWhenPlaintextIsAllowed) {
    credentials.vnc = VncPasswords{"fullpass", ""};
    {
        ClientEnd *client;
        auto outcome = serve(client);
        client->read(12);
        client->write("RFB 003.003\n");
        EXPECT_EQ(client->readU32(), 0u) << "3.3's way of refusing";
        EXPECT_NE(client->readReason().find("RFB 3.3"), std::string::npos);
        EXPECT_FALSE(outcome.get().ok);
    }
    policy.allowUnencrypted = true;
    ClientEnd *client;
    auto outcome = serve(client);
    client->read(12);
    client->write("RFB 003.003\n");
    EXPECT_EQ(client->readU32(), sectype::kVncAuth);
    client->write(vncResponse(client->read(16), "fullpass"));
    EXPECT_EQ(client->readU32(), 0u);
    Outcome result = outcome.get();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.admission.minorVersion, 3);
}

TEST_F(RfbSecurityTest, NotRfbIsDropped) {
    ClientEnd *client;
    auto outcome = serve(client);
    client->read(12);
    client->write("SSH-2.0-xx\r\n");
    Outcome result = outcome.get();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("not an RFB client"), std::string::npos);
}

TEST_F(RfbSecurityTest, OffersX509BeforeAnonymousTlsAndPlaintextNever) {
    makeTls();
    credentials.vnc = VncPasswords{"fullpass", ""};
    credentials.users.set("alice", "wonderland", Access::Full);
    SecurityContext context{policy, credentials, tls.get(), throttle, "x", Clock::now()};
    EXPECT_EQ(offeredTypes(context, false), std::vector<uint8_t>{sectype::kVeNCrypt});
    EXPECT_EQ(offeredSubtypes(context, false),
              (std::vector<uint32_t>{subtype::kX509Plain, subtype::kX509Vnc, subtype::kTlsPlain,
                                     subtype::kTlsVnc}));
    // Already inside TLS (wss): no second TLS layer.
    EXPECT_EQ(offeredTypes(context, true),
              (std::vector<uint8_t>{sectype::kVeNCrypt, sectype::kVncAuth}));
    EXPECT_EQ(offeredSubtypes(context, true),
              (std::vector<uint32_t>{subtype::kPlain, subtype::kVncAuth}));
    policy.anonymousTls = false;
    policy.allowTlsNone = true;
    EXPECT_EQ(offeredSubtypes(context, false),
              (std::vector<uint32_t>{subtype::kX509Plain, subtype::kX509Vnc, subtype::kX509None}));
}

// VeNCrypt up to the subtype; returns the client end ready for TLS.
void veNCryptUpTo(ClientEnd &client, uint32_t chosen, const std::vector<uint32_t> &expected) {
    client.read(12);
    client.write("RFB 003.008\n");
    EXPECT_EQ(client.read(2), std::vector<uint8_t>({1, sectype::kVeNCrypt}));
    client.write(std::vector<uint8_t>{sectype::kVeNCrypt});
    EXPECT_EQ(client.read(2), std::vector<uint8_t>({0, 2}));
    client.write(std::vector<uint8_t>{0, 2});
    EXPECT_EQ(client.read(1), std::vector<uint8_t>{0});
    const auto count = client.read(1);
    ASSERT_EQ(count.size(), 1u);
    std::vector<uint32_t> subtypes;
    for (int i = 0; i < count[0]; ++i)
        subtypes.push_back(client.readU32());
    EXPECT_EQ(subtypes, expected);
    client.write(u32(chosen));
    EXPECT_EQ(client.read(1), std::vector<uint8_t>{1});
}

// An OpenSSL client session on the client end.
struct TlsClient {
    SSL_CTX *context = nullptr;
    SSL *ssl = nullptr;
    ~TlsClient() {
        SSL_free(ssl);
        SSL_CTX_free(context);
    }
    bool connect(int fd, bool anonymous, const std::string &ca) {
        context = SSL_CTX_new(TLS_client_method());
        if (anonymous) {
            SSL_CTX_set_security_level(context, 0);
            SSL_CTX_set_max_proto_version(context, TLS1_2_VERSION);
            SSL_CTX_set_cipher_list(context, "aNULL@SECLEVEL=0");
        } else {
            SSL_CTX_load_verify_locations(context, ca.c_str(), nullptr);
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
        }
        ssl = SSL_new(context);
        SSL_set_fd(ssl, fd);
        if (!anonymous)
            SSL_set1_host(ssl, "127.0.0.1");
        return SSL_connect(ssl) == 1;
    }
    void write(const std::vector<uint8_t> &bytes) {
        ASSERT_EQ(SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())),
                  static_cast<int>(bytes.size()));
    }
    std::vector<uint8_t> read(size_t n) {
        std::vector<uint8_t> out(n);
        size_t done = 0;
        while (done < n) {
            int r = SSL_read(ssl, out.data() + done, static_cast<int>(n - done));
            if (r <= 0)
                return {};
            done += static_cast<size_t>(r);
        }
        return out;
    }
};

std::vector<uint8_t> plainCredentials(const std::string &user, const std::string &password) {
    std::vector<uint8_t> out = u32(static_cast<uint32_t>(user.size()));
    auto p = u32(static_cast<uint32_t>(password.size()));
    out.insert(out.end(), p.begin(), p.end());
    out.insert(out.end(), user.begin(), user.end());
    out.insert(out.end(), password.begin(), password.end());
    return out;
}

TEST_F(RfbSecurityTest, X509PlainChecksTheCertificateAndTheUser) {
    makeTls();
    credentials.users.set("alice", "wonderland", Access::ViewOnly);
    ClientEnd *client;
    auto outcome = serve(client);
    veNCryptUpTo(*client, subtype::kX509Plain, {subtype::kX509Plain, subtype::kTlsPlain});
    TlsClient tlsClient;
    ASSERT_TRUE(tlsClient.connect(client->fd(), false, tlsFiles.certificate))
        << "the self-signed certificate verifies as its own CA, for 127.0.0.1";
    tlsClient.write(plainCredentials("alice", "wonderland"));
    EXPECT_EQ(tlsClient.read(4), u32(0));
    Outcome result = outcome.get();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.admission.method, "X509Plain");
    EXPECT_EQ(result.admission.user, "alice");
    EXPECT_EQ(result.admission.access, Access::ViewOnly);
}

TEST_F(RfbSecurityTest, TlsVncRunsOverAnonymousTlsAndRefusesAWrongPassword) {
    makeTls();
    credentials.vnc = VncPasswords{"fullpass", ""};
    ClientEnd *client;
    auto outcome = serve(client);
    veNCryptUpTo(*client, subtype::kTlsVnc, {subtype::kX509Vnc, subtype::kTlsVnc});
    TlsClient tlsClient;
    ASSERT_TRUE(tlsClient.connect(client->fd(), true, {}));
    const std::vector<uint8_t> challenge = tlsClient.read(16);
    ASSERT_EQ(challenge.size(), 16u);
    tlsClient.write(vncResponse(challenge, "nottheone"));
    EXPECT_EQ(tlsClient.read(4), u32(1));
    Outcome result = outcome.get();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("wrong VNC password"), std::string::npos);
}

// Inside wss the browser (noVNC) picks VeNCrypt Plain: no second TLS layer,
// and no acknowledging byte before the credentials, which only the TLS
// subtypes have.
TEST_F(RfbSecurityTest, PlainInsideAnEncryptedTransportHasNoTlsLayerAndNoAck) {
    credentials.users.set("alice", "wonderland", Access::Full);
    ClientEnd *client;
    auto outcome = serve(client, true);
    client->read(12);
    client->write("RFB 003.008\n");
    EXPECT_EQ(client->read(2), std::vector<uint8_t>({1, sectype::kVeNCrypt}));
    client->write(std::vector<uint8_t>{sectype::kVeNCrypt});
    EXPECT_EQ(client->read(2), std::vector<uint8_t>({0, 2}));
    client->write(std::vector<uint8_t>{0, 2});
    EXPECT_EQ(client->read(2), std::vector<uint8_t>({0, 1}));
    EXPECT_EQ(client->readU32(), subtype::kPlain);
    client->write(u32(subtype::kPlain));
    client->write(plainCredentials("alice", "wonderland"));
    EXPECT_EQ(client->read(4), u32(0)) << "the SecurityResult, with nothing before it";
    Outcome result = outcome.get();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.admission.method, "Plain");
}

// Failures from many addresses together hold back every address no password
// was accepted from lately; one that logged in before goes on logging in.
void tripTheBudget(AuthThrottle &throttle) {
    for (int i = 0; i < 31; ++i)
        throttle.recordFailure("198.51.100." + std::to_string(i), Clock::now());
    ASSERT_GT(throttle.blockedFor("203.0.113.1", Clock::now()).time.count(), 0);
}

TEST_F(RfbSecurityTest, AVncPasswordAcceptedMakesTheAddressKnownToTheThrottle) {
    credentials.vnc = VncPasswords{"fullpass", ""};
    policy.allowUnencrypted = true;
    auto login = [&] {
        ClientEnd *client;
        auto outcome = serve(client);
        client->read(12);
        client->write("RFB 003.008\n");
        EXPECT_EQ(client->read(2), std::vector<uint8_t>({1, sectype::kVncAuth}));
        client->write(std::vector<uint8_t>{sectype::kVncAuth});
        client->write(vncResponse(client->read(16), "fullpass"));
        EXPECT_EQ(client->readU32(), 0u);
        return outcome.get();
    };
    ASSERT_TRUE(login().ok);
    ASSERT_NO_FATAL_FAILURE(tripTheBudget(throttle));
    Outcome again = login();
    EXPECT_TRUE(again.ok) << again.error;
}

TEST_F(RfbSecurityTest, APlainPasswordAcceptedMakesTheAddressKnownToTheThrottle) {
    credentials.users.set("alice", "wonderland", Access::Full);
    auto login = [&] {
        ClientEnd *client;
        auto outcome = serve(client, true);
        client->read(12);
        client->write("RFB 003.008\n");
        EXPECT_EQ(client->read(2), std::vector<uint8_t>({1, sectype::kVeNCrypt}));
        client->write(std::vector<uint8_t>{sectype::kVeNCrypt});
        client->read(2);
        client->write(std::vector<uint8_t>{0, 2});
        client->read(2);
        client->readU32();
        client->write(u32(subtype::kPlain));
        client->write(plainCredentials("alice", "wonderland"));
        EXPECT_EQ(client->read(4), u32(0));
        return outcome.get();
    };
    ASSERT_TRUE(login().ok);
    ASSERT_NO_FATAL_FAILURE(tripTheBudget(throttle));
    Outcome again = login();
    EXPECT_TRUE(again.ok) << again.error;
}

}  // namespace
}  // namespace kvmvnc::door
