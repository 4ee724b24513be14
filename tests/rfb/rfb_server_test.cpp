// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/rfb_server.h"

#include <gtest/gtest.h>
#include <rfb/rfb.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "free_port.h"

namespace kvmvnc::rfb {

namespace {

using Challenge = std::array<uint8_t, CHALLENGESIZE>;

using kvmvnc::testing::freePort;

RfbServerOptions optionsWith(std::optional<VncPasswords> passwords) {
    RfbServerOptions options;
    options.listen = "127.0.0.1";
    options.port = freePort();
    options.desktopName = "rack 4";
    options.passwords = std::move(passwords);
    options.initialSize = {64, 48};
    return options;
}

// What a viewer answers to `challenge` when it was given `password`.
Challenge responseFor(const Challenge &challenge, const std::string &password) {
    Challenge response = challenge;
    std::string key = password;
    rfbEncryptBytes(response.data(), key.data());
    return response;
}

RfbServer::Access check(const RfbServer &server, const std::string &password) {
    Challenge challenge;
    for (size_t i = 0; i < challenge.size(); ++i)
        challenge[i] = static_cast<uint8_t>(i * 37 + 11);
    const Challenge response = responseFor(challenge, password);
    return server.checkResponse(challenge.data(), response.data(), response.size());
}

}  // namespace

TEST(RfbServerTest, ChecksTheFullAndTheViewOnlyPassword) {
    RfbServer server(optionsWith(VncPasswords{"fullpass", "viewpass"}));
    EXPECT_TRUE(server.requiresPassword());
    EXPECT_EQ(check(server, "fullpass"), RfbServer::Access::Full);
    EXPECT_EQ(check(server, "viewpass"), RfbServer::Access::ViewOnly);
    EXPECT_EQ(check(server, "wrong"), RfbServer::Access::Refused);
    EXPECT_EQ(check(server, ""), RfbServer::Access::Refused);
    // VNC passwords are 8 characters: a longer one is the same password.
    EXPECT_EQ(check(server, "fullpassword"), RfbServer::Access::Full);
    Challenge challenge{};
    const Challenge response = responseFor(challenge, "fullpass");
    EXPECT_EQ(server.checkResponse(challenge.data(), response.data(), 8),
              RfbServer::Access::Refused)
        << "a short response";
}

TEST(RfbServerTest, NewPasswordsReplaceTheOldOnes) {
    RfbServer server(optionsWith(VncPasswords{"oldpass", "oldview"}));
    EXPECT_TRUE(server.setPasswords({"newpass", ""}));
    EXPECT_EQ(check(server, "oldpass"), RfbServer::Access::Refused);
    EXPECT_EQ(check(server, "oldview"), RfbServer::Access::Refused);
    EXPECT_EQ(check(server, "newpass"), RfbServer::Access::Full);
    EXPECT_FALSE(server.setPasswords({"newpass", ""})) << "the same passwords again";
    EXPECT_TRUE(server.setPasswords({"newpass", "newview"}));
    EXPECT_EQ(check(server, "newview"), RfbServer::Access::ViewOnly);
}

TEST(RfbServerTest, PasswordsTurnAuthenticationOn) {
    RfbServer server(optionsWith(std::nullopt));
    EXPECT_FALSE(server.requiresPassword());
    EXPECT_EQ(check(server, "anything"), RfbServer::Access::Refused);
    EXPECT_TRUE(server.setPasswords({"secret", ""}));
    EXPECT_TRUE(server.requiresPassword());
    EXPECT_EQ(check(server, "secret"), RfbServer::Access::Full);
}

TEST(RfbServerTest, DesktopNameChangesAndKeepsTheKeyboardNote) {
    RfbServer server(optionsWith(std::nullopt));
    EXPECT_EQ(server.desktopName(), "rack 4");
    server.setDesktopName("rack 5");
    EXPECT_EQ(server.desktopName(), "rack 5");
    server.setHostListening(false);
    EXPECT_EQ(server.desktopName(), "rack 5 (keyboard not connected)");
    server.setDesktopName("rack 6");
    EXPECT_EQ(server.desktopName(), "rack 6 (keyboard not connected)");
}

}  // namespace kvmvnc::rfb
