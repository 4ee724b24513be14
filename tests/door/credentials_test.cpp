// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/credentials.h"

#include <gtest/gtest.h>
#include <rfb/rfb.h>

#include <cstring>
#include <string>

namespace kvmvnc::door {
namespace {

// What a viewer answers to `challenge` when it was given `password`.
std::optional<Access> check(const VncPasswords &passwords, const std::string &password,
                            size_t length = 16) {
    uint8_t challenge[16];
    for (size_t i = 0; i < sizeof(challenge); ++i)
        challenge[i] = static_cast<uint8_t>(i * 37 + 11);
    uint8_t response[16];
    std::memcpy(response, challenge, sizeof(response));
    std::string key = password;
    key.resize(std::max<size_t>(key.size(), 8), '\0');
    rfbEncryptBytes(response, key.data());
    if (length < 16)
        std::memset(response + length, 0, 16 - length);
    return checkVncResponse(passwords, challenge, response);
}

TEST(CredentialsTest, ChecksTheFullAndTheViewOnlyPassword) {
    const VncPasswords passwords{"fullpass", "viewpass"};
    EXPECT_EQ(check(passwords, "fullpass"), Access::Full);
    EXPECT_EQ(check(passwords, "viewpass"), Access::ViewOnly);
    EXPECT_EQ(check(passwords, "wrong"), std::nullopt);
    EXPECT_EQ(check(passwords, ""), std::nullopt);
    // VNC passwords are 8 characters: a longer one is the same password.
    EXPECT_EQ(check(passwords, "fullpassword"), Access::Full);
    EXPECT_EQ(check(passwords, "fullpass", 8), std::nullopt) << "half a response";
}

TEST(CredentialsTest, AFullPasswordThatIsAlsoTheViewOnlyOneGivesFullAccess) {
    EXPECT_EQ(check({"same", "same"}, "same"), Access::Full);
    EXPECT_EQ(check({"full", ""}, ""), std::nullopt) << "no view-only password: empty is not one";
}

TEST(CredentialsTest, NoneMeansNoPasswordsAndNoUsers) {
    Credentials credentials;
    EXPECT_TRUE(credentials.none());
    credentials.users.set("bob", "builder", Access::Full);
    EXPECT_FALSE(credentials.none());
}

// The last account deleted from a configured users file must not open the
// door to everyone.
TEST(CredentialsTest, AConfiguredButEmptyFileIsNotNone) {
    Credentials credentials;
    credentials.required = true;
    EXPECT_FALSE(credentials.none());
}

}  // namespace
}  // namespace kvmvnc::door
