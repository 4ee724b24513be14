// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/vnc_password_file.h"

#include <gtest/gtest.h>
#include <rfb/rfb.h>

#include <array>
#include <fstream>
#include <stdexcept>

namespace kvmvnc::door {

namespace {
std::string data(const char *name) { return std::string(KVMVNC_TEST_DATA) + "/" + name; }

std::string writeTemp(const char *name, const std::vector<uint8_t> &bytes) {
    std::string path = testing::TempDir() + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char *>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
}
}  // namespace

// The fixtures were written by TigerVNC's vncpasswd -f.
TEST(VncPasswordFileTest, ReadsTigerVncFileWithFullPasswordOnly) {
    VncPasswords passwords = loadVncPasswordFile(data("full_only.passwd"));
    EXPECT_EQ(passwords.full, "fullpass");
    EXPECT_EQ(passwords.viewOnly, "");
}

TEST(VncPasswordFileTest, ReadsTigerVncFileWithViewOnlyPassword) {
    VncPasswords passwords = loadVncPasswordFile(data("full_and_viewonly.passwd"));
    EXPECT_EQ(passwords.full, "fullpass");
    EXPECT_EQ(passwords.viewOnly, "viewpass");
}

TEST(VncPasswordFileTest, EncodesWhatVncpasswdWrites) {
    // vncpasswd -f <<< password gives these bytes in every VNC implementation.
    std::vector<uint8_t> expected = {0xdb, 0xd8, 0x3c, 0xfd, 0x72, 0x7a, 0x14, 0x58};
    EXPECT_EQ(encodeVncPasswordFile({"password", ""}), expected);
}

TEST(VncPasswordFileTest, ShortPasswordsRoundTrip) {
    std::string path = writeTemp("kvmvnc-short.passwd", encodeVncPasswordFile({"abc", "v"}));
    VncPasswords passwords = loadVncPasswordFile(path);
    EXPECT_EQ(passwords.full, "abc");
    EXPECT_EQ(passwords.viewOnly, "v");
}

TEST(VncPasswordFileTest, RejectsMissingAndMalformedFiles) {
    EXPECT_THROW(loadVncPasswordFile("/nonexistent/passwd"), std::runtime_error);
    std::string path = writeTemp("kvmvnc-bad.passwd", {1, 2, 3});
    try {
        loadVncPasswordFile(path);
        FAIL() << "no error";
    } catch (const std::runtime_error &error) {
        EXPECT_NE(std::string(error.what()).find("3 bytes, expected 8 or 16"), std::string::npos);
    }
}

// What libvncserver (and so every viewer built on it) answers a challenge
// with: the password's first 8 bytes, up to a NUL, as the DES key.
TEST(VncAuthResponseTest, AnswersAsLibvncserverDoes) {
    std::array<uint8_t, 16> challenge{};
    for (size_t i = 0; i < challenge.size(); ++i)
        challenge[i] = static_cast<uint8_t>(i * 37 + 11);
    for (const std::string &password : std::initializer_list<std::string>{
             "a", "fullpass", "fullpass-and-more", std::string("ab\0cd", 5), "\xc3\xa9t\xc3\xa9"}) {
        std::array<uint8_t, 16> expected = challenge;
        std::string key = password;  // rfbEncryptBytes reads it as a C string
        rfbEncryptBytes(expected.data(), key.data());
        EXPECT_EQ(vncAuthResponse(challenge, password), expected) << password;
    }
}

TEST(VncAuthResponseTest, OnlyTheFirstEightBytesCount) {
    const std::array<uint8_t, 16> challenge{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    EXPECT_EQ(vncAuthResponse(challenge, "fullpass"), vncAuthResponse(challenge, "fullpassXY"));
    EXPECT_NE(vncAuthResponse(challenge, "fullpass"), vncAuthResponse(challenge, "fullpas"));
    EXPECT_NE(vncAuthResponse(challenge, "fullpass"), challenge);
}

}  // namespace kvmvnc::door
